package helm

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/stagehand-dev/stagehand/hack/manifests"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

var (
	chartDir    = filepath.Join(testenv.Root(), "dist", "chart")
	installYAML = filepath.Join(testenv.Root(), "dist", "install.yaml")
)

// The labels the chart adds to config/default's, on every object, and the
// one it adds to every selector.
var (
	helmLabels    = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version", "app.kubernetes.io/instance"}
	instanceLabel = "app.kubernetes.io/instance"
)

// rendered is what `helm template RELEASE dist/chart -n NAMESPACE` prints.
type rendered struct {
	manifest string
	notes    string
	objs     []*unstructured.Unstructured
}

// loadChart loads dist/chart as Helm does.
func loadChart(t *testing.T) *chartv2.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading %s (run `make chart`): %v", chartDir, err)
	}
	return ch
}

// template renders the chart as `helm template RELEASE dist/chart -n
// NAMESPACE -f values` does, with values (YAML) over the chart's: the
// install action's steps without its cluster plumbing (which would pull
// kubectl into this module): values checked against values.schema.json and
// merged, the templates rendered by Helm's engine, NOTES.txt set apart, the
// manifests split from hooks and sorted in install order.
func template(t *testing.T, release, namespace, values string) (*rendered, error) {
	t.Helper()
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(values), &vals); err != nil {
		t.Fatalf("values %q: %v", values, err)
	}
	ch := loadChart(t)
	caps := common.DefaultCapabilities.Copy()
	opts := common.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	top, err := util.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, false)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return nil, err
	}
	notes := files[path.Join(ch.Name(), "templates", "NOTES.txt")]
	delete(files, path.Join(ch.Name(), "templates", "NOTES.txt"))
	hooks, ms, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	if len(hooks) > 0 {
		t.Errorf("the chart has hooks (%s): stagehand's chart installs everything as ordinary objects", hooks[0].Path)
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	objs, err := manifests.Decode([]byte(b.String()))
	if err != nil {
		t.Fatalf("the rendered chart is not YAML: %v\n%s", err, b.String())
	}
	return &rendered{manifest: b.String(), notes: notes, objs: objs}, nil
}

// mustTemplate is template for values the chart must accept.
func mustTemplate(t *testing.T, release, namespace, values string) *rendered {
	t.Helper()
	r, err := template(t, release, namespace, values)
	if err != nil {
		t.Fatalf("helm template %s -n %s with values %q: %v", release, namespace, values, err)
	}
	return r
}

// find returns the object of kind named name, or nil.
func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// get converts the object of kind named name into out, failing the test if
// there is none.
func get(t *testing.T, objs []*unstructured.Unstructured, kind, name string, out any) {
	t.Helper()
	o := find(objs, kind, name)
	if o == nil {
		t.Fatalf("no %s %q among\n%s", kind, name, list(objs))
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
		t.Fatalf("%s %s: %v", kind, name, err)
	}
}

// ofKind returns the objects of one kind.
func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func list(objs []*unstructured.Unstructured) string {
	var b strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&b, "  %s %s/%s\n", o.GetKind(), o.GetNamespace(), o.GetName())
	}
	return b.String()
}

// key identifies an object in a comparison.
func key(o *unstructured.Unstructured) string {
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}

// configDefault renders config/default (with components) as `make deploy`
// does, with the image the chart runs by default.
func configDefault(t *testing.T, components ...string) []*unstructured.Unstructured {
	t.Helper()
	var abs []string
	for _, c := range components {
		abs = append(abs, filepath.Join(testenv.Root(), c))
	}
	objs, err := manifests.Objects(filepath.Join(testenv.Root(), "config", "default"), chartImage(t), abs...)
	if err != nil {
		t.Fatalf("config/default does not render: %v", err)
	}
	return objs
}

// chartImage is the image the chart runs by default: its repository at its
// appVersion.
func chartImage(t *testing.T) string {
	t.Helper()
	ch := loadChart(t)
	repo := nestedString(ch.Values, "image", "repository")
	if repo == "" || ch.Metadata.AppVersion == "" {
		t.Fatalf("the chart has no image.repository (%q) or appVersion (%q)", repo, ch.Metadata.AppVersion)
	}
	return repo + ":" + ch.Metadata.AppVersion
}

func nestedString(m map[string]any, keys ...string) string {
	s, _, _ := unstructured.NestedString(m, keys...)
	return s
}

// readInstallYAML decodes dist/install.yaml.
func readInstallYAML(t *testing.T) ([]byte, []*unstructured.Unstructured) {
	t.Helper()
	b, err := os.ReadFile(installYAML)
	if err != nil {
		t.Fatalf("reading %s (run `make release`): %v", installYAML, err)
	}
	objs, err := manifests.Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", installYAML, err)
	}
	return b, objs
}

// normalize removes from a copy of an object what the chart adds to
// config/default's (its labels, the instance in selectors, the CRDs'
// keep annotation, the manager's log level flag and image pull policy, both
// set to what the manager and the API server would assume), so that the two
// compare equal when the chart renders config/default faithfully.
func normalize(o *unstructured.Unstructured) map[string]any {
	c := o.DeepCopy()
	dropLabels := func(path ...string) {
		m, ok, _ := unstructured.NestedStringMap(c.Object, path...)
		if !ok {
			return
		}
		for _, k := range helmLabels {
			delete(m, k)
		}
		_ = unstructured.SetNestedStringMap(c.Object, m, path...)
	}
	dropLabels("metadata", "labels")
	dropLabels("spec", "template", "metadata", "labels")
	if c.GetKind() == "Service" {
		dropLabels("spec", "selector")
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if m, ok := e.(map[string]any); ok && k == "matchLabels" {
					delete(m, instanceLabel)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(c.Object)
	ann := c.GetAnnotations()
	delete(ann, "helm.sh/resource-policy")
	if len(ann) == 0 {
		ann = nil
	}
	c.SetAnnotations(ann)
	if c.GetKind() == "Deployment" {
		containers, _, _ := unstructured.NestedSlice(c.Object, "spec", "template", "spec", "containers")
		for _, e := range containers {
			ctr := e.(map[string]any)
			if ctr["imagePullPolicy"] == "IfNotPresent" {
				delete(ctr, "imagePullPolicy")
			}
			if args, ok := ctr["args"].([]any); ok {
				ctr["args"] = slices.DeleteFunc(slices.Clone(args), func(a any) bool { return a == "--zap-log-level=info" })
			}
		}
		_ = unstructured.SetNestedSlice(c.Object, containers, "spec", "template", "spec", "containers")
	}
	return c.Object
}
