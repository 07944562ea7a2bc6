package imports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// Manifests writes objects as one YAML stream, for kubectl apply -f or a
// kustomization's resources: each object a document, preceded by a
// comment that says where it comes from, with apiVersion, kind, metadata
// and spec (no status, no creationTimestamp).
func Manifests(objs []Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		where := o.File
		if o.Pos.Line > 0 {
			where = fmt.Sprintf("%s:%d", o.File, o.Pos.Line)
		}
		fmt.Fprintf(&buf, "# %s: %s\n", where, strings.ReplaceAll(o.From, "\n", " "))
		data, err := json.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kindOf(o.Object), o.GetName(), err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, err
		}
		delete(m, "status")
		if meta, ok := m["metadata"].(map[string]any); ok {
			delete(meta, "creationTimestamp")
		}
		out, err := yaml.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kindOf(o.Object), o.GetName(), err)
		}
		buf.Write(out)
	}
	return buf.Bytes(), nil
}
