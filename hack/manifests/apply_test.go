package manifests

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/stagehand-dev/stagehand/internal/apitls"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// The tests that need a real API server share one (testenv.Shared).
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// config/default applies to a real API server, which validates every object
// (schemas, RBAC roles and bindings, the Service and PodDisruptionBudget);
// the manager's pod is admitted by the restricted Pod Security Standard its
// namespace enforces; and the API server's RBAC authorizer, asked with
// SubjectAccessReviews, grants the manager and the viewer role what they
// need and nothing they should not have.
func TestDefaultAppliesToAPIServer(t *testing.T) {
	env := testenv.Shared(t)
	ctx := context.Background()

	objs, err := Objects(filepath.Join(testenv.Root(), "config", "default"), "registry.example/stagehand:v1")
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

	// The manager, as its ServiceAccount.
	manager := subject{user: "system:serviceaccount:" + namespace + ":" + serviceAccount, groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace}}
	must := func(s subject, allowed bool, verb, group, resource, ns, why string) {
		t.Helper()
		if got := s.may(ctx, t, env.Client, verb, group, resource, ns); got != allowed {
			t.Errorf("%s may %s %s.%s in %q: %v, want %v (%s)", s.user, verb, resource, group, ns, got, allowed, why)
		}
	}
	// The API and the secure metrics endpoint review their callers.
	must(manager, true, "create", "authentication.k8s.io", "tokenreviews", "", "the API authenticates callers")
	must(manager, true, "create", "authorization.k8s.io", "subjectaccessreviews", "", "the API authorises reads")
	// Leader election: a Lease in its own namespace, and nowhere else.
	for _, verb := range []string{"get", "create", "update"} {
		must(manager, true, verb, "coordination.k8s.io", "leases", namespace, "leader election")
	}
	must(manager, false, "update", "coordination.k8s.io", "leases", "kube-system", "leases outside its namespace")
	// client-go's Lease lock gets, creates and updates; a leader releases
	// the Lease with an update (TestDefaultServesHTTPS elects one with this
	// Role). Nothing else.
	for _, verb := range []string{"delete", "deletecollection", "patch", "list", "watch"} {
		must(manager, false, verb, "coordination.k8s.io", "leases", namespace, "leader election needs only get, create and update")
	}
	// Granted once: the reviews are the auth reviewer role's, not the
	// controllers' role's as well.
	for _, r := range []string{"tokenreviews", "subjectaccessreviews"} {
		if grants(t, filepath.Join(testenv.Root(), "config", "rbac", "role.yaml"), r) {
			t.Errorf("config/rbac/role.yaml grants %s, which auth_reviewer_role.yaml grants already", r)
		}
	}
	// The controllers read every kind and write its status (role.yaml,
	// generated from the reconcilers' RBAC markers).
	for _, k := range kinds {
		for _, verb := range []string{"get", "list", "watch"} {
			must(manager, true, verb, group, k, "default", "a +kubebuilder:rbac marker is missing")
		}
		must(manager, true, "patch", group, k+"/status", "default", "a +kubebuilder:rbac marker is missing")
		must(manager, false, "update", group, k, "default", "the manager never writes specs")
	}
	must(manager, false, "create", "", "secrets", "default", "it only reads Secrets, unless deployed with config/components/blueprint-secrets")
	must(manager, false, "update", "", "secrets", "default", "it only reads Secrets, unless deployed with config/components/blueprint-secrets")
	// BlueprintExports write ConfigMaps, and never delete one.
	for _, verb := range []string{"get", "list", "watch", "create", "update"} {
		must(manager, true, verb, "", "configmaps", "default", "BlueprintExports publish into ConfigMaps")
	}
	must(manager, false, "delete", "", "configmaps", "default", "an export's ConfigMap goes with the export, by garbage collection")
	// The API's own CA: its Secret and ConfigMap, by name, in the manager's
	// namespace; no other Secret's data, and nothing it could use to make
	// a Secret of its own.
	n := selfSignedTLS(t, dep)
	mayNamed := func(allowed bool, verb, resource, name, why string) {
		t.Helper()
		if got := manager.mayNamed(ctx, t, env.Client, verb, resource, namespace, name); got != allowed {
			t.Errorf("the manager may %s %s %s/%s: %v, want %v (%s)", verb, resource, namespace, name, got, allowed, why)
		}
	}
	for _, verb := range []string{"get", "list", "watch", "update"} {
		mayNamed(true, verb, "secrets", n.secret, "the API's CA is kept there")
		mayNamed(true, verb, "configmaps", n.configMap, "the API's CA is published there")
	}
	mayNamed(false, "update", "secrets", "another", "only the CA's Secret")
	mayNamed(false, "delete", "secrets", n.secret, "the deployment owns the Secret")
	mayNamed(false, "create", "secrets", "", "RBAC cannot limit create to a name: the deployment creates the Secret")

	// With the blueprint-secrets component (secrets: Inline), the manager
	// may write Secrets too, and still not delete them.
	secrets, err := Objects(filepath.Join(testenv.Root(), "config", "default"), "", filepath.Join(testenv.Root(), "config", "components", "blueprint-secrets"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range secrets {
		if o.GetKind() == "ClusterRole" || o.GetKind() == "ClusterRoleBinding" {
			if err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("manifests-test"), client.ForceOwnership); err != nil {
				t.Errorf("applying %s %s: %v", o.GetKind(), o.GetName(), err)
			}
		}
	}
	_ = testenv.WaitFor(func() error {
		if !manager.may(ctx, t, env.Client, "create", "", "secrets", "default") {
			return errors.New("not yet")
		}
		return nil
	})
	must(manager, true, "create", "", "secrets", "default", "config/components/blueprint-secrets grants it")
	must(manager, true, "update", "", "secrets", "default", "config/components/blueprint-secrets grants it")
	must(manager, false, "delete", "", "secrets", "default", "no component lets the manager delete Secrets")

	// The viewer role, which callers of the API are given: read every kind,
	// write nothing.
	viewer := subject{user: "stagehand-viewer-test"}
	if err := env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "stagehand-viewer-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "stagehand-viewer-role"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: viewer.user}},
	}); err != nil {
		t.Fatal(err)
	}
	// RBAC bindings take effect through the authorizer's informers:
	// wait for the first grant before asserting the rest.
	if err := testenv.WaitFor(func() error {
		if !viewer.may(ctx, t, env.Client, "get", group, "flows", "default") {
			return errors.New("the viewer binding never took effect")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds {
		for _, verb := range []string{"get", "list", "watch"} {
			must(viewer, true, verb, group, k, "default", "stagehand-viewer-role reads every kind")
		}
		for _, verb := range []string{"create", "update", "patch", "delete"} {
			must(viewer, false, verb, group, k, "default", "stagehand-viewer-role only reads")
			must(viewer, false, verb, group, k+"/status", "default", "stagehand-viewer-role only reads")
		}
	}
}

// TestDefaultServesHTTPS applies config/default to a real API server and
// runs the manager's CA as the manager's ServiceAccount, with
// config/default's RBAC and its Deployment's flags: the Secret and the
// ConfigMap config/default creates get a CA and a certificate, and a client
// that trusts the published CA, and nothing else, accepts the certificate
// for the API Service's in-cluster name.
func TestDefaultServesHTTPS(t *testing.T) {
	env := testenv.Shared(t)
	ctx := context.Background()
	objs, err := Objects(filepath.Join(testenv.Root(), "config", "default"), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("manifests-test"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}
	d := &deployment{objs: objs}
	n := selfSignedTLS(t, d.manager(t))

	// The manager's ServiceAccount, with a token as its pod has.
	tr := &authenticationv1.TokenRequest{}
	if err := env.Client.SubResource("token").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: serviceAccount}}, tr); err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tr.Status.Token
	// Elected as cmd/ elects, with config/default's leader election Role:
	// get, create and update are all the Lease lock needs, releasing
	// included.
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: testenv.Scheme(), Logger: logr.Discard(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		LeaderElection: true, LeaderElectionID: leaseName, LeaderElectionNamespace: namespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := apitls.Setup(mgr, apitls.Options{
		Namespace: namespace, SecretName: n.secret, ConfigMapName: n.configMap,
		DNSNames: apitls.ServiceDNSNames(n.service, namespace), Log: logr.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	mctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(mctx); err != nil {
			t.Errorf("the manager stopped: %v", err)
		}
	}()
	defer func() { cancel(); <-stopped }()

	serverName := n.service + "." + namespace + ".svc"
	if err := testenv.WaitFor(func() error {
		var cm corev1.ConfigMap
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: n.configMap}, &cm); err != nil {
			return err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(cm.Data["ca.crt"])) {
			return fmt.Errorf("the ConfigMap %s holds no CA yet: %v", n.configMap, cm.Data)
		}
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12})
		if err != nil {
			return err
		}
		leaf := conn.ConnectionState().PeerCertificates[0]
		_ = conn.Close()
		t.Logf("HTTPS for %s, certificate issued by %s", leaf.DNSNames, leaf.Issuer.CommonName)
		return nil
	}); err != nil {
		t.Fatalf("the manager, deployed as config/default deploys it, does not serve a certificate trusted by its published CA for %s: %v", serverName, err)
	}

	// It holds the Lease (the CA is the leader's work), and releases it
	// when it stops, with no more than its Role allows.
	lease := &coordinationv1.Lease{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: leaseName}, lease); err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || *h == "" {
		t.Errorf("the manager serves as leader, but the Lease has no holder")
	}
	cancel()
	<-stopped
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: leaseName}, lease); err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("the manager stopped without releasing the Lease: held by %s", *h)
	}
}

// subject is a user the API server's authorizer is asked about.
type subject struct {
	user   string
	groups []string
}

// mayNamed asks whether s may verb the object name (empty: any) of a core
// resource in ns.
func (s subject) mayNamed(ctx context.Context, t *testing.T, c client.Client, verb, resource, ns, name string) bool {
	t.Helper()
	return s.allowed(ctx, t, c, authorizationv1.ResourceAttributes{Verb: verb, Resource: resource, Namespace: ns, Name: name})
}

// may asks whether s may verb the resource (resource/subresource) in ns
// (empty: cluster-wide).
func (s subject) may(ctx context.Context, t *testing.T, c client.Client, verb, group, resource, ns string) bool {
	t.Helper()
	res, sub, _ := strings.Cut(resource, "/")
	return s.allowed(ctx, t, c, authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: res, Subresource: sub, Namespace: ns})
}

// allowed asks the API server's authorizer, with a SubjectAccessReview,
// whether s may do what ra says.
func (s subject) allowed(ctx context.Context, t *testing.T, c client.Client, ra authorizationv1.ResourceAttributes) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               s.user,
		Groups:             append([]string{"system:authenticated"}, s.groups...),
		ResourceAttributes: &ra,
	}}
	if err := c.Create(ctx, sar); err != nil {
		t.Fatalf("SubjectAccessReview: %v", err)
	}
	return sar.Status.Allowed
}

// leaseName is the manager's leader election Lease (cmd/'s
// LeaderElectionID).
const leaseName = "stagehand.flows.stagehand.dev"

// grants tells whether a role file (its first role) has a rule for the
// resource.
func grants(t *testing.T, file, resource string) bool {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var role rbacv1.ClusterRole // a Role has the same rules
	if err := utilyaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&role); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, r := range role.Rules {
		if slices.Contains(r.Resources, resource) {
			return true
		}
	}
	return false
}
