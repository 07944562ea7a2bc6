package helm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// dist/install.yaml, then the chart with several sets of values, applied to
// a real API server, which validates every object; the manager's pod is
// admitted by the restricted Pod Security Standard; and the API server's
// RBAC authorizer grants the chart's manager, and each of the chart's roles,
// exactly what install.yaml's grant: install.yaml being config/default
// (TestInstallYAMLIsConfigDefault), that is what config/default grants,
// nothing more.
func TestAppliesToAPIServer(t *testing.T) {
	log.SetLogger(logr.Discard())
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	a := &apiServer{t: t, env: env}

	// install.yaml, as `kubectl apply --server-side -f` applies it: its
	// namespace enforces the restricted standard.
	_, install := readInstallYAML(t)
	a.apply(ctx, install)
	nss := ofKind(install, "Namespace")
	if len(nss) != 1 {
		t.Fatalf("install.yaml has %d namespaces, want 1", len(nss))
	}
	psLabels := map[string]string{}
	for k, v := range nss[0].GetLabels() {
		if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
			psLabels[k] = v
		}
	}
	if psLabels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("install.yaml's namespace %s does not enforce the restricted Pod Security Standard: labels %v", nss[0].GetName(), nss[0].GetLabels())
	}
	a.admitted(ctx, install, nss[0].GetName())
	base := managerAccount(t, install)

	var labelArgs []string
	for k, v := range psLabels {
		labelArgs = append(labelArgs, k+"="+v)
	}
	sort.Strings(labelArgs)

	// The names of the manager's own CA's Secret and ConfigMap in
	// install.yaml, which its rules name.
	var caObjects []string
	for _, o := range install {
		if o.GetLabels()["app.kubernetes.io/component"] == "api-tls" && (o.GetKind() == "Secret" || o.GetKind() == "ConfigMap") {
			caObjects = append(caObjects, o.GetName())
		}
	}
	if len(caObjects) != 2 {
		t.Fatalf("install.yaml has %v for the API's own CA, want a Secret and a ConfigMap", caObjects)
	}
	namesCA := func(rule string) bool {
		return slices.ContainsFunc(caObjects, func(n string) bool { return strings.HasSuffix(rule, " "+n) })
	}

	for _, tc := range []struct {
		name, release, ns, values string
		// selfSigned: the API's certificate is the manager's own CA's, as
		// in install.yaml; otherwise the manager has no rule for its
		// Secret and ConfigMap.
		selfSigned bool
	}{
		{"default values", "demo", "demo", "", true},
		{"many values", "stagehand-prod", "prod", `
image: {repository: registry.example/stagehand, tag: v9.9.9, pullPolicy: Always}
imagePullSecrets: [{name: registry-credentials}]
replicas: 3
logLevel: debug
resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: "1", memory: 512Mi}}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: auth, effect: NoSchedule}]
affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}]}]}}}
podLabels: {team: identity}
podAnnotations: {example.com/owner: identity}
extraArgs: [--api-auth-cache-ttl=30s]
api: {service: {type: NodePort, port: 9443}, tls: {enabled: true, secretName: api-cert}}
metrics: {enabled: false}
crds: {install: false}
`, false},
		{"one replica, no leader election", "solo", "solo", "replicas: 1\nleaderElection: {enabled: false}", true},
		{"plain HTTP", "plain", "plain", "api: {tls: {enabled: false}}", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &apiServer{t: t, env: env}
			r := mustTemplate(t, tc.release, tc.ns, tc.values)
			// What NOTES.txt tells the user to run, for the namespace Helm
			// creates.
			if want := "kubectl label namespace " + tc.ns + " " + strings.Join(labelArgs, " "); !strings.Contains(r.notes, want) {
				t.Errorf("NOTES.txt does not say %q:\n%s", want, r.notes)
			}
			if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tc.ns, Labels: psLabels}}); err != nil {
				t.Fatal(err)
			}
			a.apply(ctx, r.objs)
			a.admitted(ctx, r.objs, tc.ns)
			sa := managerAccount(t, r.objs)
			// In its own namespace (leader election, its own CA) and in
			// any other; the CA's objects have the release's names.
			var dropWant func(string) bool
			if !tc.selfSigned {
				dropWant = namesCA
			}
			rename := strings.NewReplacer(" "+fullname(tc.release)+"-", " stagehand-").Replace
			a.sameRules(ctx, sa.user(), base.user(), tc.ns, base.ns, rename, dropWant)
			a.sameRules(ctx, sa.user(), base.user(), "default", "default", rename, dropWant)
		})
	}

	// watchNamespaces: the manager's Role in the watched namespace grants
	// there what the ClusterRole grants everywhere; elsewhere it may not
	// read a stagehand object, a Secret or a ConfigMap, and cluster-wide it
	// keeps only WebAuthnDeviceTypes and the reviews.
	t.Run("watchNamespaces", func(t *testing.T) {
		a := &apiServer{t: t, env: env}
		const rel, watched = "scoped", "scoped-team"
		for _, ns := range []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: rel, Labels: psLabels}}, {ObjectMeta: metav1.ObjectMeta{Name: watched}}} {
			if err := env.Client.Create(ctx, ns); err != nil {
				t.Fatal(err)
			}
		}
		r := mustTemplate(t, rel, rel, "watchNamespaces: ["+watched+"]")
		a.apply(ctx, r.objs)
		sa := managerAccount(t, r.objs).user()
		var in, other, cluster []string
		if err := testenv.WaitFor(func() error {
			in = a.rules(ctx, sa, watched)
			if !slices.Contains(in, "list flows.stagehand.dev/flows") {
				return errors.New("the manager's Role in the watched namespace never took effect")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// A rules review is always of a namespace: the cluster-wide rules
		// are those of one the manager does not watch.
		other = a.rules(ctx, sa, "default")
		cluster = other
		// What every ServiceAccount may do is not the manager's to lose.
		nobody := a.rules(ctx, account{ns: "default", name: "helm-test-nobody"}.user(), "default")
		for _, rule := range a.rules(ctx, base.user(), "default") {
			if slices.Contains(nobody, rule) || strings.HasPrefix(rule, "create authentication.k8s.io/") || strings.HasPrefix(rule, "create authorization.k8s.io/") || strings.Contains(rule, "/webauthndevicetypes") {
				continue // every user's, or cluster-scoped
			}
			if !slices.Contains(in, rule) {
				t.Errorf("in the watched namespace the manager may not %q, which config/default grants", rule)
			}
			if slices.Contains(other, rule) {
				t.Errorf("outside the watched namespaces the manager may %q", rule)
			}
		}
		for _, rule := range []string{"list flows.stagehand.dev/webauthndevicetypes", "patch flows.stagehand.dev/webauthndevicetypes/status", "create authentication.k8s.io/tokenreviews", "create authorization.k8s.io/subjectaccessreviews"} {
			if !slices.Contains(cluster, rule) {
				t.Errorf("with watchNamespaces the manager may not %q cluster-wide", rule)
			}
		}
		for _, rule := range []string{"list flows.stagehand.dev/flows", "get /secrets", "update /configmaps"} {
			if slices.Contains(cluster, rule) || slices.Contains(other, rule) {
				t.Errorf("with watchNamespaces the manager may still %q outside %s", rule, watched)
			}
		}
	})

	// Each role of install.yaml (viewer, editor, metrics reader, ...) and
	// its counterpart in the chart (release demo), bound each to a user of
	// its own: the same rules.
	for _, kind := range []string{"ClusterRole", "Role"} {
		for _, role := range ofKind(install, kind) {
			chartName := strings.Replace(role.GetName(), "stagehand-", "demo-stagehand-", 1)
			chartNS := ""
			if role.GetNamespace() != "" {
				chartNS = "demo"
			}
			t.Run(kind+" "+role.GetName(), func(t *testing.T) {
				a := &apiServer{t: t, env: env}
				cfgUser := a.bind(ctx, kind, role.GetNamespace(), role.GetName())
				chartUser := a.bind(ctx, kind, chartNS, chartName)
				ns, cns := role.GetNamespace(), chartNS
				if ns == "" {
					ns, cns = "default", "default"
				}
				a.sameRules(ctx, chartUser, cfgUser, cns, ns, strings.NewReplacer(" demo-stagehand-", " stagehand-").Replace, nil)
			})
		}
	}
}

type apiServer struct {
	t   *testing.T
	env *testenv.Env
}

// apply applies objects as `kubectl apply --server-side` does.
func (a *apiServer) apply(ctx context.Context, objs []*unstructured.Unstructured) {
	a.t.Helper()
	if len(objs) == 0 {
		a.t.Fatal("nothing to apply")
	}
	for _, o := range objs {
		if err := a.env.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("helm-test"), client.ForceOwnership); err != nil {
			a.t.Errorf("applying %s: %v", key(o), err)
		}
	}
}

// admitted checks that the manager's pod would be admitted in ns, which
// enforces the restricted Pod Security Standard, and that the same pod
// running as root would not (so that the check has teeth).
func (a *apiServer) admitted(ctx context.Context, objs []*unstructured.Unstructured, ns string) {
	a.t.Helper()
	deps := ofKind(objs, "Deployment")
	if len(deps) != 1 {
		a.t.Fatalf("%d Deployments, want 1", len(deps))
	}
	var dep appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deps[0].Object, &dep); err != nil {
		a.t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "pod-security-check-", Namespace: ns, Labels: dep.Spec.Template.Labels},
		Spec:       dep.Spec.Template.Spec,
	}
	if err := a.env.Client.Create(ctx, pod, client.DryRunAll); err != nil {
		a.t.Errorf("the manager's pod is not admitted in %s: %v", ns, err)
	}
	root := pod.DeepCopy()
	root.Spec.SecurityContext.RunAsNonRoot = nil
	if err := a.env.Client.Create(ctx, root, client.DryRunAll); err == nil {
		a.t.Errorf("%s admitted a pod that may run as root: does it enforce the restricted Pod Security Standard?", ns)
	}
}

// account is a ServiceAccount.
type account struct{ ns, name string }

func (s account) user() rest.ImpersonationConfig {
	return rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + s.ns + ":" + s.name,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + s.ns, "system:authenticated"},
	}
}

// managerAccount is the ServiceAccount the manager's Deployment runs as.
func managerAccount(t *testing.T, objs []*unstructured.Unstructured) account {
	t.Helper()
	dep := ofKind(objs, "Deployment")[0]
	name, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "spec", "serviceAccountName")
	if name == "" {
		t.Fatalf("%s runs as no ServiceAccount", key(dep))
	}
	return account{ns: dep.GetNamespace(), name: name}
}

// bind binds a new user to a role (in ns, for a Role) and returns it.
func (a *apiServer) bind(ctx context.Context, kind, ns, role string) rest.ImpersonationConfig {
	a.t.Helper()
	user := strings.ToLower(kind) + ":" + ns + ":" + role
	meta := metav1.ObjectMeta{GenerateName: "helm-test-", Namespace: ns}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role}
	subjects := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}
	var b client.Object = &rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: subjects}
	if kind == "Role" {
		b = &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: subjects}
	}
	if err := a.env.Client.Create(ctx, b); err != nil {
		a.t.Fatalf("binding %s to %s %s: %v", user, kind, role, err)
	}
	return rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
}

// fullname is the prefix of the chart's object names for a release
// (stagehand.fullname): the release name, with -stagehand unless it has it.
func fullname(release string) string {
	if strings.Contains(release, "stagehand") {
		return release
	}
	return release + "-stagehand"
}

// sameRules waits until the API server's authorizer grants got, in gotNS,
// exactly the rules it grants want in wantNS (bindings take effect through
// its informers), and fails with the difference if it never does. Both must
// be granted more than an authenticated user with no binding, so that two
// bindings not yet in effect do not compare equal. rename maps the names
// of got's rules (a release's) to want's; dropWant, when set, leaves out
// rules of want that got is not to have.
func (a *apiServer) sameRules(ctx context.Context, got, want rest.ImpersonationConfig, gotNS, wantNS string, rename func(string) string, dropWant func(string) bool) {
	a.t.Helper()
	nobody := a.rules(ctx, rest.ImpersonationConfig{UserName: "helm-test-nobody", Groups: []string{"system:authenticated"}}, wantNS)
	var g, w []string
	if testenv.WaitFor(func() error {
		g, w = a.rules(ctx, got, gotNS), a.rules(ctx, want, wantNS)
		for i := range g {
			g[i] = rename(g[i])
		}
		slices.Sort(g)
		if dropWant != nil {
			w = slices.DeleteFunc(w, dropWant)
		}
		if slices.Equal(g, w) && len(w) > len(nobody) {
			return nil
		}
		return errors.New("the rules differ")
	}) == nil {
		return
	}
	a.t.Errorf("%s in %s may\n  %s\nbut %s in %s may\n  %s\nmissing: %v\nextra: %v",
		got.UserName, gotNS, strings.Join(g, "\n  "), want.UserName, wantNS, strings.Join(w, "\n  "), minus(w, g), minus(g, w))
}

// rules asks the API server what user may do in ns (SelfSubjectRulesReview,
// impersonating the user) and returns it as sorted "verb group/resource
// name" and "verb url" lines.
func (a *apiServer) rules(ctx context.Context, user rest.ImpersonationConfig, ns string) []string {
	a.t.Helper()
	cfg := rest.CopyConfig(a.env.Config)
	cfg.Impersonate = user
	c, err := client.New(cfg, client.Options{Scheme: a.env.Client.Scheme()})
	if err != nil {
		a.t.Fatal(err)
	}
	review := &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: ns}}
	if err := c.Create(ctx, review); err != nil {
		a.t.Fatalf("SelfSubjectRulesReview as %s in %s: %v", user.UserName, ns, err)
	}
	if review.Status.Incomplete {
		a.t.Fatalf("the authorizer's answer for %s in %s is incomplete: %s", user.UserName, ns, review.Status.EvaluationError)
	}
	seen := map[string]bool{}
	for _, r := range review.Status.ResourceRules {
		names := r.ResourceNames
		if len(names) == 0 {
			names = []string{""}
		}
		for _, v := range r.Verbs {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, n := range names {
						seen[fmt.Sprintf("%s %s/%s %s", v, g, res, n)] = true
					}
				}
			}
		}
	}
	for _, r := range review.Status.NonResourceRules {
		for _, v := range r.Verbs {
			for _, u := range r.NonResourceURLs {
				seen[v+" "+u] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, strings.TrimSpace(s))
	}
	sort.Strings(out)
	return out
}

// minus returns what is in a and not in b.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
