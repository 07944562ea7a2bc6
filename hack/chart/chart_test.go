package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"

	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// What comes from config/ is literal text to Helm, even where it looks like
// a template, while the generator's own expressions are templates; blocks
// land at their line's indentation.
func TestTemplating(t *testing.T) {
	tr := &templater{}
	obj := map[string]any{
		"description": "write {{ .Values.x }} to see {{ it }}",
		"replicas":    tr.inline("{{ .N }}"),
		"spec": map[string]any{
			"list": []any{"a", tr.block(func(indent int) string { return "{{- range .L }}\n- {{ . }}\n{{- end }}" })},
			tr.block(func(indent int) string { return "{{- if .On }}\nenabled: true\n{{- end }}" }): nil,
		},
	}
	lit, err := tr.literal(obj)
	if err != nil {
		t.Fatal(err)
	}
	text, err := tr.expand(lit)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := template.New("t").Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, map[string]any{"N": 3, "L": []string{"b", "c"}, "On": true}); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	var got map[string]any
	if err := yaml.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := map[string]any{
		"description": "write {{ .Values.x }} to see {{ it }}",
		"replicas":    float64(3),
		"spec":        map[string]any{"list": []any{"a", "b", "c"}, "enabled": true},
	}
	if gb, wb := mustJSON(t, got), mustJSON(t, want); gb != wb {
		t.Errorf("rendered\n%s\nwant %s\nfrom the template\n%s", gb, wb, text)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dist/chart and dist/install.yaml are what `make release` writes from
// config/ as it is: a change to config/ (or to hack/chart) needs `make
// release`, and the chart's tests (hack/helm) test the chart config/ makes.
func TestDistIsUpToDate(t *testing.T) {
	root := testenv.Root()
	chartDir := filepath.Join(root, "dist", "chart")
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatalf("no chart in dist/chart: run `make release`: %v", err)
	}
	var meta struct{ Version string }
	if err := yaml.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	want, err := Chart(root, meta.Version)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	err = filepath.WalkDir(chartDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(chartDir, p)
		if err != nil {
			return err
		}
		got[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var stale []string
	for p, w := range want {
		if g, ok := got[p]; !ok || !bytes.Equal(g, w) {
			stale = append(stale, p)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			stale = append(stale, p+" (not generated)")
		}
	}
	wantInstall, err := InstallYAML(root, meta.Version)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := os.ReadFile(filepath.Join(root, "dist", "install.yaml")); err != nil || !bytes.Equal(g, wantInstall) {
		stale = append(stale, "../install.yaml")
	}
	if len(stale) > 0 {
		t.Errorf("dist/ is stale: run `make release` and commit the result. Differing in dist/chart:\n  %s", strings.Join(stale, "\n  "))
	}
}

// Generating twice gives the same files.
func TestDeterministic(t *testing.T) {
	a, err := Chart(testenv.Root(), "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Chart(testenv.Root(), "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	for p := range a {
		if !bytes.Equal(a[p], b[p]) {
			t.Errorf("%s differs between two runs", p)
		}
	}
	if len(a) != len(b) {
		t.Errorf("%d files, then %d", len(a), len(b))
	}
}
