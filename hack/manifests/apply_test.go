package manifests

import (
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// config/default applies to a real API server, which validates every object
// (schemas, RBAC roles and bindings, the Service and PodDisruptionBudget),
// and the manager's pod is admitted by the restricted Pod Security Standard
// its namespace enforces.
func TestDefaultAppliesToAPIServer(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()

	objs, err := Objects(filepath.Join(Root(), "config", "default"), "registry.example/stagehand:v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("manifests-test"), client.ForceOwnership); err != nil {
			t.Errorf("applying %s %s: %v", o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}

	dep := (&deployment{objs: objs}).manager(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-security-check", Namespace: namespace, Labels: dep.Spec.Template.Labels},
		Spec:       dep.Spec.Template.Spec,
	}
	if err := env.Client.Create(ctx, pod, client.DryRunAll); err != nil {
		t.Errorf("the manager's pod is not admitted in %s: %v", namespace, err)
	}

	// The check has teeth: the same pod as root is refused.
	root := pod.DeepCopy()
	root.Spec.SecurityContext.RunAsNonRoot = nil
	if err := env.Client.Create(ctx, root, client.DryRunAll); err == nil {
		t.Errorf("%s admitted a pod that may run as root: does it enforce the restricted Pod Security Standard?", namespace)
	}
}
