package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// The Secrets stagehand reads.
//
// The manager may read every Secret (RBAC cannot limit get or list to a
// label), but it reads only those marked for it, with the label
// flows.stagehand.dev/readable=true, which only someone who may write the
// Secret can set: a tenant who may create CaptchaStages but not read
// Secrets learns nothing of the namespace's other Secrets, not even
// whether they exist. The label is checked by the API server, not here: a
// Secret is read with a list that selects it by name and by the label, so
// that an unmarked Secret's data never reaches the manager, even when the
// label is taken off between two reads.

// readableTrue is the value of flowsv1alpha1.LabelSecretReadable on a
// Secret stagehand may read.
const readableTrue = "true"

// readableSecret reads the Secret of that name in ns if it is marked for
// stagehand; nil when it does not exist or is not marked, which callers
// must report alike.
func readableSecret(ctx context.Context, live client.Reader, ns, name string) (*corev1.Secret, error) {
	var list corev1.SecretList
	if err := live.List(ctx, &list, client.InNamespace(ns),
		client.MatchingLabels{flowsv1alpha1.LabelSecretReadable: readableTrue},
		client.MatchingFields{"metadata.name": name}); err != nil {
		return nil, fmt.Errorf("reading Secret %q: %w", name, err)
	}
	for i := range list.Items {
		if list.Items[i].Name == name {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// secretNotReadable ends the sentence that says a Secret reference does not
// resolve: the same words for a Secret that does not exist and one that is
// not marked.
func secretNotReadable(ns string) string {
	return fmt.Sprintf("not found in namespace %s with the label %s=%s (stagehand reads no other Secret)", ns, flowsv1alpha1.LabelSecretReadable, readableTrue)
}
