package blueprint

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Tag is one of authentik's YAML tags (authentik/blueprints/v1/common.py,
// BlueprintLoader): a value authentik computes when it applies the entry.
// The types that implement it are the tags authentik knows, each with the
// arguments its constructor takes; Decode refuses any other tag.
type Tag interface {
	// TagName is the tag as written: "!KeyOf".
	TagName() string
	// Position is where the tag was read from; zero for a tag built in Go.
	Position() Pos
	// args are the tag's arguments, in order, for Walk.
	args() []any
	// encode writes the tag's YAML node.
	encode(enc *encoder) (*yaml.Node, error)
}

// KeyOf (!KeyOf id) is the primary key of the object of the entry with that
// id, which must come before the entry that uses it.
type KeyOf struct {
	ID  string
	Pos Pos
}

// Find (!Find [model, [field, value], ...]) is the primary key of the first
// object of model whose fields have those values, or null when there is
// none: authentik does not fail, so a !Find of an object that does not exist
// yet quietly sets a reference to nothing. FindObject (Object true) is the
// object itself, serialized.
type Find struct {
	// Model is the model's name, "authentik_flows.flow" (or a tag).
	Model any
	// Conditions are ANDed; each Field is a Django lookup ("slug",
	// "name__iexact").
	Conditions []FindCondition
	// Object makes it !FindObject.
	Object bool
	Pos    Pos
}

// FindCondition is one [field, value] of a Find.
type FindCondition struct {
	Field any
	Value any
}

// FindBy is !Find [model, [field, value]]: the object of model whose field
// has value.
func FindBy(model, field string, value any) *Find {
	return &Find{Model: model, Conditions: []FindCondition{{Field: field, Value: value}}}
}

// Null is how a document writes an unset reference to an object of model:
// !Find [model, [pk, null]], the object whose primary key is null. There
// is none, in any database (Django reads pk=None as "pk IS NULL"), so
// authentik resolves it to None, as it would a null, and its serializer
// sets the reference to nothing, clearing one set before. A plain null
// does that too, but authentik's blueprint schema (blueprints/schema.json)
// has no null for a foreign key: the schema wants a string there, as a
// validator sees a tag, and leaving the key out would not clear anything
// (authentik updates only the fields an entry gives).
func Null(model string) *Find { return FindBy(model, "pk", nil) }

// IsNull reports whether v is a !Find that finds nothing whatever the
// database holds: one that asks for a null primary key (see Null).
func IsNull(v any) bool {
	f, ok := v.(*Find)
	if !ok || f.Object {
		return false
	}
	for _, c := range f.Conditions {
		if (c.Field == "pk" || c.Field == "pk__exact") && c.Value == nil {
			return true
		}
	}
	return false
}

// Context (!Context key or !Context [key, default]) is the value of key in
// the blueprint's context (the document's own, merged with the one its
// BlueprintInstance gives), or the default.
type Context struct {
	Key        any
	Default    any
	HasDefault bool
	Pos        Pos
}

// Env (!Env name or !Env [name, default]) is the value of an environment
// variable of authentik's worker, or the default when it is unset or empty.
type Env struct {
	Name       any
	Default    any
	HasDefault bool
	Pos        Pos
}

// File (!File path or !File [path, default]) is the content of a file on
// authentik's worker, with leading and trailing white space removed, or the
// default when it cannot be read.
type File struct {
	Path       any
	Default    any
	HasDefault bool
	Pos        Pos
}

// Format (!Format [format, args...]) is Python's format % tuple(args).
type Format struct {
	Format any
	Args   []any
	Pos    Pos
}

// Condition (!Condition [mode, values...]) combines the truth of its values
// with mode AND, NAND, OR, NOR, XOR or XNOR.
type Condition struct {
	Mode any
	Args []any
	Pos  Pos
}

// If (!If [condition, then, else], or !If [condition], which is true or
// false) is then when condition is true, else otherwise.
type If struct {
	Condition any
	Then      any
	Else      any
	// Short is the one-argument form.
	Short bool
	Pos   Pos
}

// Enumerate (!Enumerate [iterable, SEQ or MAP, body]) builds a sequence or
// mapping from body, once per item of iterable; body reads the item with
// !Value and !Index.
type Enumerate struct {
	Iterable any
	Output   any
	Body     any
	Pos      Pos
}

// EnumValue (!Value depth) is the value of the current item of the
// !Enumerate depth levels up (0: the innermost).
type EnumValue struct {
	Depth int
	Pos   Pos
}

// EnumIndex (!Index depth) is the index or key of the current item of the
// !Enumerate depth levels up.
type EnumIndex struct {
	Depth int
	Pos   Pos
}

// AtIndex (!AtIndex [object, index] or !AtIndex [object, index, default])
// is object[index], or the default when there is no such element.
type AtIndex struct {
	Object     any
	Index      any
	Default    any
	HasDefault bool
	Pos        Pos
}

// ParseJSON (!ParseJSON text) is text parsed as JSON.
type ParseJSON struct {
	Raw string
	Pos Pos
}

func (t *KeyOf) TagName() string     { return "!KeyOf" }
func (t *Find) TagName() string      { return findName(t.Object) }
func (t *Context) TagName() string   { return "!Context" }
func (t *Env) TagName() string       { return "!Env" }
func (t *File) TagName() string      { return "!File" }
func (t *Format) TagName() string    { return "!Format" }
func (t *Condition) TagName() string { return "!Condition" }
func (t *If) TagName() string        { return "!If" }
func (t *Enumerate) TagName() string { return "!Enumerate" }
func (t *EnumValue) TagName() string { return "!Value" }
func (t *EnumIndex) TagName() string { return "!Index" }
func (t *AtIndex) TagName() string   { return "!AtIndex" }
func (t *ParseJSON) TagName() string { return "!ParseJSON" }

func (t *KeyOf) Position() Pos     { return t.Pos }
func (t *Find) Position() Pos      { return t.Pos }
func (t *Context) Position() Pos   { return t.Pos }
func (t *Env) Position() Pos       { return t.Pos }
func (t *File) Position() Pos      { return t.Pos }
func (t *Format) Position() Pos    { return t.Pos }
func (t *Condition) Position() Pos { return t.Pos }
func (t *If) Position() Pos        { return t.Pos }
func (t *Enumerate) Position() Pos { return t.Pos }
func (t *EnumValue) Position() Pos { return t.Pos }
func (t *EnumIndex) Position() Pos { return t.Pos }
func (t *AtIndex) Position() Pos   { return t.Pos }
func (t *ParseJSON) Position() Pos { return t.Pos }

func (t *KeyOf) args() []any { return []any{t.ID} }
func (t *Find) args() []any {
	out := []any{t.Model}
	for _, c := range t.Conditions {
		out = append(out, []any{c.Field, c.Value})
	}
	return out
}
func (t *Context) args() []any   { return withDefault(t.Key, t.HasDefault, t.Default) }
func (t *Env) args() []any       { return withDefault(t.Name, t.HasDefault, t.Default) }
func (t *File) args() []any      { return withDefault(t.Path, t.HasDefault, t.Default) }
func (t *Format) args() []any    { return append([]any{t.Format}, t.Args...) }
func (t *Condition) args() []any { return append([]any{t.Mode}, t.Args...) }
func (t *If) args() []any {
	if t.Short {
		return []any{t.Condition}
	}
	return []any{t.Condition, t.Then, t.Else}
}
func (t *Enumerate) args() []any { return []any{t.Iterable, t.Output, t.Body} }
func (t *EnumValue) args() []any { return []any{int64(t.Depth)} }
func (t *EnumIndex) args() []any { return []any{int64(t.Depth)} }
func (t *AtIndex) args() []any {
	if t.HasDefault {
		return []any{t.Object, t.Index, t.Default}
	}
	return []any{t.Object, t.Index}
}
func (t *ParseJSON) args() []any { return []any{t.Raw} }

func withDefault(key any, has bool, def any) []any {
	if has {
		return []any{key, def}
	}
	return []any{key}
}

// Encoding. A tag with one string argument is a tagged scalar (!KeyOf
// flow); any other is a tagged flow sequence, as authentik's blueprints
// write them (!Find [authentik_flows.flow, [slug, default-password-change]]).

func (t *KeyOf) encode(*encoder) (*yaml.Node, error) { return tagScalar(t, t.ID), nil }
func (t *ParseJSON) encode(*encoder) (*yaml.Node, error) {
	return tagScalar(t, t.Raw), nil
}
func (t *EnumValue) encode(*encoder) (*yaml.Node, error) {
	return tagScalar(t, strconv.Itoa(t.Depth)), nil
}
func (t *EnumIndex) encode(*encoder) (*yaml.Node, error) {
	return tagScalar(t, strconv.Itoa(t.Depth)), nil
}
func (t *Context) encode(enc *encoder) (*yaml.Node, error) {
	return lookupTag(enc, t, t.Key, t.HasDefault, t.Default)
}
func (t *Env) encode(enc *encoder) (*yaml.Node, error) {
	return lookupTag(enc, t, t.Name, t.HasDefault, t.Default)
}
func (t *File) encode(enc *encoder) (*yaml.Node, error) {
	return lookupTag(enc, t, t.Path, t.HasDefault, t.Default)
}
func (t *Find) encode(enc *encoder) (*yaml.Node, error) {
	if t.Model == nil {
		return nil, fmt.Errorf("%s has no model", t.TagName())
	}
	return tagSeq(enc, t, t.args())
}
func (t *Format) encode(enc *encoder) (*yaml.Node, error) { return tagSeq(enc, t, t.args()) }
func (t *Condition) encode(enc *encoder) (*yaml.Node, error) {
	if len(t.Args) == 0 {
		return nil, fmt.Errorf("!Condition needs at least one value after its mode")
	}
	return tagSeq(enc, t, t.args())
}
func (t *If) encode(enc *encoder) (*yaml.Node, error)        { return tagSeq(enc, t, t.args()) }
func (t *Enumerate) encode(enc *encoder) (*yaml.Node, error) { return tagSeq(enc, t, t.args()) }
func (t *AtIndex) encode(enc *encoder) (*yaml.Node, error)   { return tagSeq(enc, t, t.args()) }

func tagScalar(t Tag, value string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: t.TagName(), Value: value}
	if notLiteral(value) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// lookupTag writes !Context, !Env and !File: a scalar when the key is a
// string and there is no default, else [key, default].
func lookupTag(enc *encoder, t Tag, key any, hasDefault bool, def any) (*yaml.Node, error) {
	if s, ok := key.(string); ok && !hasDefault {
		return tagScalar(t, s), nil
	}
	return tagSeq(enc, t, withDefault(key, hasDefault, def))
}

func tagSeq(enc *encoder, t Tag, args []any) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: t.TagName(), Style: yaml.FlowStyle}
	for i, a := range args {
		c, err := enc.value(a)
		if err != nil {
			return nil, fmt.Errorf("%s argument %d: %w", t.TagName(), i+1, err)
		}
		n.Content = append(n.Content, c)
	}
	return n, nil
}

// Decoding: how each tag's node becomes its value, with the arity
// authentik's constructors accept. authentik fails on some malformed tags
// only when it resolves them; Decode refuses them at once, with the line.

type tagDecoder func(d *decoder, n *yaml.Node, pos Pos) (Tag, error)

// tagDecoders is filled by init: the decoders refer to the decoder, whose
// error messages list the known tags.
var tagDecoders map[string]tagDecoder

func init() { tagDecoders = newTagDecoders() }

func newTagDecoders() map[string]tagDecoder {
	return map[string]tagDecoder{
		"!KeyOf": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			s, err := d.tagScalar(n, "!KeyOf id")
			return &KeyOf{ID: s, Pos: pos}, err
		},
		"!ParseJSON": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			s, err := d.tagScalar(n, "!ParseJSON text")
			return &ParseJSON{Raw: s, Pos: pos}, err
		},
		"!Value": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			depth, err := d.tagDepth(n, "!Value")
			return &EnumValue{Depth: depth, Pos: pos}, err
		},
		"!Index": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			depth, err := d.tagDepth(n, "!Index")
			return &EnumIndex{Depth: depth, Pos: pos}, err
		},
		"!Context": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			t := &Context{Pos: pos}
			return t, d.tagLookup(n, "!Context", &t.Key, &t.HasDefault, &t.Default)
		},
		"!Env": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			t := &Env{Pos: pos}
			return t, d.tagLookup(n, "!Env", &t.Name, &t.HasDefault, &t.Default)
		},
		"!File": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			t := &File{Pos: pos}
			return t, d.tagLookup(n, "!File", &t.Path, &t.HasDefault, &t.Default)
		},
		"!Find":       decodeFind(false),
		"!FindObject": decodeFind(true),
		"!Format": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			args, err := d.tagArgs(n, "!Format [format, args...]", 1, -1)
			if err != nil {
				return nil, err
			}
			return &Format{Format: args[0], Args: args[1:], Pos: pos}, nil
		},
		"!Condition": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			args, err := d.tagArgs(n, "!Condition [mode, values...] (at least one value)", 2, -1)
			if err != nil {
				return nil, err
			}
			return &Condition{Mode: args[0], Args: args[1:], Pos: pos}, nil
		},
		"!If": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			args, err := d.tagArgs(n, "!If [condition] or !If [condition, then, else]", 1, 3)
			if err != nil {
				return nil, err
			}
			switch len(args) {
			case 1:
				return &If{Condition: args[0], Short: true, Pos: pos}, nil
			case 3:
				return &If{Condition: args[0], Then: args[1], Else: args[2], Pos: pos}, nil
			}
			return nil, d.errorf(n, "!If takes [condition] or [condition, then, else], not %d values", len(args))
		},
		"!Enumerate": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			args, err := d.tagArgs(n, "!Enumerate [iterable, SEQ or MAP, body]", 3, 3)
			if err != nil {
				return nil, err
			}
			return &Enumerate{Iterable: args[0], Output: args[1], Body: args[2], Pos: pos}, nil
		},
		"!AtIndex": func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
			args, err := d.tagArgs(n, "!AtIndex [object, index] or [object, index, default]", 2, 3)
			if err != nil {
				return nil, err
			}
			t := &AtIndex{Object: args[0], Index: args[1], Pos: pos}
			if len(args) == 3 {
				t.Default, t.HasDefault = args[2], true
			}
			return t, nil
		},
	}
}

func findName(object bool) string {
	if object {
		return "!FindObject"
	}
	return "!Find"
}

func decodeFind(object bool) tagDecoder {
	name := findName(object)
	return func(d *decoder, n *yaml.Node, pos Pos) (Tag, error) {
		if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
			return nil, d.errorf(n, "%s takes [model, [field, value], ...]", name)
		}
		model, err := d.value(n.Content[0])
		if err != nil {
			return nil, err
		}
		t := &Find{Model: model, Object: object, Pos: pos}
		for _, c := range n.Content[1:] {
			c = d.deref(c)
			if c.Kind != yaml.SequenceNode || len(c.Content) != 2 {
				return nil, d.errorf(c, "%s: each condition is a [field, value] pair", name)
			}
			field, err := d.value(c.Content[0])
			if err != nil {
				return nil, err
			}
			value, err := d.value(c.Content[1])
			if err != nil {
				return nil, err
			}
			t.Conditions = append(t.Conditions, FindCondition{Field: field, Value: value})
		}
		return t, nil
	}
}
