package manifests

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

const (
	namespace      = "stagehand-system"
	serviceAccount = "stagehand-controller-manager"
	group          = "flows.stagehand.dev"
)

// kinds are the resources of the stagehand kinds, from the one list of them.
var kinds = func() []string {
	var out []string
	for _, k := range flowsv1alpha1.Kinds {
		out = append(out, k.Resource)
	}
	return out
}()

// deployment is config/default rendered as `make deploy` and
// `kubectl kustomize config/default` render it.
type deployment struct {
	objs []*unstructured.Unstructured
}

func renderDefault(t *testing.T, image string) *deployment {
	t.Helper()
	objs, err := Objects(filepath.Join(testenv.Root(), "config", "default"), image)
	if err != nil {
		t.Fatalf("config/default does not render: %v", err)
	}
	return &deployment{objs: objs}
}

// get finds one object by kind, namespace and name and converts it to out.
func (d *deployment) get(t *testing.T, kind, ns, name string, out any) {
	t.Helper()
	for _, o := range d.objs {
		if o.GetKind() == kind && o.GetNamespace() == ns && o.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
				t.Fatalf("%s %s/%s: %v", kind, ns, name, err)
			}
			return
		}
	}
	t.Fatalf("config/default has no %s %q in namespace %q; it has:\n%s", kind, name, ns, d.list())
}

func (d *deployment) list() string {
	var b strings.Builder
	for _, o := range d.objs {
		b.WriteString("  " + o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName() + "\n")
	}
	return b.String()
}

func (d *deployment) manager(t *testing.T) *appsv1.Deployment {
	t.Helper()
	var dep appsv1.Deployment
	d.get(t, "Deployment", namespace, "stagehand-controller-manager", &dep)
	return &dep
}

func TestDefaultRenders(t *testing.T) {
	d := renderDefault(t, "")

	// Every object is either cluster-scoped or in stagehand-system, and
	// carries the stagehand- prefix, except the CRDs, whose names are fixed.
	clusterScoped := []string{"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
	crds := 0
	for _, o := range d.objs {
		if o.GetKind() == "CustomResourceDefinition" {
			crds++
			if !strings.HasSuffix(o.GetName(), "."+group) {
				t.Errorf("CRD %s: the name prefix must not touch CRDs", o.GetName())
			}
			continue
		}
		if !strings.HasPrefix(o.GetName(), "stagehand-") {
			t.Errorf("%s %s lacks the stagehand- prefix", o.GetKind(), o.GetName())
		}
		if slices.Contains(clusterScoped, o.GetKind()) != (o.GetNamespace() == "") {
			t.Errorf("%s %s is in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		} else if o.GetNamespace() != "" && o.GetNamespace() != namespace {
			t.Errorf("%s %s is in namespace %q, not %s", o.GetKind(), o.GetName(), o.GetNamespace(), namespace)
		}
	}
	if crds != len(kinds) {
		t.Errorf("config/default has %d CRDs, want %d (one per kind)", crds, len(kinds))
	}

	var ns corev1.Namespace
	d.get(t, "Namespace", "", namespace, &ns)
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s does not enforce the restricted Pod Security Standard: labels %v", namespace, ns.Labels)
	}
	var sa corev1.ServiceAccount
	d.get(t, "ServiceAccount", namespace, serviceAccount, &sa)
}

// Each CRD that `make manifests` generates is in config/crd, so a new kind
// cannot be left out of a deployment.
func TestCRDKustomizationListsEveryBase(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.Root(), "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		// bases/<group>_<plural>.yaml holds the CRD <plural>.<group>.
		g, plural, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".yaml"), "_")
		want = append(want, plural+"."+g)
	}
	objs, err := Objects(filepath.Join(testenv.Root(), "config", "crd"), "")
	if err != nil {
		t.Fatalf("config/crd does not render: %v", err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetName())
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("config/crd/kustomization.yaml renders CRDs\n  %v\nbut config/crd/bases holds\n  %v", got, want)
	}
}

func TestManagerDeployment(t *testing.T) {
	d := renderDefault(t, "")
	dep := d.manager(t)

	if dep.Spec.Replicas == nil {
		t.Error("replicas is not set, so 1: want 2")
	} else if *dep.Spec.Replicas != 2 {
		t.Errorf("replicas = %d, want 2", *dep.Spec.Replicas)
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("a rollout may take a serving replica away first: strategy %+v", dep.Spec.Strategy)
	}
	pod := dep.Spec.Template.Spec
	if pod.ServiceAccountName != serviceAccount {
		t.Errorf("serviceAccountName = %q, want %q", pod.ServiceAccountName, serviceAccount)
	}
	selector, err := metav1LabelSelector(dep)
	if err != nil {
		t.Fatal(err)
	}
	if !selector.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("the selector %v does not match the pod template's labels %v", selector, dep.Spec.Template.Labels)
	}

	// The pod meets the restricted Pod Security Standard.
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("pod securityContext.runAsNonRoot is not true: %+v", psc)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext.seccompProfile is not RuntimeDefault: %+v", psc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("the pod has %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != Image {
		t.Errorf("image = %q, want %q", c.Image, Image)
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Error("the manager container has no securityContext")
	default:
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation is not false")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Error("readOnlyRootFilesystem is not true")
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("capabilities are not dropped: %+v", sc.Capabilities)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Error("the container is privileged")
		}
	}

	// The flags the manager is run with, and the ports they open.
	args := strings.Join(append(slices.Clone(c.Command), c.Args...), " ")
	for _, want := range []string{"--leader-elect", "--health-probe-bind-address=:8081", "--metrics-bind-address=:8443", "--api-bind-address=:9000"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("the manager runs as %q, without %s", args, want)
		}
	}
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--api-auth") && a != "--api-auth=kubernetes" }) {
		t.Errorf("the manager runs as %q: a deployment must not turn the API's authentication off", args)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for name, port := range map[string]int32{"api": 9000, "metrics": 8443, "health": 8081} {
		if ports[name] != port {
			t.Errorf("container port %q = %d, want %d (ports %v)", name, ports[name], port, ports)
		}
	}

	// Probes on the manager's health endpoints.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || resolvePort(p.probe.HTTPGet.Port, ports) != 8081 {
			t.Errorf("%s probe gets %s on port %s, want %s on 8081", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}

	// Requests and limits for CPU and memory, requests within limits.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := c.Resources.Requests[r]
		lim, hasLim := c.Resources.Limits[r]
		if !hasReq || !hasLim {
			t.Errorf("%s: request %v, limit %v: want both", r, c.Resources.Requests, c.Resources.Limits)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s request %s is above its limit %s", r, req.String(), lim.String())
		}
	}

	// Replicas spread over nodes; a PodDisruptionBudget keeps one serving.
	if len(pod.TopologySpreadConstraints) == 0 || pod.TopologySpreadConstraints[0].TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("the replicas are not spread over nodes: %+v", pod.TopologySpreadConstraints)
	}
	var pdb policyv1.PodDisruptionBudget
	d.get(t, "PodDisruptionBudget", namespace, "stagehand-controller-manager", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 {
		t.Errorf("the PodDisruptionBudget lets every replica go: %+v", pdb.Spec)
	}
	if pdb.Spec.Selector == nil || !labels.SelectorFromSet(pdb.Spec.Selector.MatchLabels).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("the PodDisruptionBudget's selector %v does not select the manager's pods", pdb.Spec.Selector)
	}
}

func TestServices(t *testing.T) {
	d := renderDefault(t, "")
	dep := d.manager(t)
	ports := map[string]int32{}
	for _, p := range dep.Spec.Template.Spec.Containers[0].Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, s := range []struct {
		name       string
		port, pod  int32
		targetName string
	}{{"stagehand-api", 9000, 9000, "api"}, {"stagehand-metrics", 8443, 8443, "metrics"}} {
		var svc corev1.Service
		d.get(t, "Service", namespace, s.name, &svc)
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) {
			t.Errorf("Service %s selects %v, not the manager's pods (%v)", s.name, svc.Spec.Selector, dep.Spec.Template.Labels)
		}
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != s.port || resolvePort(svc.Spec.Ports[0].TargetPort, ports) != s.pod {
			t.Errorf("Service %s ports %+v, want %d to the pod's %d", s.name, svc.Spec.Ports, s.port, s.pod)
		}
	}
}

// TestRBACIsLeastPrivilege checks the shape of the rendered roles: no
// wildcards, no verbs that hand out more than a role holds, every binding's
// role present, and the viewer role aggregated into view. What the roles
// allow is the API server's decision, asked in TestDefaultAppliesToAPIServer.
func TestRBACIsLeastPrivilege(t *testing.T) {
	for _, dir := range []string{"default", "namespaced"} {
		t.Run(dir, func(t *testing.T) {
			objs, err := Objects(filepath.Join(testenv.Root(), "config", dir), "")
			if err != nil {
				t.Fatal(err)
			}
			leastPrivilege(t, &deployment{objs: objs})
		})
	}
}

// leastPrivilege checks the roles of a rendered install: no wildcard, no
// escalate, bind or impersonate, and every binding's role present.
func leastPrivilege(t *testing.T, d *deployment) {
	t.Helper()
	roles := map[string]bool{}
	for _, o := range d.objs {
		switch o.GetKind() {
		case "ClusterRole", "Role":
			roles[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = true
			var r rbacv1.ClusterRole // a Role has the same rules
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r); err != nil {
				t.Fatal(err)
			}
			for _, rule := range r.Rules {
				if slices.Contains(rule.Verbs, "*") || slices.Contains(rule.Resources, "*") || slices.Contains(rule.APIGroups, "*") {
					t.Errorf("%s %s grants a wildcard: %+v", o.GetKind(), o.GetName(), rule)
				}
				for _, v := range []string{"escalate", "bind", "impersonate"} {
					if slices.Contains(rule.Verbs, v) {
						t.Errorf("%s %s grants %s: %+v", o.GetKind(), o.GetName(), v, rule)
					}
				}
			}
			if o.GetName() == "stagehand-viewer-role" && o.GetLabels()["rbac.authorization.k8s.io/aggregate-to-view"] != "true" {
				t.Errorf("stagehand-viewer-role is not aggregated into view: labels %v", o.GetLabels())
			}
		}
	}
	if !roles["ClusterRole//stagehand-viewer-role"] {
		t.Error("no ClusterRole stagehand-viewer-role")
	}
	for _, o := range d.objs {
		if o.GetKind() != "ClusterRoleBinding" && o.GetKind() != "RoleBinding" {
			continue
		}
		var b rbacv1.RoleBinding
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &b); err != nil {
			t.Fatal(err)
		}
		ns := o.GetNamespace()
		if b.RoleRef.Kind == "ClusterRole" {
			ns = ""
		}
		if !roles[b.RoleRef.Kind+"/"+ns+"/"+b.RoleRef.Name] {
			t.Errorf("%s %s refers to %s %q, which the install does not have", o.GetKind(), o.GetName(), b.RoleRef.Kind, b.RoleRef.Name)
		}
	}
}

// The image `make deploy IMG=...` asks for replaces the default one, in each
// form an image reference takes.
func TestImageOverride(t *testing.T) {
	for _, img := range []string{
		"registry.example/team/stagehand:v1.2.3",
		"localhost:5000/stagehand:pr-7",
		"registry.example/stagehand@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	} {
		dep := renderDefault(t, img).manager(t)
		if got := dep.Spec.Template.Spec.Containers[0].Image; got != img {
			t.Errorf("--image=%s renders image %s", img, got)
		}
	}
	// A bare name keeps the default tag, as kustomize's images: entry does.
	if got := renderDefault(t, "stagehand").manager(t).Spec.Template.Spec.Containers[0].Image; got != "stagehand:dev" {
		t.Errorf("--image=stagehand renders image %s, want stagehand:dev", got)
	}
}

// config/samples, which `make dev` applies, renders too.
func TestSamplesRender(t *testing.T) {
	dir := filepath.Join(testenv.Root(), "config", "samples")
	objs, err := Objects(dir, "")
	if err != nil {
		t.Fatalf("config/samples does not render: %v", err)
	}
	if len(objs) == 0 {
		t.Fatal("config/samples renders no object")
	}
}

func metav1LabelSelector(dep *appsv1.Deployment) (labels.Selector, error) {
	if dep.Spec.Selector == nil {
		return labels.Nothing(), nil
	}
	return labels.SelectorFromSet(dep.Spec.Selector.MatchLabels), nil
}

// resolvePort turns a named or numbered port into a number.
func resolvePort(p intstr.IntOrString, named map[string]int32) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	return named[p.StrVal]
}

// config/components/api-tls, added to an overlay of config/default, makes
// the API serve HTTPS from the mounted Secret.
func TestAPITLSComponent(t *testing.T) {
	overlay := t.TempDir()
	rel := func(p string) string {
		r, err := filepath.Rel(overlay, filepath.Join(testenv.Root(), p))
		if err != nil {
			t.Fatal(err)
		}
		return filepath.ToSlash(r)
	}
	k := "resources:\n- " + rel("config/default") + "\ncomponents:\n- " + rel("config/components/api-tls") + "\n"
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o600); err != nil {
		t.Fatal(err)
	}
	objs, err := Objects(overlay, "")
	if err != nil {
		t.Fatalf("config/default with the api-tls component does not render: %v", err)
	}
	d := &deployment{objs: objs}
	dep := d.manager(t)
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	for _, want := range []string{"--api-tls-cert-file=/etc/stagehand/api-tls/tls.crt", "--api-tls-key-file=/etc/stagehand/api-tls/tls.key"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/etc/stagehand/api-tls" || !c.VolumeMounts[0].ReadOnly {
		t.Errorf("volumeMounts = %+v", c.VolumeMounts)
	}
	if len(pod.Volumes) != 1 || pod.Volumes[0].Name != c.VolumeMounts[0].Name || pod.Volumes[0].Secret == nil || pod.Volumes[0].Secret.SecretName != "stagehand-api-tls" {
		t.Errorf("volumes = %+v", pod.Volumes)
	}
	var svc corev1.Service
	d.get(t, "Service", namespace, "stagehand-api", &svc)
	if svc.Spec.Ports[0].Name != "https" {
		t.Errorf("the API Service's port is named %q, want https", svc.Spec.Ports[0].Name)
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("the component lost the read-only root filesystem")
	}
	// The manager's own CA goes, and with it its access to any Secret of
	// its namespace.
	for _, o := range objs {
		if o.GetLabels()["app.kubernetes.io/component"] == "api-tls" {
			t.Errorf("with the component, config/default still has %s %s (the manager's own CA)", o.GetKind(), o.GetName())
		}
	}
}

// flagValue is the value of --name=value among args, and whether it is
// there.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// apiTLSNames are the Secret, ConfigMap and Service the manager's flags
// name for its own CA.
type apiTLSNames struct{ secret, configMap, service string }

// selfSignedTLS checks that the manager runs config/default's way, HTTPS
// with a certificate from its own CA (--api-tls unset, no certificate
// files), and returns what its flags name.
func selfSignedTLS(t *testing.T, dep *appsv1.Deployment) apiTLSNames {
	t.Helper()
	args := dep.Spec.Template.Spec.Containers[0].Args
	for _, f := range []string{"api-tls", "api-tls-cert-file", "api-tls-key-file", "api-tls-namespace"} {
		if v, ok := flagValue(args, f); ok {
			t.Errorf("the manager runs with --%s=%s: config/default serves HTTPS from the manager's own CA, in its own namespace", f, v)
		}
	}
	var n apiTLSNames
	for f, v := range map[string]*string{"api-tls-secret": &n.secret, "api-tls-ca-configmap": &n.configMap, "api-tls-service": &n.service} {
		var ok bool
		if *v, ok = flagValue(args, f); !ok {
			t.Errorf("the manager runs without --%s: args %v", f, args)
		}
	}
	return n
}

// config/default serves the API over HTTPS: the manager's flags name a
// Secret and a ConfigMap config/default creates, empty, in the manager's
// namespace, and the API Service, whose port is named https; the Role that
// lets the manager use them names exactly those.
func TestAPIServesHTTPSByDefault(t *testing.T) {
	d := renderDefault(t, "")
	n := selfSignedTLS(t, d.manager(t))
	var secret corev1.Secret
	d.get(t, "Secret", namespace, n.secret, &secret)
	if len(secret.Data) > 0 || len(secret.StringData) > 0 || secret.Type != corev1.SecretTypeOpaque {
		t.Errorf("the Secret %s is not created empty and Opaque (the manager fills it): type %q, %d keys", n.secret, secret.Type, len(secret.Data)+len(secret.StringData))
	}
	var cm corev1.ConfigMap
	d.get(t, "ConfigMap", namespace, n.configMap, &cm)
	if len(cm.Data) > 0 {
		t.Errorf("the ConfigMap %s is not created empty: %v", n.configMap, cm.Data)
	}
	var svc corev1.Service
	d.get(t, "Service", namespace, n.service, &svc)
	if svc.Spec.Ports[0].Name != "https" {
		t.Errorf("the API Service's port is named %q, want https", svc.Spec.Ports[0].Name)
	}
	var role rbacv1.Role
	d.get(t, "Role", namespace, "stagehand-api-tls-role", &role)
	names := map[string][]string{}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			names[res] = append(names[res], r.ResourceNames...)
		}
	}
	if !slices.Equal(names["secrets"], []string{n.secret}) || !slices.Equal(names["configmaps"], []string{n.configMap}) {
		t.Errorf("the Role stagehand-api-tls-role names %v, want secrets %s and configmaps %s alone", names, n.secret, n.configMap)
	}
}
