package imports

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// File is one blueprint file: its name, as messages give it, and its
// content.
type File struct {
	Name string
	Data []byte
}

// Options change what Import writes. The zero value is the default.
type Options struct {
	// Namespace, when set, is the namespace of every namespaced object.
	// Empty leaves it unset, for kubectl apply -n or kustomize to decide.
	Namespace string

	// MaxSteps bounds the values the import computes for one file (each
	// value of an entry, of the context entries it reads, of the entries a
	// !Find compares), so that a document whose values grow exponentially
	// (a context entry that is a list of two !Context of another, that one
	// of two of a third, ...) is refused rather than computed. Zero is
	// DefaultMaxSteps.
	MaxSteps int

	// MaxDepth bounds how deep one value nests, through the document's
	// context (a !Context whose value is a !Context ...) too. Zero is
	// DefaultMaxDepth.
	MaxDepth int
}

// The default limits. A file that reaches one is not imported: its error
// names the entries the limit stopped and the flag that raises it.
const (
	DefaultMaxSteps = 1 << 22
	DefaultMaxDepth = 64
)

// The limits, as the command's flags name them.
const (
	FlagMaxSteps = "--max-steps"
	FlagMaxDepth = "--max-depth"
)

// Result is what Import made of the files given.
type Result struct {
	// Files has one FileResult per file, in the order given.
	Files []*FileResult
}

// FileResult is what one file gave.
type FileResult struct {
	// File is the file's name.
	File string

	// Err says why the file could not be imported: a decoding or
	// validation error (*blueprint.Error, with the line), or every problem
	// with its entries, joined. A file that failed gives no objects; its
	// notes may be incomplete.
	Err error

	// Objects are the stagehand objects the file declares, in the order of
	// its entries, followed by the sources and WebAuthn device types it
	// refers to without declaring them. An object an earlier file already
	// gave, identically, is not repeated (a note says so).
	Objects []Object

	// Notes report what the file holds that Objects do not carry, and
	// what the user must do, in the order of the file.
	Notes []Note
}

// Object is one stagehand object, with where it comes from.
type Object struct {
	client.Object

	// File and Pos are where it comes from: the entry (or, for a source
	// or device type the file only refers to, the reference).
	File string
	Pos  blueprint.Pos

	// From says what it comes from, for a person: the entry's model and
	// identity.
	From string
}

// Objects are the objects of every file that imported, in order.
func (r *Result) Objects() []Object {
	var out []Object
	for _, f := range r.Files {
		if f.Err == nil {
			out = append(out, f.Objects...)
		}
	}
	return out
}

// Err joins the errors of the files that failed, nil when none did.
func (r *Result) Err() error {
	var errs []error
	for _, f := range r.Files {
		if f.Err != nil {
			errs = append(errs, f.Err)
		}
	}
	return errors.Join(errs...)
}

// Import reads the files and turns what they declare into stagehand
// objects. References between files resolve (a !Find in one of an object
// another declares, a raw UUID that is another's pk), so files that
// authentik would apply together import together. Two files that declare
// one object differently conflict: the later one fails.
//
// Import fails as a whole only for bad Options; a problem with a file is
// its FileResult's Err.
func Import(files []File, opts Options) (*Result, error) {
	if opts.MaxSteps < 0 || opts.MaxDepth < 0 {
		return nil, fmt.Errorf("the limits must not be negative (max steps %d, max depth %d)", opts.MaxSteps, opts.MaxDepth)
	}
	if opts.MaxSteps == 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if opts.MaxDepth == 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.Namespace != "" {
		if errs := validation.IsDNS1123Label(opts.Namespace); len(errs) > 0 {
			return nil, fmt.Errorf("namespace %q: %s", opts.Namespace, strings.Join(errs, "; "))
		}
	}
	im := newImporter(opts)
	res := &Result{}
	for _, f := range files {
		fr := &FileResult{File: f.Name}
		res.Files = append(res.Files, fr)
		d := &document{file: f.Name, res: fr, contextValues: map[contextKey]computed{}, resolving: map[string]bool{}}
		bp, err := blueprint.Decode(f.Name, f.Data)
		if err == nil {
			err = bp.Validate()
		}
		if err != nil {
			fr.Err = err
			continue
		}
		d.bp = bp
		im.docs = append(im.docs, d)
	}
	im.run()
	return res, nil
}

// importer holds every document and what is known across them.
type importer struct {
	opts Options
	docs []*document

	// entries of every document, in order.
	entries []*entry
	byEntry map[*blueprint.Entry]*entry
	// byPK finds an entry by the pk its identifiers give (the exporter's).
	byPK map[string]*entry

	names *namer
	// steps counts the values computed (resolver.resolve) for one file.
	steps int
	// limited are the limits that stopped a value, since the import
	// began: an entry whose conversion adds to it is not carried whole.
	limited limits
	// fieldValues are entries' fields as a !Find compares them, computed
	// once (resolver.matches).
	fieldValues map[fieldOf]any
	// byField indexes the entries by the string value of a field
	// (entriesWith).
	byField map[string]map[string][]*entry
}

// fieldOf names one field of one entry.
type fieldOf struct {
	en    *entry
	field string
}

// limits counts the values each limit stopped.
type limits struct{ steps, depth int }

func (l limits) any() bool { return l.steps+l.depth > 0 }

// since is what was stopped after before was taken.
func (l limits) since(before limits) limits {
	return limits{steps: l.steps - before.steps, depth: l.depth - before.depth}
}

func (l *limits) add(o limits) { l.steps += o.steps; l.depth += o.depth }

// document is one decoded file.
type document struct {
	file string
	bp   *blueprint.Blueprint
	res  *FileResult
	errs []error
	// objects made from the file, in the order of its entries.
	objects []Object
	// stubs are the sources and device types the file refers to without
	// declaring them.
	stubs []Object
	// contextValues are the document's context entries, computed;
	// resolving those being computed.
	contextValues map[contextKey]computed
	resolving     map[string]bool
}

func (d *document) note(pos blueprint.Pos, c Category, format string, args ...any) {
	d.res.Notes = append(d.res.Notes, Note{File: d.file, Pos: pos, Category: c, Msg: fmt.Sprintf(format, args...)})
}

func (d *document) errorf(pos blueprint.Pos, format string, args ...any) {
	d.errs = append(d.errs, &blueprint.Error{File: d.file, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func newImporter(opts Options) *importer {
	return &importer{opts: opts, byPK: map[string]*entry{}, byEntry: map[*blueprint.Entry]*entry{}, names: newNamer(), fieldValues: map[fieldOf]any{}, byField: map[string]map[string][]*entry{}}
}

// limitError is the error of a file some of whose entries a limit stopped:
// it names them, the limit, and the flag that raises it.
func (im *importer) limitError(d *document, stopped []*entry, l limits) error {
	var which []string
	if l.steps > 0 {
		which = append(which, fmt.Sprintf("computing them takes more than %d values (%s)", im.opts.MaxSteps, FlagMaxSteps))
	}
	if l.depth > 0 {
		which = append(which, fmt.Sprintf("their values nest deeper than %d (%s)", im.opts.MaxDepth, FlagMaxDepth))
	}
	const shown = 3
	names := make([]string, 0, shown+1)
	for i, en := range stopped {
		if i == shown {
			names = append(names, fmt.Sprintf("and %d more", len(stopped)-shown))
			break
		}
		names = append(names, fmt.Sprintf("line %d: %s", en.e.Pos.Line, en.describe()))
	}
	flags := FlagMaxSteps
	switch {
	case l.steps > 0 && l.depth > 0:
		flags = FlagMaxSteps + " and " + FlagMaxDepth
	case l.depth > 0:
		flags = FlagMaxDepth
	}
	return &blueprint.Error{File: d.file, Pos: stopped[0].e.Pos, Msg: fmt.Sprintf(
		"a limit stopped %d %s, so the file is not imported: %s; raise %s to import it. Stopped: %s",
		len(stopped), plural(len(stopped), "entry", "entries"), strings.Join(which, ", and "), flags, strings.Join(names, "; "))}
}

func (im *importer) run() {
	// Every entry, what it is, and whether authentik would apply it at
	// all, before any reference is followed.
	for _, d := range im.docs {
		for i := range d.bp.Entries {
			en := &entry{doc: d, e: &d.bp.Entries[i], index: i}
			im.entries = append(im.entries, en)
			im.byEntry[en.e] = en
		}
	}
	for _, en := range im.entries {
		im.steps = 0
		before := im.limited
		im.classify(en)
		en.classifyLimited = im.limited.since(before)
	}
	for _, en := range im.entries {
		if pk, ok := en.e.Identifiers.Get("pk"); ok {
			if s, ok := pk.(string); ok && en.live() {
				if _, dup := im.byPK[normUUID(s)]; !dup {
					im.byPK[normUUID(s)] = en
				}
			}
		}
	}
	// Names, from every identity the files declare or refer to, so that
	// they do not depend on the order of the files.
	im.reserveNames()
	for _, d := range im.docs {
		im.convert(d)
	}
	im.merge()
}

// merge accepts the files in order: a file whose objects conflict with
// those of a file accepted before it fails; an object declared again,
// identically, is given once.
func (im *importer) merge() {
	type first struct {
		file string
		pos  blueprint.Pos
		spec string
	}
	accepted := map[string]first{}
	declared := map[string]bool{}
	for _, d := range im.docs {
		if len(d.errs) > 0 {
			d.res.Err = errors.Join(d.errs...)
			continue
		}
		var conflicts []error
		var keep []Object
		mine := map[string]first{}
		for _, o := range d.objects {
			key := objectKey(o.Object)
			spec := specOf(o.Object)
			f, ok := accepted[key]
			if !ok {
				f, ok = mine[key]
			}
			if ok {
				if f.spec == spec {
					d.note(o.Pos, CategoryMerged, "%s %s is also declared by %s:%s, identically: given once", kindOf(o.Object), o.GetName(), f.file, f.pos)
					continue
				}
				conflicts = append(conflicts, &blueprint.Error{File: d.file, Pos: o.Pos, Msg: fmt.Sprintf(
					"%s (%s %s) is also declared by %s:%s, differently: import the two files separately, or make them agree", o.From, kindOf(o.Object), o.GetName(), f.file, f.pos)})
				continue
			}
			keep = append(keep, o)
			mine[key] = first{file: d.file, pos: o.Pos, spec: spec}
		}
		if len(conflicts) > 0 {
			d.res.Err = errors.Join(conflicts...)
			continue
		}
		for key, f := range mine {
			accepted[key] = f
			declared[key] = true
		}
		d.res.Objects = keep
	}
	// Sources and device types that are only referred to are given once,
	// and not at all when a file declares them.
	stubbed := map[string]bool{}
	for _, d := range im.docs {
		if d.res.Err != nil {
			continue
		}
		for _, o := range d.stubs {
			key := objectKey(o.Object)
			if declared[key] || stubbed[key] {
				continue
			}
			stubbed[key] = true
			d.res.Objects = append(d.res.Objects, o)
		}
	}
}

func objectKey(obj client.Object) string { return kindOf(obj) + "/" + obj.GetName() }

// specOf is an object's spec (and name), as JSON, to compare declarations.
func specOf(obj client.Object) string {
	v := reflect.ValueOf(obj).Elem().FieldByName("Spec")
	data, err := json.Marshal(v.Interface())
	if err != nil {
		panic(fmt.Sprintf("a stagehand spec does not marshal: %v", err))
	}
	return string(data)
}

func kindOf(obj client.Object) string { return flowsv1alpha1.KindOf(obj) }

// newObject is an empty object of a stagehand kind, named, with its type
// meta set (manifests carry apiVersion and kind).
func (im *importer) newObject(kind, name string) client.Object {
	obj, err := flowsv1alpha1.New(kind)
	if err != nil {
		panic(err)
	}
	obj.GetObjectKind().SetGroupVersionKind(flowsv1alpha1.GroupVersion.WithKind(kind))
	obj.SetName(name)
	if k, _ := flowsv1alpha1.LookupKind(kind); !k.ClusterScoped {
		obj.SetNamespace(im.opts.Namespace)
	}
	return obj
}
