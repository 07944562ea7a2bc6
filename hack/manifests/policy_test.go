package manifests

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// RBAC lets the manager write every ConfigMap (and, with
// config/components/blueprint-secrets, every Secret) of the cluster;
// config/default's ValidatingAdmissionPolicy, which kube-apiserver enforces,
// holds it, outside its own namespace, to the ones a BlueprintExport owns:
// named stagehand-blueprints or stagehand-blueprints-*, labelled as
// stagehand's, controlled by an export, and updated only when they were
// all of that already. Everyone else's writes are left alone.
func TestDefaultHoldsManagerWritesToExports(t *testing.T) {
	env := testenv.Shared(t)
	ctx := context.Background()
	objs, err := Objects(filepath.Join(testenv.Root(), "config", "default"), "", filepath.Join(testenv.Root(), "config", "components", "blueprint-secrets"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("manifests-test"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}

	// The manager's ServiceAccount, with a token as its pod has.
	tr := &authenticationv1.TokenRequest{}
	if err := env.Client.SubResource("token").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: serviceAccount}}, tr); err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tr.Status.Token
	manager, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}

	tenant := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tenant-"}}
	if err := env.Client.Create(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), tenant) })
	ns := tenant.Name
	bx := &flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "export"}}
	if err := env.Client.Create(ctx, bx); err != nil {
		t.Fatal(err)
	}
	owner := []metav1.OwnerReference{{
		APIVersion: flowsv1alpha1.GroupVersion.String(), Kind: "BlueprintExport", Name: bx.Name, UID: bx.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
	stagehands := map[string]string{"app.kubernetes.io/managed-by": "stagehand"}
	configMap := func(name string, labels map[string]string, owners []metav1.OwnerReference) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, OwnerReferences: owners}, Data: map[string]string{"a.yaml": "version: 1\n"}}
	}
	const refused = "ValidatingAdmissionPolicy 'stagehand-blueprint-writes'"

	// The policy takes effect through kube-apiserver's informers: wait
	// until the manager is refused a name of another's.
	squat := configMap("kube-root-ca.crt", stagehands, owner)
	if err := testenv.WaitFor(func() error {
		err := manager.Create(ctx, squat, client.DryRunAll)
		if err == nil {
			return errors.New("the manager may create ConfigMap kube-root-ca.crt")
		}
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), refused) {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("the policy does not hold the manager to the exports' ConfigMaps: %v", err)
	}

	expect := func(what string, err error, allowed bool, why string) {
		t.Helper()
		switch {
		case allowed && err != nil:
			t.Errorf("the manager may not %s: %v (%s)", what, err, why)
		case !allowed && err == nil:
			t.Errorf("the manager may %s (%s)", what, why)
		case !allowed && !strings.Contains(err.Error(), refused):
			t.Errorf("the manager may not %s, but not for the policy: %v", what, err)
		}
	}
	expect("create ConfigMap kube-root-ca.crt", manager.Create(ctx, squat, client.DryRunAll), false, "not an export's name")
	expect("create ConfigMap stagehand-blueprints unlabelled", manager.Create(ctx, configMap("stagehand-blueprints", nil, owner), client.DryRunAll), false, "not labelled as stagehand's")
	expect("create ConfigMap stagehand-blueprints without an owner", manager.Create(ctx, configMap("stagehand-blueprints", stagehands, nil), client.DryRunAll), false, "not controlled by an export")

	mine := configMap("stagehand-blueprints-team", stagehands, owner)
	expect("create an export's ConfigMap", manager.Create(ctx, mine), true, "what an export writes")
	mine.Data["b.yaml"] = "version: 1\n"
	expect("update an export's ConfigMap", manager.Update(ctx, mine), true, "what an export writes")
	unowned := mine.DeepCopy()
	unowned.OwnerReferences = nil
	expect("take an export's ConfigMap from it", manager.Update(ctx, unowned, client.DryRunAll), false, "the owners stay")

	// Someone else's, of an export's name: never taken over.
	theirs := configMap("stagehand-blueprints-theirs", nil, nil)
	if err := env.Client.Create(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	theirs.Labels, theirs.OwnerReferences = stagehands, owner
	expect("take over another's ConfigMap", manager.Update(ctx, theirs, client.DryRunAll), false, "it was not stagehand's")

	// Secrets (config/components/blueprint-secrets) alike.
	secret := func(name string, labels map[string]string, owners []metav1.OwnerReference) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels, OwnerReferences: owners}, Data: map[string][]byte{"a.yaml": []byte("version: 1\n")}}
	}
	expect("create Secret default-token", manager.Create(ctx, secret("default-token", stagehands, owner), client.DryRunAll), false, "not an export's name")
	expect("create Secret stagehand-blueprints unlabelled", manager.Create(ctx, secret("stagehand-blueprints", nil, owner), client.DryRunAll), false, "not labelled as stagehand's")
	expect("create an export's Secret", manager.Create(ctx, secret("stagehand-blueprints", stagehands, owner), client.DryRunAll), true, "what an Inline export writes")

	// Its own namespace, where it keeps the API's CA, is the manager's.
	n := selfSignedTLS(t, (&deployment{objs: objs}).manager(t))
	var ca corev1.ConfigMap
	if err := manager.Get(ctx, client.ObjectKey{Namespace: namespace, Name: n.configMap}, &ca); err != nil {
		t.Fatal(err)
	}
	expect("update the API's CA ConfigMap", manager.Update(ctx, &ca, client.DryRunAll), true, "its own namespace")

	// Nobody else is looked at.
	if err := env.Client.Create(ctx, configMap("anything", nil, nil), client.DryRunAll); err != nil {
		t.Errorf("an administrator may not create a ConfigMap: %v", err)
	}
}
