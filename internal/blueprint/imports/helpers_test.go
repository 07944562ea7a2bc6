package imports

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// authentikDir holds authentik's own blueprints (its README names them).
const authentikDir = "../testdata/authentik"

// readFiles reads blueprint files, each named by its base name, as the
// report shows them.
func readFiles(t testing.TB, paths ...string) []File {
	t.Helper()
	var out []File
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, File{Name: filepath.Base(p), Data: data})
	}
	return out
}

// authentikFiles reads authentik's blueprints by their base names.
func authentikFiles(t testing.TB, names ...string) []File {
	t.Helper()
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(authentikDir, n)
	}
	return readFiles(t, paths...)
}

// mustImport imports files that must all import.
func mustImport(t testing.TB, files []File, opts Options) *Result {
	t.Helper()
	res, err := Import(files, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("import failed:\n%v", err)
	}
	return res
}

// inline is one blueprint file written in the test.
func inline(name, data string) []File { return []File{{Name: name, Data: []byte(data)}} }

// decodeManifests reads a YAML stream of stagehand objects as kubectl
// would, strictly: a field the API types do not have is an error.
func decodeManifests(t testing.TB, data []byte) []client.Object {
	t.Helper()
	var out []client.Object
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(stripComments(string(doc))) == "" {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.APIVersion != flowsv1alpha1.GroupVersion.String() {
			t.Fatalf("apiVersion %q in\n%s", meta.APIVersion, doc)
		}
		obj, err := flowsv1alpha1.New(meta.Kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Fatalf("%v in\n%s", err, doc)
		}
		out = append(out, obj)
	}
}

func stripComments(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// objectsOf is res's objects by kind and name.
func objectsOf(res *Result) map[string]client.Object {
	out := map[string]client.Object{}
	for _, o := range res.Objects() {
		out[kindOf(o.Object)+"/"+o.GetName()] = o.Object
	}
	return out
}

// notesOf lists res's notes of one category.
func notesOf(res *Result, c Category) []Note {
	var out []Note
	for _, f := range res.Files {
		for _, n := range f.Notes {
			if n.Category == c {
				out = append(out, n)
			}
		}
	}
	return out
}
