package blueprint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Encode writes a blueprint as YAML, as authentik's own blueprints are
// written: version, metadata, context and entries; in each entry model, id,
// state, conditions, identifiers, attrs and permissions; mappings in their
// order (labels sorted); tags inline (!KeyOf flow, !Find [model, [field,
// value]]); two-space indentation, sequences not indented under their key.
// The same blueprint always gives the same bytes. Strings that authentik's
// YAML 1.1 reader would take for a bool, a number, a date or null (yes, on,
// 0777, 1:30, 2026-04-01) are quoted. Encode does not call Validate.
func Encode(b *Blueprint) ([]byte, error) {
	root, err := (&encoder{}).blueprint(b)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	ye := yaml.NewEncoder(&buf)
	ye.SetIndent(2)
	ye.CompactSeqIndent()
	if err := ye.Encode(root); err != nil {
		return nil, fmt.Errorf("writing YAML: %w", err)
	}
	if err := ye.Close(); err != nil {
		return nil, fmt.Errorf("writing YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// Hash is the hex SHA-256 of an encoded document: a short, stable name for
// one version of it, for status and change detection.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

type encoder struct{}

func (enc *encoder) blueprint(b *Blueprint) (*yaml.Node, error) {
	root := mapping()
	addPair(root, "version", intNode(int64(b.Version)))
	if m := b.Metadata; m != nil {
		meta := mapping()
		addPair(meta, "name", strNode(m.Name))
		if len(m.Labels) > 0 {
			labels := mapping()
			keys := make([]string, 0, len(m.Labels))
			for k := range m.Labels {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				addPair(labels, k, strNode(m.Labels[k]))
			}
			addPair(meta, "labels", labels)
		}
		addPair(root, "metadata", meta)
	}
	if len(b.Context) > 0 {
		ctx, err := enc.value(b.Context)
		if err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
		addPair(root, "context", ctx)
	}
	entries, err := enc.entries(b.Entries)
	if err != nil {
		return nil, err
	}
	addPair(root, "entries", entries)
	return root, nil
}

// entries writes the list of entries, or, when entries carry a Section, a
// mapping of each section (in order of first appearance) to its entries.
func (enc *encoder) entries(entries []Entry) (*yaml.Node, error) {
	sectioned := slices.ContainsFunc(entries, func(e Entry) bool { return e.Section != "" })
	list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	sections := mapping()
	bySection := map[string]*yaml.Node{}
	for i := range entries {
		e := &entries[i]
		n, err := enc.entry(e)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%s): %w", i+1, e.Model, err)
		}
		if !sectioned {
			list.Content = append(list.Content, n)
			continue
		}
		s, ok := bySection[e.Section]
		if !ok {
			s = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			bySection[e.Section] = s
			addPair(sections, e.Section, s)
		}
		s.Content = append(s.Content, n)
	}
	if sectioned {
		return sections, nil
	}
	return list, nil
}

func (enc *encoder) entry(e *Entry) (*yaml.Node, error) {
	n := mapping()
	addPair(n, "model", strNode(e.Model))
	if e.ID != "" {
		addPair(n, "id", strNode(e.ID))
	}
	if e.State != "" {
		addPair(n, "state", strNode(string(e.State)))
	}
	if len(e.Conditions) > 0 {
		c, err := enc.value(e.Conditions)
		if err != nil {
			return nil, fmt.Errorf("conditions: %w", err)
		}
		addPair(n, "conditions", c)
	}
	if len(e.Identifiers) > 0 {
		id, err := enc.value(e.Identifiers)
		if err != nil {
			return nil, fmt.Errorf("identifiers: %w", err)
		}
		addPair(n, "identifiers", id)
	}
	if len(e.Attrs) > 0 {
		a, err := enc.value(e.Attrs)
		if err != nil {
			return nil, fmt.Errorf("attrs: %w", err)
		}
		addPair(n, "attrs", a)
	}
	if len(e.Permissions) > 0 {
		perms := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i, p := range e.Permissions {
			m := Map{{Key: "permission", Value: p.Permission}}
			if p.User != nil {
				m = append(m, Field{Key: "user", Value: p.User})
			}
			if p.Role != nil {
				m = append(m, Field{Key: "role", Value: p.Role})
			}
			pn, err := enc.value(m)
			if err != nil {
				return nil, fmt.Errorf("permissions[%d]: %w", i, err)
			}
			perms.Content = append(perms.Content, pn)
		}
		addPair(n, "permissions", perms)
	}
	return n, nil
}

// value writes one value (see the package documentation for the types).
func (enc *encoder) value(v any) (*yaml.Node, error) {
	switch v := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}, nil
	case int:
		return intNode(int64(v)), nil
	case int32:
		return intNode(int64(v)), nil
	case int64:
		return intNode(v), nil
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: formatFloat(v)}, nil
	case string:
		return strNode(v), nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i, e := range v {
			c, err := enc.value(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case Map:
		n := mapping()
		seen := make(map[string]bool, len(v))
		for _, f := range v {
			if seen[f.Key] {
				return nil, fmt.Errorf("key %q appears twice", f.Key)
			}
			seen[f.Key] = true
			c, err := enc.value(f.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f.Key, err)
			}
			addPair(n, f.Key, c)
		}
		return n, nil
	case Tag:
		return v.encode(enc)
	}
	return nil, fmt.Errorf("cannot write a value of type %T", v)
}

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

func addPair(m *yaml.Node, key string, value *yaml.Node) {
	m.Content = append(m.Content, strNode(key), value)
}

func intNode(i int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(i, 10)}
}

// strNode is a string scalar: plain where authentik reads a plain scalar
// back as this string, double-quoted where it would not. (The YAML library
// quotes what YAML 1.2 would misread; YAML 1.1's extra forms are checked
// here.)
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if needsQuotes(s) || notLiteral(s) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// notLiteral says a string of several lines cannot be the literal block the
// YAML library writes it as: a block's first line cannot begin with a tab,
// which the reader takes for indentation.
func notLiteral(s string) bool {
	return strings.HasPrefix(s, "\t") && strings.Contains(s, "\n")
}
