package imports

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// FuzzImport: whatever a file holds, Import does not panic, gives the same
// result twice, and what it gives for a file that imports is manifests
// that read back strictly, with valid names and well-formed references.
// The seeds are authentik's blueprints, an export, and the files of the
// other tests; testdata/fuzz/FuzzImport holds inputs worth keeping. The
// seeds are large, so shorten the minimization of new inputs:
//
//	go test ./internal/blueprint/imports -run '^$' -fuzz FuzzImport -fuzzminimizetime 3s
func FuzzImport(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(authentikDir, "*.yaml"))
	more, _ := filepath.Glob("testdata/exporter/*.yaml")
	for _, p := range append(paths, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(goodFile))
	f.Add([]byte("version: 1\ncontext: {a: !Context a}\nentries:\n- model: authentik_flows.flow\n  identifiers: {slug: !Context a}\n  attrs: {title: !Format ['%s', !Context [b, x]], designation: recovery}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files := []File{{Name: "fuzz.yaml", Data: data}}
		res, err := Import(files, Options{Namespace: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		out, err := Manifests(res.Objects())
		if err != nil {
			t.Fatalf("Manifests: %v", err)
		}
		again, err := Import(files, Options{Namespace: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		out2, err := Manifests(again.Objects())
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("a second import gives other manifests (%v)", err)
		}
		objs := decodeManifests(t, out)
		if len(objs) != len(res.Objects()) {
			t.Fatalf("%d objects, %d read back", len(res.Objects()), len(objs))
		}
		for _, o := range objs {
			if !validName(o.GetName()) {
				t.Errorf("%s %q: not a valid name", kindOf(o), o.GetName())
			}
			var refs []flowsv1alpha1.StageReference
			switch o := o.(type) {
			case *flowsv1alpha1.FlowStageBinding:
				refs = append(refs, o.Spec.StageRef)
			case *flowsv1alpha1.AuthenticatorValidateStage:
				refs = append(refs, o.Spec.ConfigurationStageRefs...)
			}
			for _, r := range refs {
				if (r.Kind == "") == (r.Model == "") || r.Name == "" || (r.Kind != "" && !validName(r.Name)) {
					t.Errorf("%s %q: stage reference %+v", kindOf(o), o.GetName(), r)
				}
			}
		}
	})
}
