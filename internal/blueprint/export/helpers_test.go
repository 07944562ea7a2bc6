package export

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// manifests reads stagehand objects from YAML files (Secrets and other
// kinds are skipped), setting namespace on the namespaced ones.
func manifests(t *testing.T, namespace string, files ...string) []client.Object {
	t.Helper()
	var out []client.Object
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			var meta struct {
				Kind string `json:"kind"`
			}
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			obj, err := flowsv1alpha1.New(meta.Kind)
			if err != nil {
				continue // a Secret, the kustomization
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s: %s: %v", file, meta.Kind, err)
			}
			if !clusterScoped(meta.Kind) {
				obj.SetNamespace(namespace)
			}
			out = append(out, obj)
		}
	}
	return out
}

// flowInputs splits objects into each flow with its bindings, and a Lookup
// over all of them.
func flowInputs(t *testing.T, objs []client.Object) (flows []*flowsv1alpha1.Flow, bindings map[string][]flowsv1alpha1.FlowStageBinding, lookup Lookup) {
	t.Helper()
	bindings = map[string][]flowsv1alpha1.FlowStageBinding{}
	for _, obj := range objs {
		switch o := obj.(type) {
		case *flowsv1alpha1.Flow:
			flows = append(flows, o)
		case *flowsv1alpha1.FlowStageBinding:
			bindings[o.Spec.TargetRef.Name] = append(bindings[o.Spec.TargetRef.Name], *o)
		}
	}
	lookup, err := Objects(objs...)
	if err != nil {
		t.Fatal(err)
	}
	return flows, bindings, lookup
}
