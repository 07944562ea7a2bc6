package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/hack/manifests"
)

const fieldOwner = client.FieldOwner("stagehand-dev")

// startControlPlane starts etcd and kube-apiserver with the CRDs installed,
// and writes an administrator's kubeconfig.
func (d *dev) startControlPlane() error {
	var opened []*os.File
	logTo := func(name string) (*os.File, error) {
		f, err := os.Create(filepath.Join(d.dir, name))
		if err == nil {
			opened = append(opened, f)
		}
		return f, err
	}
	apiLog, err := logTo("kube-apiserver.log")
	if err != nil {
		return err
	}
	etcdLog, err := logTo("etcd.log")
	if err != nil {
		return err
	}
	d.logs = append(d.logs, opened...)
	pki, data := filepath.Join(d.dir, "pki"), filepath.Join(d.dir, "etcd")
	for _, dir := range []string{pki, data} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, flowsv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	d.env = &envtest.Environment{
		BinaryAssetsDirectory: d.assets,
		CRDDirectoryPaths:     []string{filepath.Join(d.config, "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
		ControlPlane: envtest.ControlPlane{
			APIServer: &envtest.APIServer{CertDir: pki, Out: apiLog, Err: apiLog},
			Etcd:      &envtest.Etcd{DataDir: data, Out: etcdLog, Err: etcdLog},
		},
		ControlPlaneStartTimeout: time.Minute,
		ControlPlaneStopTimeout:  20 * time.Second,
	}
	if _, err := d.env.Start(); err != nil {
		// Start may have left one of the two running.
		_ = d.env.Stop()
		d.env = nil
		return err
	}

	user, err := d.env.AddUser(envtest.User{Name: "stagehand-dev-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	d.admin = rest.CopyConfig(user.Config())
	d.admin.QPS, d.admin.Burst = 200, 400
	if d.client, err = client.New(d.admin, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	d.kubeconfig = filepath.Join(d.dir, "kubeconfig")
	return writeKubeconfig(d.kubeconfig, d.admin, &clientcmdapi.AuthInfo{
		ClientCertificateData: d.admin.CertData,
		ClientKeyData:         d.admin.KeyData,
	})
}

// writeKubeconfig writes a kubeconfig for the cluster of cfg with the given
// credentials, as the context stagehand-dev.
func writeKubeconfig(path string, cfg *rest.Config, auth *clientcmdapi.AuthInfo) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["stagehand-dev"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["stagehand-dev"] = auth
	kc.Contexts["stagehand-dev"] = &clientcmdapi.Context{Cluster: "stagehand-dev", AuthInfo: "stagehand-dev", Namespace: "default"}
	kc.CurrentContext = "stagehand-dev"
	return clientcmd.WriteToFile(*kc, path)
}

// applyRBAC applies the namespace, the ServiceAccount and the RBAC of
// config/default, as a deployment has them, the admission policy that
// holds the manager's writes to the exports' ConfigMaps and Secrets, and the
// (empty) Secret and ConfigMap where the manager keeps the API's CA with
// --api-tls=self-signed.
func (d *dev) applyRBAC(ctx context.Context) error {
	objs, err := manifests.Objects(filepath.Join(d.config, "default"), "")
	if err != nil {
		return err
	}
	kinds := []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "Secret", "ConfigMap"}
	var rbac []*unstructured.Unstructured
	for _, o := range objs {
		if slices.Contains(kinds, o.GetKind()) {
			rbac = append(rbac, o)
		}
	}
	return d.apply(ctx, rbac, false)
}

// applySamples applies the objects of the samples kustomization, in the
// namespace default when they name none, and returns how many.
func (d *dev) applySamples(ctx context.Context) (int, error) {
	if d.samples == "" {
		return 0, nil
	}
	if _, err := os.Stat(filepath.Join(d.samples, "kustomization.yaml")); os.IsNotExist(err) {
		return 0, nil
	}
	objs, err := manifests.Objects(d.samples, "")
	if err != nil {
		return 0, err
	}
	if err := d.apply(ctx, objs, true); err != nil {
		return 0, err
	}
	d.sampleObjects = objs
	return len(objs), nil
}

// lastApplied is the annotation in which `kubectl apply` (client-side, its
// default) keeps the configuration it last applied.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// setLastApplied records o as kubectl apply would: the samples are then as
// if a user had applied them with `kubectl apply -k config/samples`, and a
// user's re-apply is a clean three-way merge, not a warning that the
// annotation is missing.
func setLastApplied(o *unstructured.Unstructured) error {
	c := o.DeepCopy()
	// kubectl serializes the object with its annotations less this one:
	// an empty map when there are no others, which it keeps ("annotations":
	// {}). The JSON encoder ends the text with a newline, as kubectl's does.
	annotations := c.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	delete(annotations, lastApplied)
	c.SetAnnotations(annotations)
	b, err := c.MarshalJSON()
	if err != nil {
		return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
	}
	annotations = o.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[lastApplied] = string(b)
	o.SetAnnotations(annotations)
	return nil
}

// apply server-side-applies objs in order, creating the namespaces they
// name; asKubectl records each as `kubectl apply` would (setLastApplied).
func (d *dev) apply(ctx context.Context, objs []*unstructured.Unstructured, asKubectl bool) error {
	for _, o := range objs {
		namespaced, err := d.client.IsObjectNamespaced(o)
		if err != nil {
			return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		if namespaced && o.GetNamespace() == "" {
			o.SetNamespace(readerNamespace)
		}
		if namespaced {
			if err := d.ensureNamespace(ctx, o.GetNamespace()); err != nil {
				return err
			}
		}
		if asKubectl {
			if err := setLastApplied(o); err != nil {
				return err
			}
		}
		if err := d.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), fieldOwner, client.ForceOwnership); err != nil {
			return fmt.Errorf("%s %s: %w", o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}
	return nil
}

func (d *dev) ensureNamespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := d.client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	return nil
}

// token asks the cluster for a token of the ServiceAccount ns/name, minted
// for the audiences (none: kube-apiserver's own), as `kubectl create token
// NAME --audience=...` does.
func (d *dev) token(ctx context.Context, ns, name string, audiences ...string) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	seconds := int64(tokenLifetime.Seconds())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &seconds}}
	if err := d.client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("a token for ServiceAccount %s/%s: %w", ns, name, err)
	}
	return tr.Status.Token, nil
}

// managerKubeconfig writes the kubeconfig the manager runs with: the
// manager's ServiceAccount's token.
func (d *dev) managerKubeconfig(ctx context.Context) (string, error) {
	tok, err := d.token(ctx, managerNamespace, managerServiceAccount)
	if err != nil {
		return "", err
	}
	path := filepath.Join(d.dir, "manager.kubeconfig")
	return path, writeKubeconfig(path, d.admin, &clientcmdapi.AuthInfo{Token: tok})
}

// reader creates the read-only ServiceAccount the printed curl line uses,
// bound to config/default's viewer role, and returns a token of it minted
// for the API's audience (a token for kube-apiserver would be refused).
func (d *dev) reader(ctx context.Context) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: readerNamespace, Name: readerServiceAccount}}
	if err := d.client.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: readerServiceAccount},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: viewerRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: readerNamespace, Name: readerServiceAccount}},
	}
	if err := d.client.Create(ctx, crb); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	tok, err := d.token(ctx, readerNamespace, readerServiceAccount, tokenAudience)
	if err != nil {
		return "", err
	}
	return tok, os.WriteFile(d.tokenFile(), []byte(tok+"\n"), 0o600)
}

// waitForSamples waits until every stagehand object of the samples is Ready
// for its latest generation, and says how that went (nothing when Ctrl-C
// interrupts it).
func (d *dev) waitForSamples(ctx context.Context, timeout time.Duration) string {
	var ours []*unstructured.Unstructured
	for _, o := range d.sampleObjects {
		if o.GroupVersionKind().Group == flowsv1alpha1.GroupVersion.Group {
			ours = append(ours, o)
		}
	}
	if len(ours) == 0 {
		return "the samples hold no stagehand object"
	}
	deadline := time.Now().Add(timeout)
	for {
		if ctx.Err() != nil {
			return "" // Ctrl-C: nothing to report
		}
		var notReady []string
		for _, o := range ours {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(o.GroupVersionKind())
			if err := d.client.Get(ctx, client.ObjectKeyFromObject(o), u); err != nil {
				notReady = append(notReady, fmt.Sprintf("%s %s: %v", o.GetKind(), describeKey(o), err))
				continue
			}
			if ok, why := ready(u); !ok {
				notReady = append(notReady, fmt.Sprintf("%s %s: %s", o.GetKind(), describeKey(o), why))
			}
		}
		if len(notReady) == 0 {
			return fmt.Sprintf("samples: %d stagehand objects, all Ready", len(ours))
		}
		if ctx.Err() != nil {
			return ""
		}
		if time.Now().After(deadline) {
			sort.Strings(notReady)
			msg := fmt.Sprintf("samples: %d of %d stagehand objects not Ready after %s:", len(notReady), len(ours), timeout)
			for _, s := range notReady {
				msg += "\n  " + s
			}
			return msg
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func describeKey(o client.Object) string {
	if o.GetNamespace() == "" {
		return o.GetName()
	}
	return o.GetNamespace() + "/" + o.GetName()
}

// ready reads an object's Ready condition, for its current generation.
func ready(u *unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != flowsv1alpha1.ConditionReady {
			continue
		}
		if observed < u.GetGeneration() {
			return false, "status is for an older generation"
		}
		if m["status"] == string(metav1.ConditionTrue) {
			return true, ""
		}
		return false, fmt.Sprintf("Ready=%v %v: %v", m["status"], m["reason"], m["message"])
	}
	return false, "no Ready condition yet"
}

// tokenFile is where the reader's token is written.
func (d *dev) tokenFile() string { return filepath.Join(d.dir, "token") }
