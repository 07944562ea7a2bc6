package manifests

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/controllers"
	"github.com/stagehand-dev/stagehand/internal/httpapi"
	"github.com/stagehand-dev/stagehand/internal/refs"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// TestNamespacedInstall applies config/namespaced (config/default watching
// team-a and team-b, with config/components/namespaced) to an API server of
// its own, where no cluster-wide binding of config/default's exists, and
// runs the controllers and the API as the manager's ServiceAccount, with the
// Deployment's --watch-namespaces: the RBAC authorizer decides every request.
// Objects in team-a and team-b are reconciled and served, exports publish
// there, and cluster-scoped WebAuthnDeviceTypes are reconciled too; team-c
// is left alone, and the manager may neither read nor write there.
func TestNamespacedInstall(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	c := env.Client

	objs, err := Objects(filepath.Join(testenv.Root(), "config", "namespaced"), "")
	if err != nil {
		t.Fatal(err)
	}
	dep := (&deployment{objs: objs}).manager(t)
	flag, ok := flagValue(dep.Spec.Template.Spec.Containers[0].Args, "watch-namespaces")
	if !ok {
		t.Fatalf("config/namespaced's Deployment has no --watch-namespaces: %v", dep.Spec.Template.Spec.Containers[0].Args)
	}
	watched := strings.Split(flag, ",")
	const unwatched = "team-c"
	for _, ns := range append([]string{unwatched}, watched...) {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range objs {
		if o.GetKind() == "ClusterRoleBinding" && o.GetName() == "stagehand-manager-rolebinding" {
			t.Fatalf("config/namespaced binds the manager cluster-wide: %s", o.GetName())
		}
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("manifests-test"), client.ForceOwnership); err != nil {
			t.Fatalf("applying %s %s: %v", o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}

	// What the authorizer lets the manager do, asked of it directly.
	manager := subject{user: "system:serviceaccount:" + namespace + ":" + serviceAccount, groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace}}
	if err := testenv.WaitFor(func() error {
		if !manager.may(ctx, t, c, "list", group, "flows", watched[0]) {
			return fmt.Errorf("the manager's RoleBinding in %s never took effect", watched[0])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	must := func(allowed bool, verb, grp, resource, ns, why string) {
		t.Helper()
		if got := manager.may(ctx, t, c, verb, grp, resource, ns); got != allowed {
			t.Errorf("the manager may %s %s.%s in %q: %v, want %v (%s)", verb, resource, grp, ns, got, allowed, why)
		}
	}
	for _, ns := range watched {
		for _, k := range kinds {
			if k == "webauthndevicetypes" {
				continue
			}
			must(true, "list", group, k, ns, "a watched namespace")
			must(true, "patch", group, k+"/status", ns, "a watched namespace")
		}
		must(true, "create", "", "configmaps", ns, "exports publish in a watched namespace")
	}
	for _, k := range kinds {
		if k == "webauthndevicetypes" {
			continue // cluster-scoped: below
		}
		must(false, "list", group, k, unwatched, "not a watched namespace")
		must(false, "list", group, k, "", "no cluster-wide read of namespaced kinds")
		must(false, "patch", group, k+"/status", unwatched, "not a watched namespace")
	}
	for _, verb := range []string{"get", "list", "watch"} {
		must(false, verb, "", "secrets", unwatched, "not a watched namespace")
		must(false, verb, "", "secrets", "", "no cluster-wide Secret read")
		must(false, verb, "", "configmaps", unwatched, "not a watched namespace")
	}
	for _, verb := range []string{"create", "update"} {
		must(false, verb, "", "configmaps", unwatched, "not a watched namespace")
		must(false, verb, "", "configmaps", "", "no cluster-wide ConfigMap write")
	}
	must(false, "create", "events.k8s.io", "events", unwatched, "not a watched namespace")
	// Cluster-scoped: WebAuthnDeviceTypes belong to no namespace, and the
	// API's reviews are cluster-wide by nature.
	must(true, "list", group, "webauthndevicetypes", "", "cluster-scoped")
	must(true, "patch", group, "webauthndevicetypes/status", "", "cluster-scoped")
	must(true, "create", "authentication.k8s.io", "tokenreviews", "", "the API authenticates callers")
	must(true, "create", "authorization.k8s.io", "subjectaccessreviews", "", "the API authorises reads")

	// The objects, before the manager starts: one of each in every
	// namespace, watched or not.
	for _, ns := range append([]string{unwatched}, watched...) {
		for _, o := range []client.Object{
			&flowsv1alpha1.Flow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "login-" + ns}, Spec: flowsv1alpha1.FlowSpec{Title: "Sign in", Designation: flowsv1alpha1.FlowDesignationAuthentication}},
			&flowsv1alpha1.BlueprintExport{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "blueprints"}},
		} {
			if err := c.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	device := &flowsv1alpha1.WebAuthnDeviceType{ObjectMeta: metav1.ObjectMeta{Name: "yubikey-5"}, Spec: flowsv1alpha1.WebAuthnDeviceTypeSpec{AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Description: "YubiKey 5 Series"}}
	if err := c.Create(ctx, device); err != nil {
		t.Fatal(err)
	}

	// The manager as its ServiceAccount, set up as cmd/ sets it up.
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = token(ctx, t, c, namespace, serviceAccount, nil)
	cfg.QPS = -1
	logs := &testenv.LogBuffer{}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: testenv.Scheme(), Logger: zap.New(zap.WriteTo(logs)),
		Cache:   controllers.CacheOptions(watched...),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	if err := refs.Register(mctx, mgr.GetFieldIndexer()); err != nil {
		t.Fatal(err)
	}
	if err := controllers.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	addr := testenv.FreeAddr(t)
	api, err := httpapi.New(httpapi.Options{
		Addr: addr, Reader: mgr.GetCache(), Cache: mgr.GetCache(), Reviewer: mgr.GetClient(),
		Auth: httpapi.AuthKubernetes, Log: logr.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Add(api); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := mgr.Start(mctx); err != nil {
			t.Errorf("the manager stopped: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(testenv.Timeout):
			t.Errorf("the manager did not stop within %v", testenv.Timeout)
		}
	})

	// Reconciled: the flows and exports of the watched namespaces, and the
	// device type; each export publishes its ConfigMap.
	testenv.Eventually(t, func() error {
		for _, ns := range watched {
			var f flowsv1alpha1.Flow
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "login-" + ns}, &f); err != nil {
				return err
			}
			if apimeta.FindStatusCondition(f.Status.Conditions, "Ready") == nil {
				return fmt.Errorf("flow %s/%s not reconciled", ns, f.Name)
			}
			var bx flowsv1alpha1.BlueprintExport
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "blueprints"}, &bx); err != nil {
				return err
			}
			if apimeta.FindStatusCondition(bx.Status.Conditions, "Ready") == nil {
				return fmt.Errorf("export %s/%s not reconciled", ns, bx.Name)
			}
			var cm corev1.ConfigMap
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: bx.ConfigMapName()}, &cm); err != nil {
				return fmt.Errorf("export %s/%s published no ConfigMap: %w", ns, bx.Name, err)
			}
		}
		if err := c.Get(ctx, client.ObjectKey{Name: device.Name}, device); err != nil {
			return err
		}
		if apimeta.FindStatusCondition(device.Status.Conditions, "Ready") == nil {
			return fmt.Errorf("the cluster-scoped WebAuthnDeviceType %s is not reconciled", device.Name)
		}
		return nil
	})

	// Served: a caller who may read every namespace sees the watched
	// namespaces' flows, and not team-c's, which the manager does not watch.
	reader := "flows-reader"
	if err := c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: watched[0], Name: reader}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "namespaced-test-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "stagehand-viewer-role"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: watched[0], Name: reader}},
	}); err != nil {
		t.Fatal(err)
	}
	callerToken := token(ctx, t, c, watched[0], reader, []string{httpapi.DefaultTokenAudience})
	hc := &http.Client{Timeout: 10 * time.Second}
	testenv.Eventually(t, func() error {
		code, body, err := testenv.Get(hc, "http://"+addr+"/api/v3/flows/instances/", callerToken)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("GET /api/v3/flows/instances/: %d %.300s", code, body)
		}
		for _, ns := range watched {
			if !strings.Contains(body, `"login-`+ns+`"`) {
				return fmt.Errorf("the API does not serve the flow of %s: %.500s", ns, body)
			}
		}
		if strings.Contains(body, "login-"+unwatched) {
			t.Errorf("the API serves the flow of %s, which it does not watch: %.500s", unwatched, body)
		}
		return nil
	})

	// Left alone: team-c's objects, created before everything the manager
	// has reconciled, have no status, and its export published nothing.
	var f flowsv1alpha1.Flow
	if err := c.Get(ctx, client.ObjectKey{Namespace: unwatched, Name: "login-" + unwatched}, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Status.Conditions) > 0 {
		t.Errorf("the flow in %s, not watched, was reconciled: %+v", unwatched, f.Status.Conditions)
	}
	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms, client.InNamespace(unwatched), client.HasLabels{controllers.LabelManagedBy}); err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) > 0 {
		t.Errorf("the manager wrote ConfigMaps in %s, which it does not watch: %s", unwatched, cms.Items[0].Name)
	}
	// And it never met a refusal: what it needs, its Roles grant.
	if s := logs.String(); strings.Contains(s, "forbidden") {
		t.Errorf("the manager was refused something:\n%s", s)
	}
}

// token mints a token for a ServiceAccount (for the audiences, or
// kube-apiserver's when none).
func token(ctx context.Context, t *testing.T, c client.Client, ns, name string, audiences []string) string {
	t.Helper()
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences}}
	if err := c.SubResource("token").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, tr); err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}
