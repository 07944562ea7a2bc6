package main

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/stagehand-dev/stagehand/hack/manifests"
)

// ChartName is the chart's name, and the name its helpers are defined under.
const ChartName = "stagehand"

// ProjectURL is where stagehand's source, and so dist/, is published.
const ProjectURL = "https://github.com/stagehand-dev/stagehand"

// The labels the chart sets on every object (stagehand.labels in
// _helpers.tpl). config/'s own value of any of them gives way.
var helmLabels = []string{
	"helm.sh/chart",
	"app.kubernetes.io/managed-by",
	"app.kubernetes.io/version",
	"app.kubernetes.io/instance",
}

// The chart's hand-written files: helpers, the optional objects config/ does
// not have (the cert-manager Certificate, the ServiceMonitor), the values'
// schema, and the templates of Chart.yaml, values.yaml and NOTES.txt.
//
//go:embed all:files
var static embed.FS

// generator turns config/default's objects into the chart's files.
type generator struct {
	t *templater
	// prefix is config/default's namePrefix (stagehand-).
	prefix string
	// names maps each object name config/default renders to the template
	// expression that names it in the chart.
	names map[string]string
	// d holds what values.yaml's defaults and the generated helpers take
	// from config/default.
	d defaults
	// selfSigned are the objects (by key) of the manager's own CA, which
	// config/default has and config/components/api-tls removes: rendered
	// only when the certificate is the manager's own.
	selfSigned map[string]bool
	// withFiles is config/default's Deployment with
	// config/components/api-tls: the manager serving a certificate of the
	// user's (api.tls.secretName, api.tls.certManager).
	withFiles *unstructured.Unstructured
	// optional are the objects (by key) an optionalComponent adds to
	// config/default, with the condition that renders them.
	optional map[string]string
	// clusterWide are the objects (by key) config/components/namespaced
	// removes: the manager's cluster-wide role, rendered only when
	// watchNamespaces is empty.
	clusterWide map[string]bool
	// perNamespace are config/rbac/namespaced's objects (by key), rendered
	// once in each of watchNamespaces.
	perNamespace map[string]bool
}

// watchNamespaces is the value that makes the install namespaced: the
// manager's --watch-namespaces, with config/components/namespaced and one
// config/rbac/namespaced per namespace.
const watchNamespaces = "$.Values.watchNamespaces"

// namespacedInstall takes from config/default with
// config/components/namespaced the objects the component removes (in
// g.clusterWide) and adds (in g.optional, under watchNamespaces), and adds
// config/rbac/namespaced's objects (in g.perNamespace): what the chart
// renders instead of the cluster-wide role when watchNamespaces is set.
func (g *generator) namespacedInstall(root string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	with, err := manifests.Objects(filepath.Join(root, "config", "default"), "", filepath.Join(root, "config", "components", "namespaced"))
	if err != nil {
		return nil, err
	}
	added := map[string]*unstructured.Unstructured{}
	for _, o := range with {
		added[objectKey(o)] = o
	}
	g.clusterWide = map[string]bool{}
	for _, o := range objs {
		k := objectKey(o)
		if _, ok := g.optional[k]; ok {
			continue // an optional component's, not config/default's
		}
		other, ok := added[k]
		delete(added, k)
		switch {
		case !ok:
			g.clusterWide[k] = true
		case !reflect.DeepEqual(o.Object, other.Object):
			return nil, fmt.Errorf("config/components/namespaced changes %s, which the chart does not template: it may only remove and add objects", k)
		}
	}
	if len(g.clusterWide) == 0 || len(added) == 0 {
		return nil, fmt.Errorf("config/components/namespaced must remove the manager's cluster-wide role and add one for cluster-scoped kinds: the chart's watchNamespaces switches between the two")
	}
	out := slices.Clone(objs)
	keys := make([]string, 0, len(added))
	for k := range added {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g.optional[k] = watchNamespaces
		out = append(out, added[k])
	}
	each, err := manifests.Objects(filepath.Join(root, "config", "rbac", "namespaced"), "")
	if err != nil {
		return nil, err
	}
	g.perNamespace = map[string]bool{}
	for _, o := range each {
		if o.GetNamespace() != "" {
			return nil, fmt.Errorf("config/rbac/namespaced's %s has a namespace: the chart puts it in each of watchNamespaces", objectKey(o))
		}
		g.perNamespace[objectKey(o)] = true
		out = append(out, o)
	}
	return out, nil
}

// optionalComponents are the components of config/components that only add
// objects to config/default, each rendered by the chart when a value is
// set: the value offers what an overlay with the component does.
var optionalComponents = []struct{ dir, value string }{
	// A BlueprintExport with secrets: Inline writes Secrets.
	{"blueprint-secrets", "$.Values.blueprints.inlineSecrets"},
}

// optionalComponents renders config/default with each optional component,
// and returns config/default's objects with those the components add,
// which it records in g.optional. A component that changes an object of
// config/default rather than adding one is refused: the chart templates
// additions only.
func (g *generator) optionalComponents(root string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	base := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		base[objectKey(o)] = o
	}
	g.optional = map[string]string{}
	out := slices.Clone(objs)
	for _, c := range optionalComponents {
		dir := filepath.Join(root, "config", "components", c.dir)
		with, err := manifests.Objects(filepath.Join(root, "config", "default"), "", dir)
		if err != nil {
			return nil, err
		}
		for _, o := range with {
			k := objectKey(o)
			switch old, ok := base[k]; {
			case !ok:
				if _, dup := g.optional[k]; dup {
					return nil, fmt.Errorf("two optional components add %s", k)
				}
				g.optional[k] = c.value
				out = append(out, o)
			case !reflect.DeepEqual(old.Object, o.Object):
				return nil, fmt.Errorf("config/components/%s changes %s, which the chart does not template: an optional component may only add objects", c.dir, k)
			}
		}
	}
	return out, nil
}

// defaults is what config/default says, that values.yaml offers to change.
type defaults struct {
	Version, AppVersion string
	ImageRepository     string
	PullPolicy          string
	Replicas            int64
	LeaderElection      bool
	LogLevel            string
	Resources           any
	NodeSelector        any
	Tolerations         any
	Affinity            any
	ImagePullSecrets    any
	APITLS              bool
	APIServiceType      string
	APIServicePort      int64
	Metrics             bool

	// For the generated helpers.
	ManagerSuffix, APIServiceSuffix, APITLSSecretSuffix        string
	APICAConfigMapSuffix                                       string
	MetricsServiceSuffix, MetricsPortName, MetricsReaderSuffix string
	ViewerRoleSuffix                                           string
	MetricsServiceLabels                                       map[string]string
	NamespaceLabels                                            []string
}

// Chart returns the chart's files, by their path in the chart directory.
func Chart(root, version string) (map[string][]byte, error) {
	objs, withFiles, err := render(root)
	if err != nil {
		return nil, err
	}
	prefix, err := namePrefix(filepath.Join(root, "config", "default"))
	if err != nil {
		return nil, err
	}
	g := &generator{t: &templater{}, prefix: prefix, names: map[string]string{}}
	g.d.Version, g.d.AppVersion = version, "v"+version
	g.d.ImageRepository, _ = splitImage(manifests.Image)
	if err := g.apiTLS(objs, withFiles); err != nil {
		return nil, err
	}
	if objs, err = g.optionalComponents(root, objs); err != nil {
		return nil, err
	}
	if objs, err = g.namespacedInstall(root, objs); err != nil {
		return nil, err
	}

	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			continue
		}
		name := o.GetName()
		if o.GetKind() == "Namespace" {
			g.names[name] = "{{ $.Release.Namespace }}"
			for k, v := range o.GetLabels() {
				if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
					g.d.NamespaceLabels = append(g.d.NamespaceLabels, k+"="+v)
				}
			}
			sort.Strings(g.d.NamespaceLabels)
			continue
		}
		suffix, err := g.suffix(name)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.GetKind(), name, err)
		}
		g.names[name] = resourceName(suffix)
		if o.GetKind() == "ClusterRole" && o.GetLabels()["rbac.authorization.k8s.io/aggregate-to-view"] == "true" {
			g.d.ViewerRoleSuffix = suffix
		}
		if o.GetKind() == "ClusterRole" && grantsMetrics(o) {
			g.d.MetricsReaderSuffix = suffix
		}
	}

	files := map[string][]byte{}
	paths := map[string][]*unstructured.Unstructured{}
	texts := map[*unstructured.Unstructured]string{}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			// A chart installs into the release's namespace, which Helm
			// (--create-namespace) or its user creates.
			continue
		}
		text, err := g.object(o)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
		}
		texts[o] = text
		p := g.path(o, false)
		paths[p] = append(paths[p], o)
	}
	for base, same := range paths {
		for _, o := range same {
			p := base
			if len(same) > 1 {
				p = g.path(o, true)
			}
			if _, dup := files[p]; dup {
				return nil, fmt.Errorf("two objects would be written to %s", p)
			}
			files[p] = []byte(texts[o])
		}
	}
	if err := g.complete(); err != nil {
		return nil, err
	}

	// The hand-written files, and the ones made from config/default's
	// defaults.
	err = fs.WalkDir(static, "files", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		out := strings.TrimPrefix(p, "files/")
		if strings.HasSuffix(out, ".gotmpl") {
			out = strings.TrimSuffix(out, ".gotmpl")
			if b, err = g.execute(out, b); err != nil {
				return err
			}
		}
		if _, dup := files[out]; dup {
			return fmt.Errorf("%s is both generated from config/default and hand-written", out)
		}
		files[out] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// render renders config/default, the chart's source, and config/default
// with config/components/api-tls, from which the chart takes what differs
// when the API serves a certificate of the user's instead of one from the
// manager's own CA.
func render(root string) (objs, withFiles []*unstructured.Unstructured, err error) {
	dir := filepath.Join(root, "config", "default")
	if objs, err = manifests.Objects(dir, ""); err != nil {
		return nil, nil, err
	}
	withFiles, err = manifests.Objects(dir, "", filepath.Join(root, "config", "components", "api-tls"))
	return objs, withFiles, err
}

// objectKey identifies an object among config/default's.
func objectKey(o *unstructured.Unstructured) string {
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// apiTLS compares config/default with config/components/api-tls added: the
// objects the component removes are the manager's own CA's (one of them
// the ConfigMap its CA is published in), and the Deployment is the only
// object it changes. config/default must serve HTTPS: the chart's
// api.tls.enabled defaults to it.
func (g *generator) apiTLS(objs, withFiles []*unstructured.Unstructured) error {
	files := map[string]*unstructured.Unstructured{}
	for _, o := range withFiles {
		files[objectKey(o)] = o
	}
	g.selfSigned = map[string]bool{}
	for _, o := range objs {
		k := objectKey(o)
		other, ok := files[k]
		delete(files, k)
		switch {
		case !ok:
			g.selfSigned[k] = true
			if o.GetKind() == "ConfigMap" {
				suffix, err := g.suffix(o.GetName())
				if err != nil {
					return fmt.Errorf("the API's CA ConfigMap: %w", err)
				}
				g.d.APICAConfigMapSuffix = suffix
			}
		case o.GetKind() == "Deployment":
			g.withFiles = other
		case !reflect.DeepEqual(o.Object, other.Object):
			return fmt.Errorf("config/components/api-tls changes %s, which the chart does not template: only the Deployment may differ", k)
		}
	}
	for k := range files {
		return fmt.Errorf("config/components/api-tls adds %s, which the chart does not template", k)
	}
	if g.withFiles == nil || g.d.APICAConfigMapSuffix == "" {
		return fmt.Errorf("config/components/api-tls must change the manager's Deployment and remove the ConfigMap of its own CA: the chart's api.tls values switch between the two")
	}
	dep, err := theDeployment(objs)
	if err != nil {
		return err
	}
	c, err := managerContainer(dep.Object)
	if err != nil {
		return err
	}
	if slices.Contains(stringList(c["args"]), "--api-tls=none") {
		return fmt.Errorf("config/default serves the API over plain HTTP (--api-tls=none): the chart's api.tls.enabled defaults to config/default's HTTPS")
	}
	g.d.APITLS = true
	return nil
}

// InstallYAML returns dist/install.yaml: config/default in one file, with
// the image pinned to the release's.
func InstallYAML(root, version string) ([]byte, error) {
	repo, _ := splitImage(manifests.Image)
	b, err := manifests.Render(filepath.Join(root, "config", "default"), repo+":v"+version)
	if err != nil {
		return nil, err
	}
	header := fmt.Sprintf(`# stagehand v%[1]s: everything stagehand needs in a cluster, in one file
# (CRDs, the namespace stagehand-system, RBAC, the manager's Deployment, the
# API and metrics Services). Install or upgrade with:
#
#   kubectl apply --server-side -f %[2]s/raw/v%[1]s/dist/install.yaml
#
# Generated by `+"`make release`"+` from config/default: do not edit.
`, version, ProjectURL)
	return append([]byte(header), b...), nil
}

// namePrefix reads the namePrefix of the kustomization in dir.
func namePrefix(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return "", err
	}
	var k types.Kustomization
	if err := yaml.Unmarshal(b, &k); err != nil {
		return "", fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	if k.NamePrefix == "" {
		return "", fmt.Errorf("%s/kustomization.yaml has no namePrefix: the chart names objects <release>-<name>, and needs to know which part of config/default's names is the prefix", dir)
	}
	return k.NamePrefix, nil
}

func (g *generator) suffix(name string) (string, error) {
	s, ok := strings.CutPrefix(name, g.prefix)
	if !ok || s == "" {
		return "", fmt.Errorf("the name %q lacks config/default's prefix %q", name, g.prefix)
	}
	return s, nil
}

// resourceName is the template expression of the name of the object whose
// name in config/default is the prefix and suffix.
func resourceName(suffix string) string {
	return fmt.Sprintf(`{{ include "stagehand.resourceName" (dict "suffix" %q "context" $) }}`, suffix)
}

// path is where an object's template goes: a directory by kind, and a file
// by the name config/default gives it (with its kind when two objects share
// a name).
func (g *generator) path(o *unstructured.Unstructured, withKind bool) string {
	kind := o.GetKind()
	var dir string
	switch kind {
	case "CustomResourceDefinition":
		return path.Join("templates", "crd", o.GetName()+".yaml")
	case "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding":
		dir = "rbac"
	case "Service":
		dir = "service"
	default:
		dir = "manager"
	}
	name := strings.TrimPrefix(o.GetName(), g.prefix)
	if withKind {
		name += "-" + strings.ToLower(kind)
	}
	return path.Join("templates", dir, name+".yaml")
}

// object returns the template of one object.
func (g *generator) object(o *unstructured.Unstructured) (string, error) {
	obj := o.DeepCopy().Object
	var cond string
	switch o.GetKind() {
	case "CustomResourceDefinition":
		cond = "$.Values.crds.install"
		g.crdKeep(obj)
	default:
		g.references(obj)
		g.selectors(obj, o.GetKind())
	}
	if g.selfSigned[objectKey(o)] {
		cond = modeIs(tlsSelfSigned)
	}
	if c, ok := g.optional[objectKey(o)]; ok {
		cond = c
	}
	if g.clusterWide[objectKey(o)] {
		cond = "not " + watchNamespaces
	}
	if err := g.labels(obj); err != nil {
		return "", err
	}
	perNamespace := g.perNamespace[objectKey(o)]
	if perNamespace {
		obj["metadata"].(map[string]any)["namespace"] = g.t.inline("{{ $ns }}")
	}
	switch o.GetKind() {
	case "Deployment":
		if err := g.deployment(obj, o.GetName()); err != nil {
			return "", err
		}
	case "PodDisruptionBudget":
		// With one replica, a budget that keeps one available would block
		// every node drain.
		cond = "gt (int $.Values.replicas) 1"
	case "Service":
		switch o.GetLabels()["app.kubernetes.io/component"] {
		case "api":
			if err := g.apiService(obj, o.GetName()); err != nil {
				return "", err
			}
		case "metrics":
			if err := g.metricsService(obj, o); err != nil {
				return "", err
			}
			cond = "$.Values.metrics.enabled"
		}
	}
	body, err := g.t.literal(obj)
	if err != nil {
		return "", err
	}
	if perNamespace {
		body = "{{- range $ns := " + watchNamespaces + " }}\n---\n" + body + "{{- end }}\n"
	}
	if cond != "" {
		body = "{{- if " + cond + " }}\n" + body + "{{- end }}\n"
	}
	body, err = g.t.expand(body)
	if err != nil {
		return "", err
	}
	return generatedHeader + body, nil
}

// generatedHeader opens every template the generator writes (a template
// comment: it is not in what Helm renders).
const generatedHeader = "{{- /* Generated by `make chart` (hack/chart) from config/default: do not edit. */ -}}\n"

// references replaces each name of an object of config/default, wherever it
// is a whole value (a name, a namespace, a roleRef, a subject, a
// serviceAccountName), by the chart's name for it.
func (g *generator) references(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok {
				if expr, ok := g.names[s]; ok {
					v[k] = g.t.inline(expr)
				}
				continue
			}
			g.references(e)
		}
	case []any:
		for i, e := range v {
			if s, ok := e.(string); ok {
				if expr, ok := g.names[s]; ok {
					v[i] = g.t.inline(expr)
				}
				continue
			}
			g.references(e)
		}
	}
}

// selectors adds the release's instance label to every label selector, so
// that two releases never select each other's pods.
func (g *generator) selectors(v any, kind string) {
	sel := func(m map[string]any) {
		m[g.t.block(func(indent int) string {
			return fmt.Sprintf(`{{- include "stagehand.selectorLabels" $ | nindent %d }}`, indent)
		})] = nil
	}
	if kind == "Service" {
		if m, ok := nested(v, "spec", "selector").(map[string]any); ok {
			sel(m)
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if m, ok := e.(map[string]any); ok && k == "matchLabels" {
					sel(m)
					continue
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
}

// labels sets the chart's labels on an object, beside config/default's.
func (g *generator) labels(obj map[string]any) error {
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return fmt.Errorf("no metadata")
	}
	meta["labels"] = g.withLabels(meta["labels"], `include "stagehand.labels" $`, nil)
	return nil
}

// withLabels returns a labels map without the labels the chart sets, and
// with a block that adds them (the template expression labels), then the
// user's (the expression extra, without any label already there).
func (g *generator) withLabels(v any, labels string, extra *string) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	for _, k := range helmLabels {
		delete(m, k)
	}
	var omit []string
	for k := range m {
		omit = append(omit, strconv.Quote(k))
	}
	for _, k := range helmLabels {
		omit = append(omit, strconv.Quote(k))
	}
	sort.Strings(omit)
	m[g.t.block(func(indent int) string {
		s := fmt.Sprintf("{{- %s | nindent %d }}", labels, indent)
		if extra != nil {
			s += fmt.Sprintf("\n{{- with omit %s %s }}\n{{- toYaml . | nindent %d }}\n{{- end }}", *extra, strings.Join(omit, " "), indent)
		}
		return s
	})] = nil
	return m
}

// crdKeep annotates a CRD so that `helm uninstall` leaves it, and with it
// every stagehand object, unless crds.keep is false.
func (g *generator) crdKeep(obj map[string]any) {
	meta := obj["metadata"].(map[string]any)
	if ann, ok := meta["annotations"].(map[string]any); ok && len(ann) > 0 {
		ann[g.t.block(func(int) string {
			return "{{- if $.Values.crds.keep }}\nhelm.sh/resource-policy: keep\n{{- end }}"
		})] = nil
		return
	}
	meta[g.t.block(func(int) string {
		return "{{- if $.Values.crds.keep }}\nannotations:\n  helm.sh/resource-policy: keep\n{{- end }}"
	})] = nil
}

// withBlock is the block of an optional field: key: value, when the value
// (a template expression) is not empty.
func withBlock(key, value string) func(int) string {
	return func(indent int) string {
		return fmt.Sprintf("{{- with %s }}\n%s:\n  {{- toYaml . | nindent %d }}\n{{- end }}", value, key, indent+2)
	}
}

// deployment templates the manager's Deployment: replicas, pod labels and
// annotations, scheduling, the image, resources and the manager's flags.
func (g *generator) deployment(obj map[string]any, name string) error {
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := nested(obj, "spec", "template").(map[string]any)
	podSpec, _ := nested(obj, "spec", "template", "spec").(map[string]any)
	if spec == nil || tmpl == nil || podSpec == nil {
		return fmt.Errorf("no pod template")
	}
	suffix, err := g.suffix(name)
	if err != nil {
		return err
	}
	g.d.ManagerSuffix = suffix

	replicas, ok := toInt(spec["replicas"])
	if !ok {
		return fmt.Errorf("replicas is not set: the chart's default comes from config/default")
	}
	g.d.Replicas = replicas
	spec["replicas"] = g.t.inline("{{ $.Values.replicas }}")

	meta, _ := tmpl["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		tmpl["metadata"] = meta
	}
	podLabels, podAnnotations := "$.Values.podLabels", "$.Values.podAnnotations"
	meta["labels"] = g.withLabels(meta["labels"], `include "stagehand.labels" $`, &podLabels)
	ann, _ := meta["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
	}
	var omit []string
	for k := range ann {
		omit = append(omit, strconv.Quote(k))
	}
	sort.Strings(omit)
	ann[g.t.block(func(indent int) string {
		return fmt.Sprintf("{{- with omit %s %s }}\n{{- toYaml . | nindent %d }}\n{{- end }}", podAnnotations, strings.Join(omit, " "), indent)
	})] = nil
	meta["annotations"] = ann

	// Scheduling and pull secrets: config/default's, unless values say
	// otherwise.
	for _, f := range []struct {
		key string
		def *any
		nul any
	}{
		{"nodeSelector", &g.d.NodeSelector, map[string]any{}},
		{"tolerations", &g.d.Tolerations, []any{}},
		{"affinity", &g.d.Affinity, map[string]any{}},
		{"imagePullSecrets", &g.d.ImagePullSecrets, []any{}},
	} {
		*f.def = f.nul
		if v, ok := podSpec[f.key]; ok {
			*f.def = v
		}
		delete(podSpec, f.key)
		podSpec[g.t.block(withBlock(f.key, "$.Values."+f.key))] = nil
	}

	c, err := managerContainer(obj)
	if err != nil {
		return err
	}
	img, ok := c["image"].(string)
	if !ok {
		return fmt.Errorf("the manager container has no image")
	}
	if repo, _ := splitImage(img); repo != g.d.ImageRepository {
		return fmt.Errorf("the manager's image is %s, not %s's repository %s", img, manifests.Image, g.d.ImageRepository)
	}
	c["image"] = g.t.inline(`{{ include "stagehand.image" $ | quote }}`)
	g.d.PullPolicy = "IfNotPresent"
	if p, ok := c["imagePullPolicy"].(string); ok {
		g.d.PullPolicy = p
	}
	c["imagePullPolicy"] = g.t.inline("{{ $.Values.image.pullPolicy }}")

	g.d.Resources = map[string]any{}
	if r, ok := c["resources"]; ok {
		g.d.Resources = r
	}
	delete(c, "resources")
	c[g.t.block(func(indent int) string {
		return fmt.Sprintf("resources:\n  {{- toYaml $.Values.resources | nindent %d }}", indent+2)
	})] = nil

	files := g.withFiles.DeepCopy().Object
	filesPod, _ := nested(files, "spec", "template", "spec").(map[string]any)
	filesContainer, err := managerContainer(files)
	if err != nil {
		return err
	}
	tlsPaths, err := g.args(c, filesContainer)
	if err != nil {
		return err
	}
	return g.tlsVolumes(podSpec, c, filesPod, filesContainer, tlsPaths)
}

// The chart's three ways to serve the API (stagehand.apiTLSMode in
// _helpers.tpl): the manager's own CA (config/default), the certificate of
// a Secret of the user's (config/components/api-tls), plain HTTP.
const (
	tlsSelfSigned = "self-signed"
	tlsSecret     = "secret"
	tlsNone       = "none"
)

// modeIs is the template condition that the API serves its certificate
// that way.
func modeIs(mode string) string {
	return fmt.Sprintf(`eq (include "stagehand.apiTLSMode" $) %q`, mode)
}

// args templates the manager's flags that values set, keeps the others as
// config/default has them, and appends extraArgs. The API's TLS flags
// (--api-tls...) are config/default's, the component's (files), or
// --api-tls=none, by api.tls; a flag whose value is the name of an object
// of config/default follows the chart's name for it. It returns the files
// the component's TLS flags name.
func (g *generator) args(c, files map[string]any) ([]string, error) {
	var out []any
	var selfSigned, withFiles []any
	var tlsPaths []string
	tlsAt := -1
	seen := map[string]bool{}
	for _, a := range stringList(files["args"]) {
		if isTLSFlag(a) {
			withFiles = append(withFiles, g.flag(a))
			if _, val, ok := strings.Cut(a, "="); ok {
				tlsPaths = append(tlsPaths, val)
			}
		}
	}
	for _, a := range stringList(c["args"]) {
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		seen[name] = true
		switch {
		case name == "leader-elect":
			on := true
			if hasVal {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", a, err)
				}
				on = b
			}
			g.d.LeaderElection = on
			out = append(out, g.t.inline("{{ if $.Values.leaderElection.enabled }}--leader-elect{{ else }}--leader-elect=false{{ end }}"))
		case name == "metrics-bind-address":
			addr := val
			g.d.Metrics = val != "0" && val != ""
			if !g.d.Metrics {
				port, ok := containerPort(c, "metrics")
				if !ok {
					return nil, fmt.Errorf("config/default turns metrics off (%s) and names no container port metrics: the chart cannot tell where to serve them when metrics.enabled is true", a)
				}
				addr = fmt.Sprintf(":%d", port)
			}
			out = append(out, g.t.inline("--metrics-bind-address={{ if $.Values.metrics.enabled }}"+escape(addr)+"{{ else }}0{{ end }}"))
		case name == "watch-namespaces":
			return nil, fmt.Errorf("config/default passes %s: the chart's watchNamespaces (empty by default) sets it", a)
		case name == "zap-log-level":
			g.d.LogLevel = val
			out = append(out, g.t.inline("--zap-log-level={{ $.Values.logLevel }}"))
		case isTLSFlag(a):
			if tlsAt < 0 {
				tlsAt = len(out)
				out = append(out, nil)
			}
			selfSigned = append(selfSigned, g.flag(a))
		default:
			out = append(out, a)
		}
	}
	nonTLS := func(args []string) []string {
		return slices.DeleteFunc(slices.Clone(args), isTLSFlag)
	}
	if !slices.Equal(nonTLS(stringList(c["args"])), nonTLS(stringList(files["args"]))) {
		return nil, fmt.Errorf("config/components/api-tls changes the manager's flags other than --api-tls...: %v, then %v", c["args"], files["args"])
	}
	if !seen["metrics-bind-address"] {
		return nil, fmt.Errorf("the manager runs without --metrics-bind-address: the chart's metrics.enabled needs config/default to say where metrics are served")
	}
	if !seen["leader-elect"] {
		g.d.LeaderElection = false
		out = append(out, g.t.inline("{{ if $.Values.leaderElection.enabled }}--leader-elect{{ else }}--leader-elect=false{{ end }}"))
	}
	if !seen["zap-log-level"] {
		g.d.LogLevel = "info" // the manager's own default
		out = append(out, g.t.inline("--zap-log-level={{ $.Values.logLevel }}"))
	}
	if tlsAt < 0 || len(withFiles) == 0 {
		return nil, fmt.Errorf("config/default (%v), or config/default with config/components/api-tls (%v), passes the manager no --api-tls flag", c["args"], files["args"])
	}
	self, err := g.t.literal(selfSigned)
	if err != nil {
		return nil, err
	}
	secret, err := g.t.literal(withFiles)
	if err != nil {
		return nil, err
	}
	none, err := g.t.literal([]any{"--api-tls=" + tlsNone})
	if err != nil {
		return nil, err
	}
	out[tlsAt] = g.t.block(func(int) string {
		return "{{- if " + modeIs(tlsSelfSigned) + " }}\n" + self +
			"{{- else if " + modeIs(tlsSecret) + " }}\n" + secret +
			"{{- else }}\n" + none + "{{- end }}"
	})
	out = append(out, g.t.block(func(indent int) string {
		return fmt.Sprintf("{{- with %s }}\n{{- list (printf \"--watch-namespaces=%%s\" (join \",\" .)) | toYaml | nindent %d }}\n{{- end }}", watchNamespaces, indent)
	}))
	out = append(out, g.t.block(func(indent int) string {
		return fmt.Sprintf("{{- with $.Values.extraArgs }}\n{{- toYaml . | nindent %d }}\n{{- end }}", indent)
	}))
	c["args"] = out
	return tlsPaths, nil
}

// flag is a flag as the chart passes it: when its value is the name of an
// object of config/default (--api-tls-secret=stagehand-api-certs), the
// chart's name for that object.
func (g *generator) flag(a string) any {
	name, val, ok := strings.Cut(a, "=")
	if expr, known := g.names[val]; ok && known {
		return g.t.inline(escape(name+"=") + expr)
	}
	return a
}

// tlsVolumes gives the pod the volumes and mounts that hold the user's
// certificate (those the component adds, where the files of its TLS flags
// are) when api.tls says the certificate is a Secret's, and names their
// Secret after api.tls.secretName.
func (g *generator) tlsVolumes(podSpec, c, filesPod, filesContainer map[string]any, paths []string) error {
	names := map[string]bool{}
	for _, m := range mapList(filesContainer["volumeMounts"]) {
		mp, _ := m["mountPath"].(string)
		for _, p := range paths {
			if mp != "" && strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/") {
				names[m["name"].(string)] = true
			}
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("no volume is mounted where the API's certificate is read (%v)", paths)
	}
	for _, m := range mapList(c["volumeMounts"]) {
		if names[m["name"].(string)] {
			return fmt.Errorf("config/default mounts the volume %s, which config/components/api-tls adds for the API's certificate", m["name"])
		}
	}
	for _, v := range mapList(filesPod["volumes"]) {
		if !names[v["name"].(string)] {
			continue
		}
		secret, _ := v["secret"].(map[string]any)
		name, _ := secret["secretName"].(string)
		if name == "" {
			return fmt.Errorf("volume %s holds the API's certificate but is not a Secret: the chart's api.tls.secretName cannot name it", v["name"])
		}
		suffix, err := g.suffix(name)
		if err != nil {
			return fmt.Errorf("the API's TLS Secret: %w", err)
		}
		g.d.APITLSSecretSuffix = suffix
		secret["secretName"] = g.t.inline(`{{ include "stagehand.apiTLSSecretName" $ }}`)
		podSpec["volumes"] = append(mapItems(podSpec["volumes"]), v)
	}
	if g.d.APITLSSecretSuffix == "" {
		return fmt.Errorf("no volume of the pod is named %v", names)
	}
	for _, m := range mapList(filesContainer["volumeMounts"]) {
		if names[m["name"].(string)] {
			c["volumeMounts"] = append(mapItems(c["volumeMounts"]), m)
		}
	}
	match := func(m map[string]any) bool { return names[m["name"].(string)] }
	if err := g.conditionalItems(c, "volumeMounts", match, modeIs(tlsSecret)); err != nil {
		return err
	}
	return g.conditionalItems(podSpec, "volumes", match, modeIs(tlsSecret))
}

// mapItems is a list field's items, or none.
func mapItems(v any) []any {
	l, _ := v.([]any)
	return l
}

// conditionalItems puts the items of the list m[key] that match inside
// `if cond`: the whole field when all of them match.
func (g *generator) conditionalItems(m map[string]any, key string, match func(map[string]any) bool, cond string) error {
	var keep, some []any
	for _, item := range mapList(m[key]) {
		if match(item) {
			some = append(some, item)
		} else {
			keep = append(keep, item)
		}
	}
	if len(some) == 0 {
		return fmt.Errorf("%s: nothing to make conditional", key)
	}
	lit, err := g.t.literal(some)
	if err != nil {
		return err
	}
	if len(keep) == 0 {
		delete(m, key)
		m[g.t.block(func(int) string { return "{{- if " + cond + " }}\n" + key + ":\n" + lit + "{{- end }}" })] = nil
		return nil
	}
	m[key] = append(keep, g.t.block(func(int) string { return "{{- if " + cond + " }}\n" + lit + "{{- end }}" }))
	return nil
}

// apiService templates the API's Service: its type, port, and the port's
// name, https when the API serves HTTPS.
func (g *generator) apiService(obj map[string]any, name string) error {
	suffix, err := g.suffix(name)
	if err != nil {
		return err
	}
	g.d.APIServiceSuffix = suffix
	spec, _ := obj["spec"].(map[string]any)
	ports := mapList(spec["ports"])
	if len(ports) != 1 {
		return fmt.Errorf("the API's Service has %d ports, want 1", len(ports))
	}
	g.d.APIServiceType = "ClusterIP"
	if t, ok := spec["type"].(string); ok {
		g.d.APIServiceType = t
	}
	spec["type"] = g.t.inline("{{ $.Values.api.service.type }}")
	port, ok := toInt(ports[0]["port"])
	if !ok {
		return fmt.Errorf("the API's Service has no port number")
	}
	g.d.APIServicePort = port
	ports[0]["port"] = g.t.inline("{{ $.Values.api.service.port }}")
	ports[0]["name"] = g.t.inline(`{{ if $.Values.api.tls.enabled }}https{{ else }}http{{ end }}`)
	return nil
}

// metricsService records what the ServiceMonitor needs to select the
// metrics Service and scrape its port.
func (g *generator) metricsService(obj map[string]any, o *unstructured.Unstructured) error {
	suffix, err := g.suffix(o.GetName())
	if err != nil {
		return err
	}
	g.d.MetricsServiceSuffix = suffix
	ports := mapList(nested(obj, "spec", "ports"))
	if len(ports) != 1 {
		return fmt.Errorf("the metrics Service has %d ports, want 1", len(ports))
	}
	g.d.MetricsPortName, _ = ports[0]["name"].(string)
	if g.d.MetricsPortName == "" {
		return fmt.Errorf("the metrics Service's port has no name, which a ServiceMonitor needs")
	}
	g.d.MetricsServiceLabels = map[string]string{}
	for k, v := range o.GetLabels() {
		if !slices.Contains(helmLabels, k) {
			g.d.MetricsServiceLabels[k] = v
		}
	}
	return nil
}

// complete checks that config/default had everything the chart's values
// and helpers refer to.
func (g *generator) complete() error {
	for what, v := range map[string]string{
		"a Deployment (the manager)":                             g.d.ManagerSuffix,
		"a Service labelled app.kubernetes.io/component=api":     g.d.APIServiceSuffix,
		"a Service labelled app.kubernetes.io/component=metrics": g.d.MetricsServiceSuffix,
		"a ClusterRole aggregated into view (the viewer role)":   g.d.ViewerRoleSuffix,
		"a ClusterRole that allows getting /metrics":             g.d.MetricsReaderSuffix,
	} {
		if v == "" {
			return fmt.Errorf("config/default has no %s", what)
		}
	}
	return nil
}

// execute runs one of the chart's Go templates (Chart.yaml, values.yaml,
// _config.tpl) on config/default's defaults. Its delimiters are [[ ]], so
// that Helm's {{ }} pass through.
func (g *generator) execute(name string, text []byte) ([]byte, error) {
	t, err := template.New(name).Delims("[[", "]]").Funcs(template.FuncMap{
		"yaml":  yamlBlock,
		"quote": strconv.Quote,
	}).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, g.d); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b.Bytes(), nil
}

// yamlBlock writes v as the value of a YAML key at the given indentation:
// inline when empty ({} or []), else on the following lines.
func yamlBlock(indent int, v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "{}" || s == "[]" {
		return " " + s, nil
	}
	return "\n" + indentLines(s, indent), nil
}

// grantsMetrics tells whether a role allows getting /metrics, and nothing
// else: the role to bind Prometheus to.
func grantsMetrics(o *unstructured.Unstructured) bool {
	rules := mapList(o.Object["rules"])
	for _, r := range rules {
		if !slices.Equal(stringList(r["nonResourceURLs"]), []string{"/metrics"}) || !slices.Equal(stringList(r["verbs"]), []string{"get"}) {
			return false
		}
	}
	return len(rules) > 0
}

// theDeployment is config/default's one Deployment, the manager's.
func theDeployment(objs []*unstructured.Unstructured) (*unstructured.Unstructured, error) {
	var dep *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			if dep != nil {
				return nil, fmt.Errorf("config/default has two Deployments, %s and %s: the chart knows one, the manager's", dep.GetName(), o.GetName())
			}
			dep = o
		}
	}
	if dep == nil {
		return nil, fmt.Errorf("config/default has no Deployment")
	}
	return dep, nil
}

// managerContainer is the container named manager of a Deployment.
func managerContainer(obj map[string]any) (map[string]any, error) {
	for _, c := range mapList(nested(obj, "spec", "template", "spec", "containers")) {
		if c["name"] == "manager" {
			return c, nil
		}
	}
	return nil, fmt.Errorf("the Deployment has no container named manager")
}

func containerPort(c map[string]any, name string) (int64, bool) {
	for _, p := range mapList(c["ports"]) {
		if p["name"] == name {
			return toInt(p["containerPort"])
		}
	}
	return 0, false
}

// toInt reads a whole number of a decoded object (JSON numbers decode as
// float64).
func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), n == float64(int64(n))
	}
	return 0, false
}

// isTLSFlag tells whether a manager flag is about the API's TLS.
func isTLSFlag(a string) bool {
	return a == "--api-tls" || strings.HasPrefix(a, "--api-tls=") || strings.HasPrefix(a, "--api-tls-")
}

// splitImage splits an image reference into its repository and its tag or
// digest.
func splitImage(img string) (repo, ref string) {
	if r, digest, ok := strings.Cut(img, "@"); ok {
		return r, digest
	}
	if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
		return img[:i], img[i+1:]
	}
	return img, ""
}

func nested(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func mapList(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
