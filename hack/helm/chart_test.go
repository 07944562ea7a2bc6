package helm

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/stagehand-dev/stagehand/hack/manifests"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

const (
	release   = "stagehand"
	namespace = "stagehand-system"
	manager   = "stagehand-controller-manager"
)

// `helm lint`, with the default values: no warning, no error.
func TestLint(t *testing.T) {
	l := lint.RunAll(chartDir, nil, namespace)
	for _, m := range l.Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint: %s", m)
		}
	}
}

// Installed as `helm install stagehand dist/chart -n stagehand-system` with
// the default values, the chart renders exactly config/default's objects
// (but the namespace, which Helm creates), with Helm's labels added: a
// change to config/ that `make chart` did not carry over, or that the
// generator mangles, shows here as a diff.
func TestDefaultsAreConfigDefault(t *testing.T) {
	r := mustTemplate(t, release, namespace, "")
	t.Logf("helm template with the default values: %d bytes, %d objects", len(r.manifest), len(r.objs))
	compareWithConfig(t, r.objs, configDefault(t))
}

// api.tls switches between the three ways the API serves. By default (and
// with api.tls.enabled alone) the manager's own CA, as config/default has
// it; with a Secret of one's own (api.tls.secretName, or cert-manager's),
// what config/default with config/components/api-tls renders; with
// api.tls.enabled=false, plain HTTP: --api-tls=none, no certificate, and
// neither the CA's objects nor the manager's access to them.
func TestAPITLSModes(t *testing.T) {
	r := mustTemplate(t, release, namespace, "api: {tls: {enabled: true}}")
	compareWithConfig(t, r.objs, configDefault(t))
	for _, want := range []string{"https://stagehand-api.stagehand-system.svc:9000", "ConfigMap stagehand-api-ca (key ca.crt)", "--audience=flows.stagehand.dev"} {
		if !strings.Contains(r.notes, want) {
			t.Errorf("NOTES.txt does not say %q:\n%s", want, r.notes)
		}
	}

	r = mustTemplate(t, release, namespace, "api: {tls: {secretName: stagehand-api-tls}}")
	compareWithConfig(t, r.objs, configDefault(t, "config/components/api-tls"))

	r = mustTemplate(t, release, namespace, "api: {tls: {enabled: false}}")
	var dep appsv1.Deployment
	get(t, r.objs, "Deployment", manager, &dep)
	var tls []string
	for _, a := range container(t, &dep).Args {
		if isTLSFlag(a) {
			tls = append(tls, a)
		}
	}
	if !slices.Equal(tls, []string{"--api-tls=none"}) {
		t.Errorf("with api.tls.enabled=false the manager's TLS flags are %v, want --api-tls=none alone", tls)
	}
	if v := dep.Spec.Template.Spec.Volumes; len(v) > 0 {
		t.Errorf("with api.tls.enabled=false the pod mounts %+v", v)
	}
	for _, o := range r.objs {
		if o.GetLabels()["app.kubernetes.io/component"] == "api-tls" {
			t.Errorf("with api.tls.enabled=false the chart renders %s, of the manager's own CA", key(o))
		}
	}
	var svc corev1.Service
	get(t, r.objs, "Service", "stagehand-api", &svc)
	if svc.Spec.Ports[0].Name != "http" {
		t.Errorf("with api.tls.enabled=false the API Service's port is named %q, want http", svc.Spec.Ports[0].Name)
	}
	if !strings.Contains(r.notes, "in plain HTTP") {
		t.Errorf("NOTES.txt does not say the API serves plain HTTP:\n%s", r.notes)
	}
}

// blueprints.inlineSecrets renders what config/components/blueprint-secrets
// adds to config/default, the manager's permission to write Secrets (a
// BlueprintExport with secrets: Inline), and nothing else; off, the chart
// is config/default, with no such permission.
func TestBlueprintsInlineSecrets(t *testing.T) {
	r := mustTemplate(t, release, namespace, "blueprints: {inlineSecrets: true}")
	compareWithConfig(t, r.objs, configDefault(t, "config/components/blueprint-secrets"))
	if find(r.objs, "ClusterRole", "stagehand-blueprint-secrets-role") == nil {
		t.Error("blueprints.inlineSecrets=true renders no ClusterRole stagehand-blueprint-secrets-role")
	}
	r = mustTemplate(t, release, namespace, "blueprints: {inlineSecrets: false}")
	if find(r.objs, "ClusterRole", "stagehand-blueprint-secrets-role") != nil {
		t.Error("blueprints.inlineSecrets=false renders the ClusterRole stagehand-blueprint-secrets-role")
	}
}

// watchNamespaces makes the install namespaced, as config/namespaced (the
// example overlay: config/default with config/components/namespaced, the
// manager's Role in team-a and team-b, --watch-namespaces=team-a,team-b)
// does: Roles in the watched namespaces instead of the ClusterRole, and
// cluster-wide only the rules on what belongs to no namespace.
func TestWatchNamespaces(t *testing.T) {
	r := mustTemplate(t, release, namespace, "watchNamespaces: [team-a, team-b]")
	overlay, err := manifests.Objects(filepath.Join(testenv.Root(), "config", "namespaced"), chartImage(t))
	if err != nil {
		t.Fatal(err)
	}
	compareWithConfig(t, r.objs, overlay)
	for _, ns := range []string{"team-a", "team-b"} {
		for _, kind := range []string{"Role", "RoleBinding"} {
			if !slices.ContainsFunc(r.objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind && o.GetNamespace() == ns }) {
				t.Errorf("watchNamespaces renders no %s in %s", kind, ns)
			}
		}
	}
	for _, o := range []struct{ kind, name string }{{"ClusterRole", "stagehand-manager-role"}, {"ClusterRoleBinding", "stagehand-manager-rolebinding"}} {
		if find(r.objs, o.kind, o.name) != nil {
			t.Errorf("watchNamespaces renders the cluster-wide %s %s", o.kind, o.name)
		}
	}
	// No ClusterRole bound to the manager grants anything on a namespaced
	// resource.
	sa := managerAccount(t, r.objs)
	for _, b := range ofKind(r.objs, "ClusterRoleBinding") {
		var crb rbacv1.ClusterRoleBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(b.Object, &crb); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(crb.Subjects, func(s rbacv1.Subject) bool {
			return s.Kind == "ServiceAccount" && s.Namespace == sa.ns && s.Name == sa.name
		}) {
			continue
		}
		var role rbacv1.ClusterRole
		get(t, r.objs, "ClusterRole", crb.RoleRef.Name, &role)
		for _, rule := range role.Rules {
			for _, res := range rule.Resources {
				if base, _, _ := strings.Cut(res, "/"); base != "webauthndevicetypes" && base != "tokenreviews" && base != "subjectaccessreviews" {
					t.Errorf("with watchNamespaces, the ClusterRole %s (bound to the manager) grants %v on %s", role.Name, rule.Verbs, res)
				}
			}
		}
	}
	var dep appsv1.Deployment
	get(t, r.objs, "Deployment", "stagehand-controller-manager", &dep)
	if args := container(t, &dep).Args; !slices.Contains(args, "--watch-namespaces=team-a,team-b") {
		t.Errorf("the manager's flags lack --watch-namespaces=team-a,team-b: %v", args)
	}
	// Off, no Role outside the release's namespace, and no flag.
	r = mustTemplate(t, release, namespace, "watchNamespaces: []")
	for _, o := range r.objs {
		if (o.GetKind() == "Role" || o.GetKind() == "RoleBinding") && o.GetNamespace() != namespace {
			t.Errorf("watchNamespaces=[] renders %s", key(o))
		}
	}
}

// isTLSFlag tells whether a manager flag is about the API's TLS.
func isTLSFlag(a string) bool {
	return strings.HasPrefix(a, "--api-tls=") || strings.HasPrefix(a, "--api-tls-")
}

func compareWithConfig(t *testing.T, chart, config []*unstructured.Unstructured) {
	t.Helper()
	want := map[string]map[string]any{}
	for _, o := range config {
		if o.GetKind() == "Namespace" {
			continue
		}
		want[key(o)] = normalize(o)
	}
	got := map[string]map[string]any{}
	for _, o := range chart {
		if _, dup := got[key(o)]; dup {
			t.Errorf("the chart renders %s twice", key(o))
		}
		got[key(o)] = normalize(o)
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("config/default has %s, the chart does not", k)
			continue
		}
		if d := cmp.Diff(w, g); d != "" {
			t.Errorf("%s differs from config/default's (-config/default +chart):\n%s", k, d)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("the chart renders %s, which config/default does not have", k)
		}
	}
	if len(want) < 10 {
		t.Errorf("config/default renders %d objects: is it whole?", len(want))
	}
	for _, o := range chart {
		for _, l := range helmLabels {
			if o.GetLabels()[l] == "" {
				t.Errorf("%s lacks the label %s", key(o), l)
			}
		}
	}
}

// Each value a user sets reaches the object it is about, and the rendered
// objects stay whole: every reference resolves, every selector selects the
// manager's pods.
func TestValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values string
		check  func(t *testing.T, r *rendered, dep *appsv1.Deployment)
	}{{
		name:   "image repository and tag",
		values: "image: {repository: registry.example/team/stagehand, tag: v9.9.9, pullPolicy: Always}",
		check: func(t *testing.T, _ *rendered, dep *appsv1.Deployment) {
			c := container(t, dep)
			if c.Image != "registry.example/team/stagehand:v9.9.9" || c.ImagePullPolicy != corev1.PullAlways {
				t.Errorf("image %s, pull policy %s", c.Image, c.ImagePullPolicy)
			}
		},
	}, {
		name:   "image digest over tag",
		values: "image: {tag: v9, digest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}",
		check: func(t *testing.T, _ *rendered, dep *appsv1.Deployment) {
			if c := container(t, dep); c.Image != "ghcr.io/stagehand-dev/stagehand@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" {
				t.Errorf("image %s", c.Image)
			}
		},
	}, {
		name:   "image pull secrets",
		values: "imagePullSecrets: [{name: registry-credentials}]",
		check: func(t *testing.T, _ *rendered, dep *appsv1.Deployment) {
			if s := dep.Spec.Template.Spec.ImagePullSecrets; len(s) != 1 || s[0].Name != "registry-credentials" {
				t.Errorf("imagePullSecrets %+v", s)
			}
		},
	}, {
		name:   "three replicas",
		values: "replicas: 3",
		check: func(t *testing.T, r *rendered, dep *appsv1.Deployment) {
			if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 3 {
				t.Errorf("replicas %v", dep.Spec.Replicas)
			}
			if find(r.objs, "PodDisruptionBudget", manager) == nil {
				t.Error("no PodDisruptionBudget with three replicas")
			}
		},
	}, {
		name:   "one replica without leader election",
		values: "replicas: 1\nleaderElection: {enabled: false}",
		check: func(t *testing.T, r *rendered, dep *appsv1.Deployment) {
			if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
				t.Errorf("replicas %v", dep.Spec.Replicas)
			}
			args := container(t, dep).Args
			if !slices.Contains(args, "--leader-elect=false") || slices.Contains(args, "--leader-elect") {
				t.Errorf("args %v: want --leader-elect=false", args)
			}
			// A budget of one available pod out of one would block every
			// node drain.
			if find(r.objs, "PodDisruptionBudget", manager) != nil {
				t.Error("a PodDisruptionBudget with one replica")
			}
		},
	}, {
		name:   "resources",
		values: "resources: {requests: {cpu: 50m, memory: 128Mi}, limits: {memory: 1Gi}}",
		check: func(t *testing.T, _ *rendered, dep *appsv1.Deployment) {
			res := container(t, dep).Resources
			if res.Requests.Cpu().String() != "50m" || res.Requests.Memory().String() != "128Mi" || res.Limits.Memory().String() != "1Gi" {
				t.Errorf("resources %+v", res)
			}
			// Helm merges maps: the default CPU limit stays unless nulled.
			if res.Limits.Cpu().String() != "500m" {
				t.Errorf("cpu limit %s, want the default 500m", res.Limits.Cpu())
			}
		},
	}, {
		name:   "log level",
		values: "logLevel: debug",
		check: func(t *testing.T, _ *rendered, dep *appsv1.Deployment) {
			if args := container(t, dep).Args; !slices.Contains(args, "--zap-log-level=debug") || slices.Contains(args, "--zap-log-level=info") {
				t.Errorf("args %v", args)
			}
		},
	}, {
		name: "scheduling",
		values: `
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: auth, effect: NoSchedule}]
affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}]}]}}}
`,
		check: func(t *testing.T, _ *rendered, dep *appsv1.Deployment) {
			pod := dep.Spec.Template.Spec
			if pod.NodeSelector["kubernetes.io/os"] != "linux" {
				t.Errorf("nodeSelector %v", pod.NodeSelector)
			}
			if len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "dedicated" || pod.Tolerations[0].Effect != corev1.TaintEffectNoSchedule {
				t.Errorf("tolerations %+v", pod.Tolerations)
			}
			if a := pod.Affinity; a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
				t.Errorf("affinity %+v", a)
			}
		},
	}, {
		name:   "pod labels and annotations, which cannot take the chart's",
		values: "podLabels: {team: identity, app.kubernetes.io/name: other}\npodAnnotations: {example.com/scrape: 'no', kubectl.kubernetes.io/default-container: other}",
		check: func(t *testing.T, _ *rendered, dep *appsv1.Deployment) {
			meta := dep.Spec.Template.ObjectMeta
			if meta.Labels["team"] != "identity" || meta.Labels["app.kubernetes.io/name"] != "stagehand" {
				t.Errorf("pod labels %v", meta.Labels)
			}
			if meta.Annotations["example.com/scrape"] != "no" || meta.Annotations["kubectl.kubernetes.io/default-container"] != "manager" {
				t.Errorf("pod annotations %v", meta.Annotations)
			}
		},
	}, {
		name:   "extra args, last",
		values: "extraArgs: [--api-auth-cache-ttl=30s, --api-request-timeout=5s]",
		check: func(t *testing.T, _ *rendered, dep *appsv1.Deployment) {
			args := container(t, dep).Args
			if n := len(args); n < 3 || args[n-2] != "--api-auth-cache-ttl=30s" || args[n-1] != "--api-request-timeout=5s" {
				t.Errorf("args %v: want the extra args last, so that they override", args)
			}
		},
	}, {
		name:   "API Service",
		values: "api: {service: {type: NodePort, port: 9443}}",
		check: func(t *testing.T, r *rendered, _ *appsv1.Deployment) {
			var svc corev1.Service
			get(t, r.objs, "Service", "stagehand-api", &svc)
			if svc.Spec.Type != corev1.ServiceTypeNodePort || svc.Spec.Ports[0].Port != 9443 || svc.Spec.Ports[0].TargetPort.StrVal != "api" {
				t.Errorf("Service %+v", svc.Spec)
			}
		},
	}, {
		name:   "API over HTTPS from a Secret of one's own",
		values: "api: {tls: {enabled: true, secretName: my-api-cert}}",
		check: func(t *testing.T, r *rendered, dep *appsv1.Deployment) {
			if s := tlsSecret(t, dep); s != "my-api-cert" {
				t.Errorf("the API's certificate comes from Secret %q", s)
			}
			if len(ofKind(r.objs, "Certificate")) != 0 {
				t.Error("a Certificate without certManager.enabled")
			}
			if !strings.Contains(r.notes, "https://stagehand-api.stagehand-system.svc:9000") || !strings.Contains(r.notes, "create secret tls my-api-cert") {
				t.Errorf("NOTES:\n%s", r.notes)
			}
		},
	}, {
		name:   "API over HTTPS with cert-manager",
		values: "api: {tls: {enabled: true, certManager: {enabled: true, issuerRef: {kind: Issuer, name: internal-ca}}}}",
		check: func(t *testing.T, r *rendered, dep *appsv1.Deployment) {
			certs := ofKind(r.objs, "Certificate")
			if len(certs) != 1 {
				t.Fatalf("%d Certificates, want 1", len(certs))
			}
			cert := certs[0]
			if cert.GetAPIVersion() != "cert-manager.io/v1" || cert.GetNamespace() != namespace {
				t.Errorf("Certificate %s in %q", cert.GetAPIVersion(), cert.GetNamespace())
			}
			secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
			if want := tlsSecret(t, dep); secret != want || want != "stagehand-api-tls" {
				t.Errorf("the Certificate writes Secret %q, the manager reads %q (want stagehand-api-tls)", secret, want)
			}
			dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
			if !slices.Contains(dns, "stagehand-api.stagehand-system.svc") || !slices.Contains(dns, "stagehand-api.stagehand-system.svc.cluster.local") {
				t.Errorf("dnsNames %v: not the API Service's", dns)
			}
			issuer, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
			if issuer["kind"] != "Issuer" || issuer["name"] != "internal-ca" || issuer["group"] != "cert-manager.io" {
				t.Errorf("issuerRef %v", issuer)
			}
		},
	}, {
		name:   "metrics off",
		values: "metrics: {enabled: false}",
		check: func(t *testing.T, r *rendered, dep *appsv1.Deployment) {
			if args := container(t, dep).Args; !slices.Contains(args, "--metrics-bind-address=0") {
				t.Errorf("args %v: want --metrics-bind-address=0", args)
			}
			if find(r.objs, "Service", "stagehand-metrics") != nil {
				t.Error("a metrics Service with metrics off")
			}
		},
	}, {
		name:   "ServiceMonitor",
		values: "metrics: {serviceMonitor: {enabled: true, labels: {release: prometheus}, interval: 1m}}",
		check: func(t *testing.T, r *rendered, _ *appsv1.Deployment) {
			sms := ofKind(r.objs, "ServiceMonitor")
			if len(sms) != 1 {
				t.Fatalf("%d ServiceMonitors, want 1", len(sms))
			}
			sm := sms[0]
			if sm.GetLabels()["release"] != "prometheus" || sm.GetNamespace() != namespace {
				t.Errorf("ServiceMonitor labels %v, namespace %q", sm.GetLabels(), sm.GetNamespace())
			}
			var svc corev1.Service
			get(t, r.objs, "Service", "stagehand-metrics", &svc)
			sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
			if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(labels.Set(svc.Labels)) {
				t.Errorf("the ServiceMonitor selects %v, not the metrics Service (%v)", sel, svc.Labels)
			}
			eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			if len(eps) != 1 {
				t.Fatalf("endpoints %v", eps)
			}
			ep := eps[0].(map[string]any)
			if ep["port"] != svc.Spec.Ports[0].Name || ep["scheme"] != "https" || ep["path"] != "/metrics" || ep["interval"] != "1m" {
				t.Errorf("endpoint %v, the Service's port is %q", ep, svc.Spec.Ports[0].Name)
			}
			// NOTES.txt says which role to bind Prometheus to.
			if find(r.objs, "ClusterRole", "stagehand-metrics-reader") == nil || !strings.Contains(r.notes, "--clusterrole=stagehand-metrics-reader ") {
				t.Errorf("NOTES.txt does not say to bind Prometheus to the ClusterRole stagehand-metrics-reader:\n%s", r.notes)
			}
		},
	}, {
		name:   "CRDs not installed",
		values: "crds: {install: false}",
		check: func(t *testing.T, r *rendered, _ *appsv1.Deployment) {
			if n := len(ofKind(r.objs, "CustomResourceDefinition")); n != 0 {
				t.Errorf("%d CRDs with crds.install=false", n)
			}
		},
	}, {
		name:   "CRDs kept, by default",
		values: "",
		check: func(t *testing.T, r *rendered, _ *appsv1.Deployment) {
			crds := ofKind(r.objs, "CustomResourceDefinition")
			if len(crds) == 0 {
				t.Fatal("no CRDs")
			}
			for _, o := range crds {
				if o.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
					t.Errorf("CRD %s is not kept on uninstall: annotations %v", o.GetName(), o.GetAnnotations())
				}
			}
		},
	}, {
		name:   "CRDs not kept",
		values: "crds: {keep: false}",
		check: func(t *testing.T, r *rendered, _ *appsv1.Deployment) {
			for _, o := range ofKind(r.objs, "CustomResourceDefinition") {
				if _, ok := o.GetAnnotations()["helm.sh/resource-policy"]; ok {
					t.Errorf("CRD %s has a resource policy with crds.keep=false", o.GetName())
				}
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := mustTemplate(t, release, namespace, tc.values)
			checkWhole(t, r.objs, namespace)
			var dep appsv1.Deployment
			get(t, r.objs, "Deployment", manager, &dep)
			tc.check(t, r, &dep)
		})
	}
}

// The chart refuses values that would not work, and says what to do.
func TestRefusedValues(t *testing.T) {
	for _, tc := range []struct {
		values, want string
	}{
		{"leaderElection: {enabled: false}", "leaderElection.enabled=false with replicas=2"},
		{"api: {tls: {enabled: false, certManager: {enabled: true, issuerRef: {name: ca}}}}", "needs api.tls.enabled=true"},
		{"api: {tls: {enabled: true, certManager: {enabled: true}}}", "needs api.tls.certManager.issuerRef.name"},
		{"metrics: {enabled: false, serviceMonitor: {enabled: true}}", "needs metrics.enabled=true"},
		// The schema: misspelt keys and wrong types.
		{"replica: 3", "replica"},
		{"replicas: two", "replicas"},
		{"replicas: 0", "replicas"},
		{"logLevel: verbose", "logLevel"},
		{"extraArgs: [api-auth=none]", "extraArgs"},
		{"api: {tls: {enable: true}}", "enable"},
		{"image: {pullPolicy: Sometimes}", "pullPolicy"},
		{"watchNamespaces: [Team-A]", "watchNamespaces"},
		{"watchNamespaces: [team-a, team-a]", "watchNamespaces"},
		{"watchNamespaces: team-a", "watchNamespaces"},
	} {
		_, err := template(t, release, namespace, tc.values)
		if err == nil {
			t.Errorf("values %q: rendered, want an error mentioning %q", tc.values, tc.want)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("values %q: %v\nwant it to mention %q", tc.values, err, tc.want)
		}
	}
}

// Object names follow the release name: config/default's with the release
// stagehand, <release>-stagehand-* otherwise, <fullnameOverride>-* when
// set, never over 63 characters; every reference follows.
func TestReleaseNames(t *testing.T) {
	for _, tc := range []struct {
		release, values, manager string
	}{
		{"stagehand", "", "stagehand-controller-manager"},
		{"stagehand-prod", "", "stagehand-prod-controller-manager"},
		{"auth", "", "auth-stagehand-controller-manager"},
		{"auth", "fullnameOverride: sh", "sh-controller-manager"},
		{strings.Repeat("long", 13), "", ""},
	} {
		t.Run(tc.release+" "+tc.values, func(t *testing.T) {
			r := mustTemplate(t, tc.release, "auth", tc.values)
			if tc.manager != "" && find(r.objs, "Deployment", tc.manager) == nil {
				t.Errorf("no Deployment %s among\n%s", tc.manager, list(r.objs))
			}
			checkWhole(t, r.objs, "auth")
		})
	}
}

// Two releases in one namespace select only their own pods.
func TestReleasesDoNotSelectEachOther(t *testing.T) {
	a := mustTemplate(t, "one", "auth", "")
	b := mustTemplate(t, "two", "auth", "")
	podsOf := func(r *rendered) labels.Set {
		dep := ofKind(r.objs, "Deployment")[0]
		l, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
		return l
	}
	for _, svc := range ofKind(a.objs, "Service") {
		sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
		if labels.SelectorFromSet(sel).Matches(podsOf(b)) {
			t.Errorf("release one's Service %s selects release two's pods", svc.GetName())
		}
	}
}

// checkWhole checks what holds whatever the values: every namespaced object
// is in the release's namespace, names fit in 63 characters, every binding
// refers to a role and a ServiceAccount the chart renders, the Deployment
// runs as that ServiceAccount, and every selector selects its pods.
func checkWhole(t *testing.T, objs []*unstructured.Unstructured, ns string) {
	t.Helper()
	clusterScoped := []string{"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
	has := map[string]bool{}
	for _, o := range objs {
		has[key(o)] = true
		if slices.Contains(clusterScoped, o.GetKind()) != (o.GetNamespace() == "") || (o.GetNamespace() != "" && o.GetNamespace() != ns) {
			t.Errorf("%s is in namespace %q (release namespace %s)", key(o), o.GetNamespace(), ns)
		}
		if len(o.GetName()) > 63 {
			t.Errorf("%s: the name is %d characters long", key(o), len(o.GetName()))
		}
	}
	deps := ofKind(objs, "Deployment")
	if len(deps) != 1 {
		t.Fatalf("%d Deployments, want 1", len(deps))
	}
	var dep appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(deps[0].Object, &dep); err != nil {
		t.Fatal(err)
	}
	pods := labels.Set(dep.Spec.Template.Labels)
	if sa := dep.Spec.Template.Spec.ServiceAccountName; !has["ServiceAccount "+ns+"/"+sa] {
		t.Errorf("the Deployment runs as ServiceAccount %q, which the chart does not render", sa)
	}
	if dep.Spec.Selector == nil || !labels.SelectorFromSet(dep.Spec.Selector.MatchLabels).Matches(pods) || dep.Spec.Selector.MatchLabels[instanceLabel] == "" {
		t.Errorf("the Deployment's selector %v does not select its pods (%v) by release", dep.Spec.Selector, pods)
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "RoleBinding", "ClusterRoleBinding":
			var b rbacv1.RoleBinding
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &b); err != nil {
				t.Fatal(err)
			}
			roleNS := o.GetNamespace()
			if b.RoleRef.Kind == "ClusterRole" {
				roleNS = ""
			}
			if !has[b.RoleRef.Kind+" "+roleNS+"/"+b.RoleRef.Name] {
				t.Errorf("%s refers to %s %s, which the chart does not render", key(o), b.RoleRef.Kind, b.RoleRef.Name)
			}
			for _, s := range b.Subjects {
				if s.Kind == "ServiceAccount" && !has["ServiceAccount "+s.Namespace+"/"+s.Name] {
					t.Errorf("%s binds ServiceAccount %s/%s, which the chart does not render", key(o), s.Namespace, s.Name)
				}
			}
		case "ValidatingAdmissionPolicyBinding":
			// The policy holds the manager's ServiceAccount, found by
			// paramRef: the release's own.
			policy, _, _ := unstructured.NestedString(o.Object, "spec", "policyName")
			if !has["ValidatingAdmissionPolicy /"+policy] {
				t.Errorf("%s binds ValidatingAdmissionPolicy %s, which the chart does not render", key(o), policy)
			}
			name, _, _ := unstructured.NestedString(o.Object, "spec", "paramRef", "name")
			pns, _, _ := unstructured.NestedString(o.Object, "spec", "paramRef", "namespace")
			if sa := dep.Spec.Template.Spec.ServiceAccountName; name != sa || pns != ns {
				t.Errorf("%s holds ServiceAccount %s/%s, not the manager's, %s/%s", key(o), pns, name, ns, sa)
			}
		case "Service":
			sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
			if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(pods) || sel[instanceLabel] == "" {
				t.Errorf("%s selects %v, not the manager's pods (%v) by release", key(o), sel, pods)
			}
		case "PodDisruptionBudget":
			sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
			if len(sel) == 0 || !labels.SelectorFromSet(sel).Matches(pods) {
				t.Errorf("%s selects %v, not the manager's pods (%v)", key(o), sel, pods)
			}
		}
	}
}

func container(t *testing.T, dep *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range dep.Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			return c
		}
	}
	t.Fatalf("the Deployment has no manager container")
	return corev1.Container{}
}

// tlsSecret is the Secret the manager reads the API's certificate from,
// checking that its flags name files in it.
func tlsSecret(t *testing.T, dep *appsv1.Deployment) string {
	t.Helper()
	c := container(t, dep)
	var mount string
	for _, m := range c.VolumeMounts {
		for _, a := range c.Args {
			if strings.HasPrefix(a, "--api-tls-cert-file="+m.MountPath+"/") {
				mount = m.Name
			}
		}
	}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Name == mount && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	t.Fatalf("the manager reads no certificate from a Secret: args %v, mounts %+v, volumes %+v", c.Args, c.VolumeMounts, dep.Spec.Template.Spec.Volumes)
	return ""
}

// dist/install.yaml is config/default with the image pinned to the chart's
// appVersion, whole.
func TestInstallYAMLIsConfigDefault(t *testing.T) {
	b, objs := readInstallYAML(t)
	ch := loadChart(t)
	if !strings.Contains(string(b), "stagehand "+ch.Metadata.AppVersion+":") {
		t.Errorf("install.yaml's header does not name version %s:\n%s", ch.Metadata.AppVersion, strings.SplitN(string(b), "\napiVersion", 2)[0])
	}
	config := configDefault(t)
	if d := cmp.Diff(objectsByKey(config), objectsByKey(objs)); d != "" {
		t.Errorf("install.yaml is not config/default with image %s (-config/default +install.yaml):\n%s", chartImage(t), d)
	}
	var dep appsv1.Deployment
	get(t, objs, "Deployment", manager, &dep)
	if img := container(t, &dep).Image; img != "ghcr.io/stagehand-dev/stagehand:"+ch.Metadata.AppVersion {
		t.Errorf("install.yaml runs image %s, want the release's, tag %s", img, ch.Metadata.AppVersion)
	}
	for _, kind := range []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service"} {
		if len(ofKind(objs, kind)) == 0 {
			t.Errorf("install.yaml has no %s", kind)
		}
	}
}

func objectsByKey(objs []*unstructured.Unstructured) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, o := range objs {
		m[key(o)] = o.Object
	}
	return m
}
