package imports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/stagehand-dev/stagehand/internal/blueprint"
	"github.com/stagehand-dev/stagehand/internal/python"
)

// A value is resolved as authentik resolves it when it applies the entry,
// as far as the files alone decide it. What is left is one of these:

// ref is a reference to an entry of the files: a !KeyOf, a !Find that
// finds an entry of the files, or a raw UUID that is an entry's pk.
type ref struct{ to *entry }

// outside is a !Find that finds nothing the files declare: an object that
// lives in authentik, found by its conditions.
type outside struct {
	model string
	conds []cond
	pos   blueprint.Pos
}

// cond is one condition of a !Find, computed: a Django lookup ("slug",
// "name__iexact") and a value.
type cond struct {
	field string
	value any
}

// unresolved is a value the files do not decide: it reads authentik's
// worker (!Env, !File), its database (a !Find the import cannot read), or
// is a tag the import does not evaluate.
type unresolved struct {
	tag blueprint.Tag
	why string
}

// contextKey names a computed context entry.
type contextKey struct {
	key    string
	noFind bool
}

// computed is a context entry's value, and how many values it holds.
type computed struct {
	value any
	size  int
}

// resolver computes values within one document.
type resolver struct {
	im  *importer
	doc *document
	// noFind leaves every !Find unresolved: entries are being classified,
	// and what a !Find finds depends on the classification.
	noFind bool
	// note, when set, records what a reader of the report should know
	// (a !Context without a value).
	note func(pos blueprint.Pos, c Category, format string, args ...any)
}

func (r *resolver) value(v any) any { return r.resolve(v, 0) }

// tooMany is what a value is when Options.MaxSteps stops it; the file
// then fails (importer.limitError).
func (r *resolver) tooMany(tag blueprint.Tag) unresolved {
	r.im.limited.steps++
	return unresolved{tag: tag, why: fmt.Sprintf("computing the values takes more than %d (%s)", r.im.opts.MaxSteps, FlagMaxSteps)}
}

// resolve computes a value, within Options.MaxDepth and MaxSteps: the
// depth bounds how deep values nest through the document's context (a
// !Context whose value is a !Context ...), which could otherwise loop.
func (r *resolver) resolve(v any, depth int) any {
	if depth > r.im.opts.MaxDepth {
		r.im.limited.depth++
		return unresolved{why: fmt.Sprintf("the value nests deeper than %d (%s)", r.im.opts.MaxDepth, FlagMaxDepth)}
	}
	r.im.steps++
	if r.im.steps > r.im.opts.MaxSteps {
		return r.tooMany(nil)
	}
	switch v := v.(type) {
	case nil, bool, int64, float64, string:
		return v
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = r.resolve(e, depth+1)
		}
		return out
	case blueprint.Map:
		out := make(blueprint.Map, len(v))
		for i, f := range v {
			out[i] = blueprint.Field{Key: f.Key, Value: r.resolve(f.Value, depth+1)}
		}
		return out
	case *blueprint.KeyOf:
		t := r.doc.bp.EntryByID(v.ID)
		if t == nil {
			// Validate refuses this; a document built in Go may not.
			return unresolved{tag: v, why: fmt.Sprintf("!KeyOf %s names no entry", v.ID)}
		}
		return ref{to: r.im.entryOf(t)}
	case *blueprint.Find:
		return r.find(v, depth)
	case *blueprint.Context:
		return r.context(v, depth)
	case *blueprint.Env:
		return unresolved{tag: v, why: blueprint.Show(v) + " reads an environment variable of authentik's worker"}
	case *blueprint.File:
		return unresolved{tag: v, why: blueprint.Show(v) + " reads a file on authentik's worker"}
	case *blueprint.Format:
		return r.format(v, depth)
	case *blueprint.If:
		c := r.resolve(v.Condition, depth+1)
		if !known(c) {
			return unresolved{tag: v, why: "!If depends on " + why(c)}
		}
		if v.Short {
			return truthy(c)
		}
		if truthy(c) {
			return r.resolve(v.Then, depth+1)
		}
		return r.resolve(v.Else, depth+1)
	case *blueprint.Condition:
		return r.condition(v, depth)
	case *blueprint.AtIndex:
		return r.atIndex(v, depth)
	case *blueprint.ParseJSON:
		out, err := parseJSON(v.Raw)
		if err != nil {
			return unresolved{tag: v, why: "!ParseJSON: " + err.Error()}
		}
		return out
	case blueprint.Tag:
		return unresolved{tag: v, why: v.TagName() + " is not evaluated by the import"}
	}
	return unresolved{why: fmt.Sprintf("a value of type %T", v)}
}

// find resolves a !Find: to the entry of the files it finds, else to the
// object outside them it names.
func (r *resolver) find(f *blueprint.Find, depth int) any {
	if f.Object {
		return unresolved{tag: f, why: "!FindObject copies an object of authentik's database"}
	}
	mv := r.resolve(f.Model, depth+1)
	if u, ok := mv.(unresolved); ok {
		return u
	}
	m, ok := mv.(string)
	if !ok {
		return unresolved{tag: f, why: "!Find's model is not a string the files decide"}
	}
	out := outside{model: m, pos: f.Pos}
	for _, c := range f.Conditions {
		field, ok := r.resolve(c.Field, depth+1).(string)
		if !ok {
			return unresolved{tag: f, why: "!Find's field is not a string the files decide"}
		}
		val := r.resolve(c.Value, depth+1)
		if !known(val) {
			return unresolved{tag: f, why: "!Find depends on " + why(val)}
		}
		out.conds = append(out.conds, cond{field: field, value: val})
		if (field == "pk" || field == "pk__exact") && val == nil {
			// No object has a null primary key: authentik finds nothing
			// and resolves the tag to null (blueprint.Null, how stagehand
			// writes an unset reference).
			return nil
		}
	}
	if r.noFind {
		return unresolved{tag: f, why: "!Find is resolved later"}
	}
	if en := r.im.findEntry(out); en != nil {
		return ref{to: en}
	}
	return out
}

// findEntry is the first entry of the files, applied, that a !Find finds,
// or nil.
func (im *importer) findEntry(o outside) *entry {
	if len(o.conds) == 0 {
		return nil
	}
	if len(o.conds) == 1 && o.conds[0].field == "pk" {
		if s, ok := o.conds[0].value.(string); ok {
			if en := im.byPK[normUUID(s)]; en != nil && covers(o.model, en.e.Model) {
				return en
			}
		}
		return nil
	}
	// The entries an exact condition on a string can match, in order:
	// every entry otherwise.
	candidates := im.entries
	for _, c := range o.conds {
		field, lookup, _ := strings.Cut(c.field, "__")
		if s, ok := c.value.(string); ok && (lookup == "" || lookup == "exact") {
			candidates = im.entriesWith(field, s)
			break
		}
	}
	for _, en := range candidates {
		if !en.live() || !covers(o.model, en.e.Model) {
			continue
		}
		if im.matches(en, o.conds) {
			return en
		}
	}
	return nil
}

// entriesWith are the entries whose field is the string value, in order:
// an index of the entries by each field a !Find looks up, made on first
// use, so that a file of many !Find is not quadratic.
func (im *importer) entriesWith(field, value string) []*entry {
	idx, ok := im.byField[field]
	if !ok {
		idx = map[string][]*entry{}
		for _, en := range im.entries {
			if v, ok := im.fieldValue(en, field); ok {
				if s, ok := v.(string); ok {
					idx[s] = append(idx[s], en)
				}
			}
		}
		im.byField[field] = idx
	}
	return idx[value]
}

// matches reports whether an entry's object has the values a !Find's
// conditions ask for. Exact and case-insensitive lookups of a field the
// entry sets are read; any other lookup does not match.
func (im *importer) matches(en *entry, conds []cond) bool {
	for _, c := range conds {
		field, lookup, _ := strings.Cut(c.field, "__")
		v, ok := im.fieldValue(en, field)
		if !ok {
			return false
		}
		switch lookup {
		case "", "exact":
			a, ok1 := v.(string)
			b, ok2 := c.value.(string)
			if ok1 && ok2 {
				// The common case, without Equal's canonical forms.
				if a != b {
					return false
				}
			} else if !blueprint.Equal(v, c.value) {
				return false
			}
		case "iexact":
			a, ok1 := v.(string)
			b, ok2 := c.value.(string)
			if !ok1 || !ok2 || !strings.EqualFold(a, b) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// fieldValue is an entry's field as a !Find compares it, computed from its
// document alone, once: each !Find compares the entries of its model, so
// computing them each time would make a file of many !Find quadratic in
// its values. A value a limit stopped is not kept.
func (im *importer) fieldValue(en *entry, field string) (any, bool) {
	key := fieldOf{en: en, field: field}
	if v, ok := im.fieldValues[key]; ok {
		return v, true
	}
	raw, ok := en.field(field)
	if !ok {
		return nil, false
	}
	before := im.limited
	v := (&resolver{im: im, doc: en.doc, noFind: true}).value(raw)
	if !im.limited.since(before).any() {
		im.fieldValues[key] = v
	}
	return v, true
}

// context resolves a !Context from the document's context, else its
// default. authentik merges the context its BlueprintInstance gives over
// the document's, which an import cannot know.
func (r *resolver) context(c *blueprint.Context, depth int) any {
	kv := r.resolve(c.Key, depth+1)
	if u, ok := kv.(unresolved); ok {
		return u
	}
	key, ok := kv.(string)
	if !ok {
		return unresolved{tag: c, why: "!Context's key is not a string the files decide"}
	}
	if v, ok := r.doc.bp.Context.Get(key); ok {
		// Each context entry is computed once (per kind of resolver), and
		// one that refers to itself, directly or not, is not computed.
		// A computed entry counts for its size each time it is used, so
		// that maxSteps also bounds the values that share it.
		mk := contextKey{key: key, noFind: r.noFind}
		if done, ok := r.doc.contextValues[mk]; ok {
			r.im.steps += done.size
			if r.im.steps > r.im.opts.MaxSteps {
				return r.tooMany(c)
			}
			return done.value
		}
		if r.doc.resolving[key] {
			return unresolved{tag: c, why: fmt.Sprintf("!Context %s refers to itself", key)}
		}
		r.doc.resolving[key] = true
		before := r.im.steps
		out := r.resolve(v, depth+1)
		delete(r.doc.resolving, key)
		r.doc.contextValues[mk] = computed{value: out, size: r.im.steps - before}
		return out
	}
	if c.HasDefault {
		return r.resolve(c.Default, depth+1)
	}
	if r.note != nil {
		r.note(c.Pos, CategoryContext, "!Context %s: the document's context has no %s and the tag no default: taken as null, as authentik does unless the blueprint instance's context sets it", key, key)
	}
	return nil
}

func (r *resolver) format(f *blueprint.Format, depth int) any {
	format, ok := r.resolve(f.Format, depth+1).(string)
	if !ok {
		return unresolved{tag: f, why: "!Format's format is not a string the files decide"}
	}
	args := make([]any, len(f.Args))
	for i, a := range f.Args {
		args[i] = r.resolve(a, depth+1)
		if !known(args[i]) {
			return unresolved{tag: f, why: "!Format depends on " + why(args[i])}
		}
	}
	s, err := pyFormat(format, args)
	if err != nil {
		return unresolved{tag: f, why: "!Format: " + err.Error()}
	}
	return s
}

func (r *resolver) condition(c *blueprint.Condition, depth int) any {
	mode, ok := r.resolve(c.Mode, depth+1).(string)
	if !ok {
		return unresolved{tag: c, why: "!Condition's mode is not a string the files decide"}
	}
	vals := make([]bool, len(c.Args))
	for i, a := range c.Args {
		v := r.resolve(a, depth+1)
		if !known(v) {
			return unresolved{tag: c, why: "!Condition depends on " + why(v)}
		}
		vals[i] = truthy(v)
	}
	xor := func() bool {
		out := vals[0]
		for _, v := range vals[1:] {
			out = out != v
		}
		return out
	}
	all := func(want bool) bool {
		for _, v := range vals {
			if v != want {
				return false
			}
		}
		return true
	}
	if len(vals) == 0 {
		return unresolved{tag: c, why: "!Condition has no values"}
	}
	switch strings.ToUpper(mode) {
	case "AND":
		return all(true)
	case "NAND":
		return !all(true)
	case "OR":
		return !all(false)
	case "NOR":
		return all(false)
	case "XOR":
		return xor()
	case "XNOR":
		return !xor()
	}
	return unresolved{tag: c, why: fmt.Sprintf("!Condition mode %q is none of AND, NAND, OR, NOR, XOR, XNOR", mode)}
}

func (r *resolver) atIndex(a *blueprint.AtIndex, depth int) any {
	obj := r.resolve(a.Object, depth+1)
	idx := r.resolve(a.Index, depth+1)
	if !known(obj) || !known(idx) {
		return unresolved{tag: a, why: "!AtIndex depends on values the files do not decide"}
	}
	missing := func() any {
		if a.HasDefault {
			return r.resolve(a.Default, depth+1)
		}
		return unresolved{tag: a, why: fmt.Sprintf("!AtIndex: no element %s, and no default", blueprint.Show(idx))}
	}
	switch o := obj.(type) {
	case []any:
		i, ok := idx.(int64)
		if !ok {
			return unresolved{tag: a, why: "!AtIndex of a list takes an integer index"}
		}
		if i < 0 {
			i += int64(len(o))
		}
		if i < 0 || i >= int64(len(o)) {
			return missing()
		}
		return o[i]
	case blueprint.Map:
		k, ok := idx.(string)
		if !ok {
			return missing()
		}
		if v, ok := o.Get(k); ok {
			return v
		}
		return missing()
	case string:
		i, ok := idx.(int64)
		if !ok || i < 0 || i >= int64(len(o)) {
			return missing()
		}
		return string(o[i])
	}
	return unresolved{tag: a, why: "!AtIndex of a value that is neither a list nor a mapping"}
}

// known reports whether a value is decided by the files (an outside
// object counts as not: it may or may not exist in authentik).
func known(v any) bool {
	ok := true
	walk(v, func(x any) {
		switch x.(type) {
		case unresolved, outside:
			ok = false
		}
	})
	return ok
}

// firstUnresolved is the first value in v the files do not decide, if
// any (an outside object is decided: it is a reference).
func firstUnresolved(v any) (unresolved, bool) {
	var out unresolved
	found := false
	walk(v, func(x any) {
		if u, ok := x.(unresolved); ok && !found {
			out, found = u, true
		}
	})
	return out, found
}

// hasUnresolved reports whether a value holds anything the files do not
// decide.
func hasUnresolved(v any) bool { return !known(v) }

// why says what makes a value unknown.
func why(v any) string {
	out := "values the files do not decide"
	walk(v, func(x any) {
		switch x := x.(type) {
		case unresolved:
			out = x.why
		case outside:
			out = "a !Find of " + x.model + " that finds nothing in the files"
		}
	})
	return out
}

// walk calls fn for v and every value in it.
func walk(v any, fn func(any)) {
	fn(v)
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			walk(e, fn)
		}
	case blueprint.Map:
		for _, f := range v {
			walk(f.Value, fn)
		}
	}
}

// truthy is Python's bool() of a value: null, false, 0, "", [] and {}
// are false.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int64:
		return v != 0
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case blueprint.Map:
		return len(v) > 0
	}
	return true // a reference: a pk
}

var pyFormatVerb = regexp.MustCompile(`%(%|[sdirf])`)

// pyFormat is Python's format % tuple(args), for the conversions
// blueprints use: %s, %d (%i), %r, %f and %%.
func pyFormat(format string, args []any) (string, error) {
	var errs []error
	i := 0
	out := pyFormatVerb.ReplaceAllStringFunc(format, func(verb string) string {
		if verb == "%%" {
			return "%"
		}
		if i >= len(args) {
			errs = append(errs, errors.New("not enough arguments for format string"))
			return ""
		}
		a := args[i]
		i++
		switch verb {
		case "%d", "%i":
			switch n := a.(type) {
			case int64:
				return strconv.FormatInt(n, 10)
			case float64:
				return strconv.FormatInt(int64(n), 10)
			case bool:
				if n {
					return "1"
				}
				return "0"
			}
			errs = append(errs, fmt.Errorf("%%d format: a number is required, not %s", blueprint.Show(a)))
			return ""
		case "%f":
			switch n := a.(type) {
			case int64:
				return strconv.FormatFloat(float64(n), 'f', 6, 64)
			case float64:
				return strconv.FormatFloat(n, 'f', 6, 64)
			}
			errs = append(errs, fmt.Errorf("%%f format: a number is required, not %s", blueprint.Show(a)))
			return ""
		case "%r":
			if s, ok := a.(string); ok {
				return "'" + s + "'"
			}
		}
		s, err := pyStr(a)
		if err != nil {
			errs = append(errs, err)
		}
		return s
	})
	if i < len(args) && len(errs) == 0 {
		errs = append(errs, errors.New("not all arguments converted during string formatting"))
	}
	if rest := pyFormatVerb.ReplaceAllString(format, ""); strings.Contains(rest, "%") {
		errs = append(errs, fmt.Errorf("a conversion other than %%s, %%d, %%i, %%r, %%f or %%%% in %q", format))
	}
	return out, errors.Join(errs...)
}

// pyStr is Python's str() of a scalar.
func pyStr(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "None", nil
	case bool:
		if v {
			return "True", nil
		}
		return "False", nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return python.Float(v), nil
	case string:
		return v, nil
	}
	return "", fmt.Errorf("%s cannot be formatted by the import", blueprint.Show(v))
}

// parseJSON reads JSON as blueprint values: integers as int64, other
// numbers as float64, objects as Maps in order.
func parseJSON(raw string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.UseNumber()
	v, err := jsonValue(dec)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("extra data after the JSON value")
	}
	return v, nil
}

func jsonValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			out := []any{}
			for dec.More() {
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token()
			return out, err
		case '{':
			out := blueprint.Map{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				out.Set(k.(string), v)
			}
			_, err := dec.Token()
			return out, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i, nil
		}
		return t.Float64()
	}
	return tok, nil
}

// uuidPattern is a UUID as authentik's serializers write one.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// normUUID is a UUID in its canonical form, lowercase with hyphens, so
// that two spellings of one pk compare equal; other strings are returned
// as they are.
func normUUID(s string) string {
	if !uuidPattern.MatchString(s) {
		return s
	}
	h := strings.ToLower(strings.ReplaceAll(s, "-", ""))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// isUUID reports whether s is a UUID.
func isUUID(s string) bool { return uuidPattern.MatchString(s) }

// entryOf is the entry struct of a decoded entry.
func (im *importer) entryOf(e *blueprint.Entry) *entry {
	en, ok := im.byEntry[e]
	if !ok {
		panic("an entry of no document")
	}
	return en
}
