package blueprint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Error is a problem with a blueprint file, at a place in it.
type Error struct {
	// File names the file, as the caller of Decode named it.
	File string
	// Pos is where the problem is; zero when it is the whole file.
	Pos Pos
	// Msg says what is wrong.
	Msg string
}

// Error writes the file, the position and the message, cut at
// MessageLimit: an error names what is wrong and where, and never prints a
// whole value of the file.
func (e *Error) Error() string {
	msg := CutMessage(e.Msg)
	switch {
	case e.File == "" && e.Pos.Line == 0:
		return msg
	case e.File == "":
		return fmt.Sprintf("line %d: %s", e.Pos.Line, msg)
	case e.Pos.Line == 0:
		return e.File + ": " + msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Column, msg)
}

// maxValues bounds the values one document may expand to, so that a few
// lines of aliases (a "billion laughs") cannot exhaust memory.
const maxValues = 1 << 20

// Decode reads one blueprint document, as authentik reads it: YAML 1.1
// typing of plain scalars (yes is true, 0777 is 511), every tag of
// authentik's BlueprintLoader, a missing version taken as 1. It is stricter
// than authentik where authentik would silently do something else than the
// file says: an unknown field, a duplicate key, a version other than 1, a
// tag authentik does not know or with the wrong arguments, more than one
// YAML document, or a merge key (<<) are errors. Every error is an *Error
// naming the file (name) and, where there is one, the line and column.
//
// Decode checks the document's form, not its meaning: a !KeyOf to a missing
// id is for Validate (or the caller) to find.
func Decode(name string, data []byte) (*Blueprint, error) {
	d := &decoder{file: name, lines: lineCount(data)}
	yd := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := yd.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Msg: "the file is empty: it holds no blueprint"}
		}
		return nil, d.syntaxError(err)
	}
	var extra yaml.Node
	if err := yd.Decode(&extra); err == nil {
		return nil, d.errorf(&extra, "a blueprint file holds one YAML document; this is a second one")
	} else if !errors.Is(err, io.EOF) {
		return nil, d.syntaxError(err)
	}
	if len(doc.Content) != 1 {
		return nil, &Error{File: name, Msg: "the file holds no blueprint"}
	}
	return d.blueprint(doc.Content[0])
}

type decoder struct {
	file   string
	lines  int
	values int
}

// lineCount is how many lines data has.
func lineCount(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// parserProblems are the problems yaml.v3's parser (as opposed to its
// scanner) reports. For them it gives the line, counted from 0, where the
// construct it was parsing began (a flow sequence's "["), or where the
// problem is; its scanner counts from 1.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) *Error {
	return &Error{File: d.file, Pos: pos(n), Msg: fmt.Sprintf(format, args...)}
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Column: n.Column} }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns the YAML library's "yaml: line 3: ..." into an *Error.
func (d *decoder) syntaxError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if slices.Contains(parserProblems, m[2]) {
			// Counted from 1, and within the file: a problem at its end
			// is on its last line.
			line = min(line+1, max(d.lines, 1))
		}
		return &Error{File: d.file, Pos: Pos{Line: line, Column: 1}, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{File: d.file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// deref follows an alias to the node it names.
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// fields walks a mapping's keys, refusing merge keys, duplicate keys and,
// when known is not nil, keys it does not list.
func (d *decoder) fields(n *yaml.Node, what string, known []string, fn func(key string, k, v *yaml.Node) error) error {
	n = d.deref(n)
	if n.Kind != yaml.MappingNode {
		return d.errorf(n, "%s must be a mapping", what)
	}
	if isCustomTag(n) {
		return d.errorf(n, "%s cannot be a %s tag", what, Show(n.Tag))
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.deref(n.Content[i]), n.Content[i+1]
		key, err := d.key(k)
		if err != nil {
			return err
		}
		if first, dup := seen[key]; dup {
			return d.errorf(k, "duplicate key %s in %s (first at line %d)", Quote(key), what, first.Line)
		}
		seen[key] = k
		if known != nil && !slices.Contains(known, key) {
			return d.errorf(k, "unknown field %s in %s (known: %s)", Quote(key), what, strings.Join(known, ", "))
		}
		if err := fn(key, k, v); err != nil {
			return err
		}
	}
	return nil
}

// key is a mapping key: a scalar that authentik reads as a string.
func (d *decoder) key(k *yaml.Node) (string, error) {
	if k.Kind != yaml.ScalarNode || isCustomTag(k) {
		return "", d.errorf(k, "a mapping key must be a string")
	}
	if isPlain(k) {
		switch resolvePlain(k.Value) {
		case plainString:
		case plainMerge:
			return "", d.errorf(k, "merge keys (<<) are not supported: write the keys out")
		default:
			return "", d.errorf(k, "mapping key %s is not a string (YAML 1.1 reads it as another type): quote it", Show(k.Value))
		}
	}
	return k.Value, nil
}

func isPlain(n *yaml.Node) bool {
	return n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) == 0
}

// isCustomTag reports whether n carries an explicit local tag (!KeyOf), as
// opposed to none or a standard one (!!str).
func isCustomTag(n *yaml.Node) bool {
	return n.Style&yaml.TaggedStyle != 0 && strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")
}

func (d *decoder) blueprint(n *yaml.Node) (*Blueprint, error) {
	b := &Blueprint{Version: Version, File: d.file}
	err := d.fields(n, "the blueprint", []string{"version", "metadata", "context", "entries"}, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "version":
			var version int64
			if version, err = d.int(v, "version"); err == nil && version != Version {
				return d.errorf(v, "version %d is not supported: authentik reads blueprints of version %d", version, Version)
			}
		case "metadata":
			b.Metadata, err = d.metadata(v)
		case "context":
			b.Context, err = d.mapOrNull(v, "context")
		case "entries":
			b.Entries, err = d.entries(v)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (d *decoder) metadata(n *yaml.Node) (*Metadata, error) {
	if isNull(d.deref(n)) {
		return nil, nil
	}
	m := &Metadata{}
	hasName := false
	err := d.fields(n, "metadata", []string{"name", "labels"}, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "name":
			m.Name, err = d.str(v, "metadata.name")
			hasName = true
		case "labels":
			if isNull(d.deref(v)) {
				return nil
			}
			m.Labels = map[string]string{}
			err = d.fields(v, "metadata.labels", nil, func(label string, _, lv *yaml.Node) error {
				s, err := d.str(lv, "label "+Show(label))
				m.Labels[label] = s
				return err
			})
		}
		return err
	})
	if err == nil && !hasName {
		err = d.errorf(n, "metadata.name is required")
	}
	return m, err
}

// entries reads the list of entries, or authentik's other form, a mapping
// of section names to lists.
func (d *decoder) entries(n *yaml.Node) ([]Entry, error) {
	n = d.deref(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind == yaml.MappingNode && !isCustomTag(n) {
		var out []Entry
		err := d.fields(n, "entries", nil, func(section string, _, v *yaml.Node) error {
			es, err := d.entryList(v, section)
			out = append(out, es...)
			return err
		})
		return out, err
	}
	return d.entryList(n, "")
}

func (d *decoder) entryList(n *yaml.Node, section string) ([]Entry, error) {
	n = d.deref(n)
	if n.Kind != yaml.SequenceNode || isCustomTag(n) {
		return nil, d.errorf(n, "entries must be a list of entries")
	}
	out := make([]Entry, 0, len(n.Content))
	for _, en := range n.Content {
		e, err := d.entry(en)
		if err != nil {
			return nil, err
		}
		e.Section = section
		out = append(out, e)
	}
	return out, nil
}

func (d *decoder) entry(n *yaml.Node) (Entry, error) {
	e := Entry{Pos: pos(d.deref(n))}
	hasModel := false
	err := d.fields(n, "an entry", []string{"model", "id", "state", "conditions", "identifiers", "attrs", "permissions"}, func(key string, k, v *yaml.Node) error {
		var err error
		switch key {
		case "model":
			e.Model, err = d.str(v, "model")
			hasModel = true
		case "id":
			if !isNull(d.deref(v)) {
				e.ID, err = d.str(v, "id")
			}
		case "state":
			var s string
			if s, err = d.str(v, "state"); err == nil {
				e.State = State(s)
				if !slices.Contains(States, e.State) {
					err = d.errorf(v, "unknown state %s: authentik knows present, absent, created and must_created", Quote(s))
				}
			}
		case "conditions":
			e.Conditions, err = d.list(v, "conditions")
		case "identifiers":
			e.Identifiers, err = d.mapOrNull(v, "identifiers")
		case "attrs":
			e.Attrs, err = d.mapOrNull(v, "attrs")
		case "permissions":
			e.Permissions, err = d.permissions(v)
		}
		return err
	})
	if err == nil && !hasModel {
		err = d.errorf(n, "an entry needs a model")
	}
	return e, err
}

func (d *decoder) permissions(n *yaml.Node) ([]Permission, error) {
	n = d.deref(n)
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode || isCustomTag(n) {
		return nil, d.errorf(n, "permissions must be a list")
	}
	var out []Permission
	for _, pn := range n.Content {
		var p Permission
		has := false
		err := d.fields(pn, "a permission", []string{"permission", "user", "role"}, func(key string, _, v *yaml.Node) error {
			val, err := d.value(v)
			switch key {
			case "permission":
				p.Permission, has = val, true
			case "user":
				p.User = val
			case "role":
				p.Role = val
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if !has {
			return nil, d.errorf(pn, "a permission needs its permission")
		}
		out = append(out, p)
	}
	return out, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && ((isPlain(n) && resolvePlain(n.Value) == plainNull) || (n.Style&yaml.TaggedStyle != 0 && n.Tag == "!!null"))
}

// str reads a field that must be a string (a plain scalar that YAML 1.1
// reads as something else is not one).
func (d *decoder) str(n *yaml.Node, what string) (string, error) {
	v, err := d.value(n)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", d.errorf(d.deref(n), "%s must be a string", what)
	}
	return s, nil
}

func (d *decoder) int(n *yaml.Node, what string) (int64, error) {
	v, err := d.value(n)
	if err != nil {
		return 0, err
	}
	i, ok := v.(int64)
	if !ok {
		return 0, d.errorf(d.deref(n), "%s must be an integer", what)
	}
	return i, nil
}

func (d *decoder) list(n *yaml.Node, what string) ([]any, error) {
	v, err := d.value(n)
	if err != nil || v == nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, d.errorf(d.deref(n), "%s must be a list", what)
	}
	return l, nil
}

func (d *decoder) mapOrNull(n *yaml.Node, what string) (Map, error) {
	v, err := d.value(n)
	if err != nil || v == nil {
		return nil, err
	}
	m, ok := v.(Map)
	if !ok {
		return nil, d.errorf(d.deref(n), "%s must be a mapping", what)
	}
	return m, nil
}

// value reads any value: a scalar typed as YAML 1.1 types it, a sequence, a
// mapping or one of authentik's tags.
func (d *decoder) value(n *yaml.Node) (any, error) {
	n = d.deref(n)
	d.values++
	if d.values > maxValues {
		return nil, d.errorf(n, "the document expands to more than %d values (aliases?)", maxValues)
	}
	if isCustomTag(n) {
		dec, ok := tagDecoders[n.Tag]
		if !ok {
			return nil, d.errorf(n, "unknown tag %s: authentik knows %s", Show(n.Tag), strings.Join(knownTags(), ", "))
		}
		return dec(d, n, pos(n))
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return d.scalar(n)
	case yaml.SequenceNode:
		if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!seq" {
			return nil, d.errorf(n, "unsupported tag %s", Show(n.Tag))
		}
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := d.value(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!map" {
			return nil, d.errorf(n, "unsupported tag %s", Show(n.Tag))
		}
		out := Map{}
		err := d.fields(n, "a mapping", nil, func(key string, _, v *yaml.Node) error {
			val, err := d.value(v)
			out = append(out, Field{Key: key, Value: val})
			return err
		})
		return out, err
	case yaml.AliasNode:
		return nil, d.errorf(n, "alias *%s names no anchor", Show(n.Value))
	}
	return nil, d.errorf(n, "unexpected YAML node")
}

func (d *decoder) scalar(n *yaml.Node) (any, error) {
	if n.Style&yaml.TaggedStyle != 0 {
		var v any
		var err error
		switch n.Tag {
		case "!!str", "!":
			return n.Value, nil
		case "!!null":
			return nil, nil
		case "!!bool":
			v, err = parseBool11(n.Value)
		case "!!int":
			v, err = parseInt11(n.Value)
		case "!!float":
			v, err = parseFloat11(n.Value)
		default:
			return nil, d.errorf(n, "unsupported tag %s", Show(n.Tag))
		}
		if err != nil {
			return nil, d.errorf(n, "%v", err)
		}
		return v, nil
	}
	if !isPlain(n) {
		return n.Value, nil
	}
	var v any
	var err error
	switch resolvePlain(n.Value) {
	case plainNull:
		return nil, nil
	case plainBool:
		v, err = parseBool11(n.Value)
	case plainInt:
		v, err = parseInt11(n.Value)
	case plainFloat:
		v, err = parseFloat11(n.Value)
	case plainMerge:
		return nil, d.errorf(n, "merge keys (<<) are not supported: write the keys out")
	default:
		// Strings, and YAML 1.1 timestamps (2026-04-01), which authentik
		// reads as dates and its serializers accept as strings too.
		return n.Value, nil
	}
	if err != nil {
		return nil, d.errorf(n, "%v", err)
	}
	return v, nil
}

func knownTags() []string {
	names := make([]string, 0, len(tagDecoders))
	for name := range tagDecoders {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Helpers for the tag decoders in tags.go.

func (d *decoder) tagScalar(n *yaml.Node, usage string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", d.errorf(n, "the tag is written %s", usage)
	}
	return n.Value, nil
}

func (d *decoder) tagDepth(n *yaml.Node, name string) (int, error) {
	if n.Kind == yaml.ScalarNode {
		if depth, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil && depth >= 0 {
			return depth, nil
		}
	}
	return 0, d.errorf(n, "%s takes a depth, a number from 0", name)
}

// tagLookup reads !Context, !Env and !File: key, or [key, default].
func (d *decoder) tagLookup(n *yaml.Node, name string, key *any, hasDefault *bool, def *any) error {
	switch {
	case n.Kind == yaml.ScalarNode:
		*key = n.Value
		return nil
	case n.Kind == yaml.SequenceNode && len(n.Content) == 2:
		var err error
		if *key, err = d.value(n.Content[0]); err != nil {
			return err
		}
		*def, err = d.value(n.Content[1])
		*hasDefault = true
		return err
	}
	return d.errorf(n, "%s takes a key, or [key, default]", name)
}

// tagArgs reads a tag's sequence of arguments, at least least and, unless
// most is negative, at most most.
func (d *decoder) tagArgs(n *yaml.Node, usage string, least, most int) ([]any, error) {
	if n.Kind != yaml.SequenceNode || len(n.Content) < least || (most >= 0 && len(n.Content) > most) {
		return nil, d.errorf(n, "the tag is written %s", usage)
	}
	out := make([]any, 0, len(n.Content))
	for _, c := range n.Content {
		v, err := d.value(c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
