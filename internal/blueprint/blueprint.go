// Package blueprint is authentik's blueprint document (version 1) as Go
// values, with a YAML codec that reads and writes it as authentik does.
//
// authentik applies blueprints: YAML files, each a list of entries that
// create, update or delete one object of one model (a flow, a stage, a
// binding), found by its identifiers and set to its attrs. Values may be
// authentik's YAML tags: !KeyOf names another entry of the same document,
// !Find looks an object up in authentik's database, !File and !Env read a
// file or an environment variable of authentik's worker, and so on
// (authentik/blueprints/v1/common.py in goauthentik/authentik).
//
// stagehand writes blueprints (package export renders a Flow as one) and
// reads them (the importer turns authentik's blueprints into manifests). This
// package knows nothing of stagehand's kinds: it is the document, its tags,
// and three operations on it:
//
//   - Encode writes a document deterministically (the same document, the
//     same bytes), in the layout of authentik's own blueprints, quoting every
//     string that authentik's YAML 1.1 reader would otherwise take for
//     something else;
//   - Decode reads one, with every tag authentik knows, and reports errors
//     with the file, line and column;
//   - Identity compares entries by the object they stand for, and Absent
//     writes the entry that deletes one in authentik (state: absent).
//
// # Values
//
// A value (an attr, an identifier, a tag's argument, a context entry) is one
// of: nil (YAML null), bool, int64, float64, string, []any (a sequence), Map
// (a mapping, in order) or a Tag (*KeyOf, *Find, *File, ...). Encode also
// accepts int and int32 for convenience; Decode produces int64.
package blueprint

import (
	"errors"
	"fmt"
	"slices"
)

// Version is the only blueprint version authentik reads.
const Version = 1

// Labels authentik reads from a blueprint's metadata.
const (
	// LabelDescription is shown beside the blueprint in authentik's UI.
	LabelDescription = "blueprints.goauthentik.io/description"
	// LabelInstantiate, "false", makes authentik discover a blueprint
	// without applying it (authentik's examples carry it).
	LabelInstantiate = "blueprints.goauthentik.io/instantiate"
)

// Blueprint is one blueprint document.
type Blueprint struct {
	// Version is the blueprint format's version; authentik knows only 1.
	Version int

	// Metadata names the blueprint; authentik shows it in its UI and the
	// meta model authentik_blueprints.metaapplyblueprint finds blueprints by
	// it. Optional.
	Metadata *Metadata

	// Context holds values that entries read with !Context.
	Context Map

	// Entries are applied in order, in one database transaction: an entry
	// can only !KeyOf an entry before it.
	Entries []Entry

	// File names the file the document was read from (Decode's name), for
	// errors; empty for a document built in Go. Encode ignores it.
	File string
}

// Metadata is a blueprint's metadata.
type Metadata struct {
	// Name is the blueprint's name.
	Name string
	// Labels, such as LabelDescription.
	Labels map[string]string
}

// State is what authentik does with an entry's object.
type State string

// The states of an entry.
const (
	// StatePresent (authentik's default) creates the object or updates it
	// to the entry's attrs on every apply.
	StatePresent State = "present"
	// StateAbsent deletes the object found by the entry's identifiers.
	StateAbsent State = "absent"
	// StateCreated creates the object if it does not exist, and then leaves
	// it alone.
	StateCreated State = "created"
	// StateMustCreated creates the object, and fails if it already exists.
	StateMustCreated State = "must_created"
)

// States lists every State.
var States = []State{StatePresent, StateAbsent, StateCreated, StateMustCreated}

// Entry is one entry of a blueprint: one object of one model.
type Entry struct {
	// Model is the object's authentik model, "<app label>.<model name>":
	// "authentik_flows.flow".
	Model string

	// ID names the entry for !KeyOf within the document. Optional.
	ID string

	// State is what to do with the object; empty means authentik's default,
	// present.
	State State

	// Conditions are values that must all be true for authentik to apply
	// the entry (usually tags: !Condition, !Context, ...).
	Conditions []any

	// Identifiers find the object: authentik looks it up by all of them
	// together (and by pk, if given), creates it with them if it does not
	// exist, and writes them to it as well.
	Identifiers Map

	// Attrs are the object's other fields.
	Attrs Map

	// Permissions grant object permissions on the object to users or roles.
	Permissions []Permission

	// Section is the key of the section the entry was read from, for a
	// blueprint whose entries are a mapping of sections to lists (authentik
	// 2026.5's schema allows it); empty for the usual list. Encode writes
	// sections back when entries have them.
	Section string

	// Pos is where the entry was read from; zero for an entry built in Go.
	Pos Pos
}

// Permission is an object permission an entry grants.
type Permission struct {
	// Permission is the permission's codename, "view_flow" (or a tag).
	Permission any
	// User is the pk of the user it is granted to (or a tag), or nil.
	User any
	// Role is the pk of the role it is granted to (or a tag), or nil.
	Role any
}

// Pos is a position in a YAML file, for error messages. Line and Column
// count from 1; zero means unknown.
type Pos struct {
	Line, Column int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return "?"
	}
	return fmt.Sprintf("%d:%d", p.Line, p.Column)
}

// Map is a YAML mapping whose keys keep their order: authentik's blueprints
// list fields in the order of its serializers, and so does stagehand.
type Map []Field

// Field is one key and its value.
type Field struct {
	Key   string
	Value any
}

// Get returns the value of key, and whether the map has it.
func (m Map) Get(key string) (any, bool) {
	for _, f := range m {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Set replaces the value of key, or appends the key if the map lacks it.
func (m *Map) Set(key string, value any) {
	for i := range *m {
		if (*m)[i].Key == key {
			(*m)[i].Value = value
			return
		}
	}
	*m = append(*m, Field{Key: key, Value: value})
}

// Keys lists the map's keys, in order.
func (m Map) Keys() []string {
	keys := make([]string, len(m))
	for i, f := range m {
		keys[i] = f.Key
	}
	return keys
}

// EntryByID returns the entry whose ID is id, or nil.
func (b *Blueprint) EntryByID(id string) *Entry {
	if id == "" {
		return nil
	}
	for i := range b.Entries {
		if b.Entries[i].ID == id {
			return &b.Entries[i]
		}
	}
	return nil
}

// Walk calls fn for every value of v, v included, depth first: the elements
// of sequences, the values of maps and the arguments of tags. It stops, and
// returns false, as soon as fn returns false.
func Walk(v any, fn func(any) bool) bool {
	if !fn(v) {
		return false
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if !Walk(e, fn) {
				return false
			}
		}
	case Map:
		for _, f := range v {
			if !Walk(f.Value, fn) {
				return false
			}
		}
	case Tag:
		for _, a := range v.args() {
			if !Walk(a, fn) {
				return false
			}
		}
	}
	return true
}

// WalkEntry calls Walk for every value of an entry: its conditions,
// identifiers, attrs and permissions.
func WalkEntry(e *Entry, fn func(any) bool) bool {
	for _, c := range e.Conditions {
		if !Walk(c, fn) {
			return false
		}
	}
	if !Walk(e.Identifiers, fn) || !Walk(e.Attrs, fn) {
		return false
	}
	for _, p := range e.Permissions {
		if !Walk(p.Permission, fn) || !Walk(p.User, fn) || !Walk(p.Role, fn) {
			return false
		}
	}
	return true
}

// Validate checks what authentik checks of a document before it applies
// any entry, and what a !KeyOf needs: version 1, a model on every entry, a
// known state, ids unique, and every !KeyOf naming an entry before it (an
// entry that comes later, or is itself, has no object yet when authentik
// resolves the tag). It returns every problem, joined; each is an *Error
// with the file and position when the document was read by Decode.
func (b *Blueprint) Validate() error {
	var errs []error
	problem := func(pos Pos, format string, args ...any) {
		errs = append(errs, &Error{File: b.File, Pos: pos, Msg: fmt.Sprintf(format, args...)})
	}
	if b.Version != Version {
		problem(Pos{}, "version %d is not supported: authentik reads blueprints of version %d", b.Version, Version)
	}
	seen := map[string]int{}
	for i := range b.Entries {
		e := &b.Entries[i]
		where := fmt.Sprintf("entry %d (%s)", i+1, e.Model)
		if e.Model == "" {
			problem(e.Pos, "entry %d: model is required", i+1)
		}
		if e.State != "" && !slices.Contains(States, e.State) {
			problem(e.Pos, "%s: unknown state %q", where, e.State)
		}
		WalkEntry(e, func(v any) bool {
			k, ok := v.(*KeyOf)
			if !ok {
				return true
			}
			pos := k.Pos
			if pos.Line == 0 {
				pos = e.Pos
			}
			if _, before := seen[k.ID]; !before {
				if b.EntryByID(k.ID) != nil {
					problem(pos, "%s: !KeyOf %s names an entry that is not before it", where, k.ID)
				} else {
					problem(pos, "%s: !KeyOf %s names no entry", where, k.ID)
				}
			}
			return true
		})
		if e.ID != "" {
			if j, dup := seen[e.ID]; dup {
				problem(e.Pos, "%s: id %q is also the id of entry %d", where, e.ID, j+1)
			} else {
				seen[e.ID] = i
			}
		}
	}
	return errors.Join(errs...)
}
