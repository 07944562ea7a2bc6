package v1alpha1_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// TestCRDSchemasAreBounded walks the generated CRDs (config/crd/bases) and
// proves that no manifest can make a stagehand object unbounded, and that
// `kubectl explain` has something to say about every field:
//
//   - every property has a description;
//   - every string in spec has a maxLength or an enum (patterns alone do not
//     bound a length);
//   - every array has maxItems, every map maxProperties;
//   - nothing keeps unknown fields (x-kubernetes-preserve-unknown-fields).
//
// status is held to all of that except string lengths: only stagehand's
// controllers write it (users get no RBAC on the status subresource), and
// what they write is bounded by the spec and names it comes from; its lists
// are bounded all the same, as is every condition (metav1.Condition bounds
// its own strings).
func TestCRDSchemasAreBounded(t *testing.T) {
	dir := filepath.Join(testenv.Root(), "config", "crd", "bases")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var crd map[string]any
		if err := utilyaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		spec := obj(crd["spec"])
		kinds = append(kinds, str0(obj(spec["names"])["kind"]))
		versions, _ := spec["versions"].([]any)
		if len(versions) == 0 {
			t.Errorf("%s: no versions", filepath.Base(file))
		}
		for _, v := range versions {
			version := obj(v)
			root := obj(obj(obj(version["schema"])["openAPIV3Schema"])["properties"])
			where := filepath.Base(file) + " " + str0(version["name"])
			if root["spec"] == nil || root["status"] == nil {
				t.Errorf("%s: no spec or no status in the schema", where)
				continue
			}
			walkSchema(t, where, "spec", obj(root["spec"]), true)
			walkSchema(t, where, "status", obj(root["status"]), false)
		}
	}
	sort.Strings(kinds)
	var want []string
	for _, k := range flowsv1alpha1.Kinds {
		want = append(want, k.Kind)
	}
	sort.Strings(want)
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("CRDs in %s are for %v; want %v", dir, kinds, want)
	}
}

// walkSchema checks one schema node, at path, and everything under it.
// boundStrings is false under status (see TestCRDSchemasAreBounded).
func walkSchema(t *testing.T, where, path string, s map[string]any, boundStrings bool) {
	t.Helper()
	if s["x-kubernetes-preserve-unknown-fields"] == true {
		t.Errorf("%s: %s keeps unknown fields", where, path)
	}
	switch s["type"] {
	case "string":
		if boundStrings && s["maxLength"] == nil && s["enum"] == nil {
			t.Errorf("%s: string %s has neither maxLength nor enum", where, path)
		}
	case "array":
		if s["maxItems"] == nil {
			t.Errorf("%s: array %s has no maxItems", where, path)
		}
		walkSchema(t, where, path+"[]", obj(s["items"]), boundStrings)
	case "object":
		if ap, ok := s["additionalProperties"]; ok {
			if s["maxProperties"] == nil {
				t.Errorf("%s: map %s has no maxProperties", where, path)
			}
			walkSchema(t, where, path+"{}", obj(ap), boundStrings)
		}
		for name, p := range obj(s["properties"]) {
			prop := obj(p)
			if strings.TrimSpace(str0(prop["description"])) == "" {
				t.Errorf("%s: %s.%s has no description", where, path, name)
			}
			walkSchema(t, where, path+"."+name, prop, boundStrings)
		}
	case "integer", "number", "boolean":
	default:
		t.Errorf("%s: %s has type %v, which this test does not know how to bound", where, path, s["type"])
	}
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func str0(v any) string {
	s, _ := v.(string)
	return s
}

// TestCRDDefaultsAreDocumented: `kubectl explain` shows a field's
// description, not its schema default, so every field with a default says
// so in its description ("Default 5."), and a spec that defaults to {} says
// that every field has a default.
func TestCRDDefaultsAreDocumented(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.Root(), "config", "crd", "bases", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var crd map[string]any
		if err := utilyaml.Unmarshal(data, &crd); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, v := range obj(crd["spec"])["versions"].([]any) {
			root := obj(obj(obj(v)["schema"])["openAPIV3Schema"])
			var walk func(path string, s map[string]any)
			walk = func(path string, s map[string]any) {
				if def, ok := s["default"]; ok {
					checked++
					desc, _ := s["description"].(string)
					desc = strings.Join(strings.Fields(desc), " ")
					switch d := def.(type) {
					case map[string]any:
						if len(d) == 0 && !strings.Contains(desc, "Every field has a default") {
							t.Errorf("%s %s defaults to {}, and its description does not say every field has a default: %q", filepath.Base(file), path, desc)
						}
					default:
						if !strings.Contains(desc, "efault") {
							t.Errorf("%s %s defaults to %v, and its description does not say so: %q", filepath.Base(file), path, def, desc)
						}
					}
				}
				for k, p := range obj(s["properties"]) {
					walk(path+"."+k, obj(p))
				}
			}
			walk("", root)
		}
	}
	if checked < 40 {
		t.Fatalf("only %d defaults found: is the walk broken?", checked)
	}
}
