// Package manifests renders stagehand's kustomizations (config/default,
// config/crd, config/samples) the way `kubectl kustomize` does, with the
// kustomize library kubectl itself embeds. `make deploy`, `make dev` and the
// tests use it, so none of them needs a kustomize or kubectl binary.
package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Image is the manager's image as config/manager names it; Render's image
// argument replaces it.
const Image = "ghcr.io/stagehand-dev/stagehand:dev"

// Render builds the kustomization in dir (relative to the working directory,
// or absolute) and returns the objects as one multi-document YAML stream,
// exactly as `kubectl kustomize dir` prints them. When image is not empty it
// replaces the manager's image (see Image), the way an overlay's `images:`
// entry does: "registry.example/stagehand:v1", "...@sha256:..." or a bare
// name. Components (kustomize Component directories, such as
// config/components/api-tls) are added the way an overlay's `components:`
// adds them.
func Render(dir, image string, components ...string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	target := abs
	if image != "" || len(components) > 0 {
		// An overlay in a scratch directory that takes dir as its base and
		// sets the image and the components: kustomize's own transformers do
		// the work.
		overlay, err := os.MkdirTemp("", "stagehand-render-")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(overlay) }()
		// kustomize takes a base or a component only by a relative path.
		rel := func(p string) (string, error) {
			a, err := filepath.Abs(p)
			if err != nil {
				return "", err
			}
			r, err := filepath.Rel(overlay, a)
			return filepath.ToSlash(r), err
		}
		base, err := rel(abs)
		if err != nil {
			return nil, err
		}
		k := types.Kustomization{
			TypeMeta:  types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind},
			Resources: []string{base},
		}
		for _, c := range components {
			r, err := rel(c)
			if err != nil {
				return nil, err
			}
			k.Components = append(k.Components, r)
		}
		if image != "" {
			k.Images = []types.Image{imageOverride(image)}
		}
		b, err := yaml.Marshal(k)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), b, 0o600); err != nil {
			return nil, err
		}
		target = overlay
	}
	// kubectl's options: legacy order puts namespaces and CRDs first, so the
	// stream applies in one pass.
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), target)
	if err != nil {
		if len(components) > 0 {
			return nil, fmt.Errorf("rendering %s with %s: %w", dir, strings.Join(components, ", "), err)
		}
		return nil, fmt.Errorf("rendering %s: %w", dir, err)
	}
	return m.AsYaml()
}

// Objects renders dir like Render and returns its objects, in the order
// kustomize emits them (namespaces and CRDs first).
func Objects(dir, image string, components ...string) ([]*unstructured.Unstructured, error) {
	b, err := Render(dir, image, components...)
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// Decode splits a multi-document YAML stream into objects, skipping empty
// documents.
func Decode(b []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for i, doc := range splitYAML(string(b)) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs, nil
}

// splitYAML splits a stream at its `---` document separators.
func splitYAML(s string) []string {
	var docs []string
	var cur strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return append(docs, cur.String())
}

// imageOverride is the `images:` entry that replaces Image with image.
func imageOverride(image string) types.Image {
	name, _, _ := strings.Cut(Image, ":")
	img := types.Image{Name: name}
	rest := image
	if before, digest, ok := strings.Cut(rest, "@"); ok {
		img.Digest, rest = digest, before
	}
	// A tag follows the last colon after the last slash (a colon before it
	// belongs to a registry's port).
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		img.NewTag, rest = rest[i+1:], rest[:i]
	}
	img.NewName = rest
	return img
}
