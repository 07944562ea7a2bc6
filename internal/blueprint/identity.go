package blueprint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// An entry's identity is the object it stands for in authentik: its model
// and its identifiers, with every !KeyOf replaced by what it points at. Two
// entries with the same identity, in one document or in two, write the same
// object. Identities let a publisher see what disappeared between two
// versions of a document, and compare entries across documents whatever
// their ids.

// Identity is e's identity within b: a string equal for two entries exactly
// when authentik would find the same object for both. A !KeyOf counts as the
// !Find of the entry it points at (so !KeyOf flow and !Find
// [authentik_flows.flow, [slug, x]] are the same when the entry with id flow
// is the flow with slug x); the order of identifiers and of a !Find's
// conditions does not matter.
func Identity(b *Blueprint, e *Entry) (string, error) {
	ids, err := (&identities{b: b}).identifiers(e, nil)
	if err != nil {
		return "", err
	}
	return e.Model + ids, nil
}

// Equal reports whether two values are the same: same types and contents,
// mappings compared whatever the order of their keys, tags by their
// arguments (not their position in a file), ints of any Go integer type
// alike.
func Equal(a, b any) bool {
	ca, erra := canon(a, nil)
	cb, errb := canon(b, nil)
	return erra == nil && errb == nil && ca == cb
}

// Absent is an entry that deletes the object e stands for: e's model and
// identifiers with state absent and no attrs. Every !KeyOf in the
// identifiers becomes the !Find of the entry it points at, so the absent
// entry stands on its own: it means the same in any document, before or
// after the entries it used to point at, and whether or not they still
// exist (a !Find of nothing makes the entry find nothing to delete).
func Absent(b *Blueprint, e *Entry) (Entry, error) {
	ids, err := (&identities{b: b}).standalone(e.Identifiers, nil)
	if err != nil {
		return Entry{}, fmt.Errorf("%s entry: %w", e.Model, err)
	}
	return Entry{Model: e.Model, State: StateAbsent, Identifiers: ids.(Map)}, nil
}

// Standalone is v, a value of b, with every !KeyOf replaced by the !Find
// of the entry it points at: a value that means the same outside b (in
// another document, or compared with another document's values).
func Standalone(b *Blueprint, v any) (any, error) {
	return (&identities{b: b}).standalone(v, nil)
}

// identities resolves !KeyOf within one document, refusing cycles.
type identities struct {
	b *Blueprint
}

func (r *identities) target(k *KeyOf, visiting []string) (*Entry, []string, error) {
	t := r.b.EntryByID(k.ID)
	if t == nil {
		return nil, nil, fmt.Errorf("!KeyOf %s names no entry", k.ID)
	}
	if slices.Contains(visiting, k.ID) {
		return nil, nil, fmt.Errorf("!KeyOf %s: entries point at each other in a cycle (%s)", k.ID, strings.Join(append(visiting, k.ID), " → "))
	}
	return t, slices.Concat(visiting, []string{k.ID}), nil
}

// identifiers is the canonical form of e's identifiers.
func (r *identities) identifiers(e *Entry, visiting []string) (string, error) {
	return canon(e.Identifiers, func(k *KeyOf) (string, error) {
		f, err := r.findOf(k, visiting)
		if err != nil {
			return "", err
		}
		return canon(f, nil)
	})
}

// findOf is the !Find that finds the object of the entry k points at.
func (r *identities) findOf(k *KeyOf, visiting []string) (*Find, error) {
	t, visiting, err := r.target(k, visiting)
	if err != nil {
		return nil, err
	}
	if len(t.Identifiers) == 0 {
		return nil, fmt.Errorf("!KeyOf %s names a %s entry without identifiers", k.ID, t.Model)
	}
	f := &Find{Model: t.Model}
	for _, id := range t.Identifiers {
		v, err := r.standalone(id.Value, visiting)
		if err != nil {
			return nil, err
		}
		f.Conditions = append(f.Conditions, FindCondition{Field: id.Key, Value: v})
	}
	return f, nil
}

// standalone is v with every !KeyOf replaced by its !Find.
func (r *identities) standalone(v any, visiting []string) (any, error) {
	switch v := v.(type) {
	case *KeyOf:
		return r.findOf(v, visiting)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			s, err := r.standalone(e, visiting)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	case Map:
		out := make(Map, len(v))
		for i, f := range v {
			s, err := r.standalone(f.Value, visiting)
			if err != nil {
				return nil, err
			}
			out[i] = Field{Key: f.Key, Value: s}
		}
		return out, nil
	case *Find:
		out := &Find{Model: v.Model, Object: v.Object}
		for _, c := range v.Conditions {
			val, err := r.standalone(c.Value, visiting)
			if err != nil {
				return nil, err
			}
			out.Conditions = append(out.Conditions, FindCondition{Field: c.Field, Value: val})
		}
		return out, nil
	}
	return v, nil
}

// canon writes v in a canonical form: equal values, equal strings. keyOf,
// when not nil, writes a !KeyOf; otherwise it is written as its id.
func canon(v any, keyOf func(*KeyOf) (string, error)) (string, error) {
	var sb strings.Builder
	if err := writeCanon(&sb, v, keyOf); err != nil {
		return "", err
	}
	return sb.String(), nil
}

func writeCanon(sb *strings.Builder, v any, keyOf func(*KeyOf) (string, error)) error {
	switch v := v.(type) {
	case nil:
		sb.WriteString("null")
	case bool:
		sb.WriteString(strconv.FormatBool(v))
	case int:
		sb.WriteString(strconv.FormatInt(int64(v), 10))
	case int32:
		sb.WriteString(strconv.FormatInt(int64(v), 10))
	case int64:
		sb.WriteString(strconv.FormatInt(v, 10))
	case float64:
		sb.WriteString("f" + formatFloat(v))
	case string:
		sb.WriteString(strconv.Quote(v))
	case []any:
		sb.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				sb.WriteByte(',')
			}
			if err := writeCanon(sb, e, keyOf); err != nil {
				return err
			}
		}
		sb.WriteByte(']')
	case Map:
		parts := make([]string, 0, len(v))
		for _, f := range v {
			c, err := canon(f.Value, keyOf)
			if err != nil {
				return err
			}
			parts = append(parts, strconv.Quote(f.Key)+":"+c)
		}
		slices.Sort(parts)
		sb.WriteString("{" + strings.Join(parts, ",") + "}")
	case *KeyOf:
		if keyOf == nil {
			sb.WriteString("!KeyOf(" + strconv.Quote(v.ID) + ")")
			return nil
		}
		s, err := keyOf(v)
		if err != nil {
			return err
		}
		sb.WriteString(s)
	case *Find:
		model, err := canon(v.Model, keyOf)
		if err != nil {
			return err
		}
		conds := make([]string, 0, len(v.Conditions))
		for _, c := range v.Conditions {
			cc, err := canon([]any{c.Field, c.Value}, keyOf)
			if err != nil {
				return err
			}
			conds = append(conds, cc)
		}
		slices.Sort(conds)
		sb.WriteString(v.TagName() + "(" + model + "," + strings.Join(conds, ",") + ")")
	case Tag:
		sb.WriteString(v.TagName())
		if err := writeCanon(sb, v.args(), keyOf); err != nil {
			return err
		}
	default:
		return fmt.Errorf("cannot compare a value of type %T", v)
	}
	return nil
}
