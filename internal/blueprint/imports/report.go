package imports

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/blueprint"
)

// Category is what a Note is about.
type Category string

// What the objects do not carry.
const (
	// CategoryModel: an entry of a model stagehand does not serve (a
	// prompt, a user write stage, an email stage, ...).
	CategoryModel Category = "model"
	// CategoryPolicy: a policy; stagehand has no policy kinds.
	CategoryPolicy Category = "policy"
	// CategoryPolicyBinding: a policy bound to a flow or a binding.
	CategoryPolicyBinding Category = "policy binding"
	// CategoryAbsent: an entry of state absent, which deletes an object.
	CategoryAbsent Category = "absent"
	// CategoryCondition: an entry's conditions.
	CategoryCondition Category = "condition"
	// CategoryPermission: the object permissions an entry grants.
	CategoryPermission Category = "permission"
	// CategoryEnv and CategoryFile: values read from authentik's worker.
	CategoryEnv  Category = "!Env"
	CategoryFile Category = "!File"
	// CategoryTag: a value the import does not compute (!Enumerate,
	// !FindObject, a !Find it cannot read, ...).
	CategoryTag Category = "tag"
	// CategoryAttribute: an attribute of a served model that stagehand
	// does not model, or a value its kinds cannot hold.
	CategoryAttribute Category = "attribute"
	// CategoryReference: a reference that cannot be carried (to an
	// object the files do not declare, by a raw UUID; to a stage where
	// only a stage object can be named).
	CategoryReference Category = "reference"
	// CategoryPK: authentik's pks (in an export's identifiers), which
	// stagehand never carries: objects are found by slug and name.
	CategoryPK Category = "pk"
	// CategoryMeta: one of authentik's meta models (apply another
	// blueprint first, ...).
	CategoryMeta Category = "meta"
)

// What the user must do.
const (
	// CategorySecret: a captcha stage's private key, which the output
	// names (a Secret) but never holds.
	CategorySecret Category = "secret"
	// CategoryMissing: a reference to a flow or stage the files do not
	// declare: import its blueprint too, or create it.
	CategoryMissing Category = "missing"
	// CategoryDeviceType: a WebAuthn device type the output declares
	// from its AAGUID alone.
	CategoryDeviceType Category = "device type"
)

// What a reader should know.
const (
	// CategoryName: an object whose name is not its authentik identity.
	CategoryName Category = "name"
	// CategoryMerged: an object declared again, identically.
	CategoryMerged Category = "merged"
	// CategoryContext: a !Context without a value.
	CategoryContext Category = "context"
	// CategoryState: an entry of state created or must_created, carried
	// as present.
	CategoryState Category = "state"
	// CategoryBlueprint: something about the document as a whole.
	CategoryBlueprint Category = "blueprint"
	// CategorySource: a source the files refer to, given as a Source.
	CategorySource Category = "source"
)

// Class is how a Category counts in a report.
type Class int

// The classes of notes.
const (
	// NotCarried: something of the file the objects do not carry.
	NotCarried Class = iota
	// ToDo: something the user must do before the objects work.
	ToDo
	// Info: something the user should know.
	Info
)

// Class is the class of a category.
func (c Category) Class() Class {
	switch c {
	case CategorySecret, CategoryMissing, CategoryDeviceType:
		return ToDo
	case CategoryName, CategoryMerged, CategoryContext, CategoryState, CategoryBlueprint, CategorySource:
		return Info
	}
	return NotCarried
}

// Note is one thing a report says about a file.
type Note struct {
	File     string
	Pos      blueprint.Pos
	Category Category
	Msg      string
}

func (n Note) String() string {
	where := n.File
	if n.Pos.Line > 0 {
		where = fmt.Sprintf("%s:%d:%d", n.File, n.Pos.Line, n.Pos.Column)
	}
	return fmt.Sprintf("%s: %s: %s", where, n.Category, blueprint.CutMessage(n.Msg))
}

// Count is how many notes of each category, in the order categories
// first appear.
type Count struct {
	Category Category
	N        int
}

// Counts counts a file's notes of one class by category.
func (f *FileResult) Counts(class Class) []Count {
	var out []Count
	for _, n := range f.Notes {
		if n.Category.Class() != class {
			continue
		}
		i := slices.IndexFunc(out, func(c Count) bool { return c.Category == n.Category })
		if i < 0 {
			out = append(out, Count{Category: n.Category})
			i = len(out) - 1
		}
		out[i].N++
	}
	return out
}

// KindCounts counts a file's objects by kind, in the order of
// flowsv1alpha1.Kinds.
func (f *FileResult) KindCounts() []Count {
	var out []Count
	for _, k := range flowsv1alpha1.Kinds {
		n := 0
		for _, o := range f.Objects {
			if kindOf(o.Object) == k.Kind {
				n++
			}
		}
		if n > 0 {
			out = append(out, Count{Category: Category(plural(n, k.Kind, k.Kind+"s")), N: n})
		}
	}
	return out
}

// counts writes counts of objects ("1 Flow, 4 FlowStageBindings") or of
// notes ("policy 2, model 1").
func counts(cs []Count, objects bool) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		if objects {
			parts[i] = fmt.Sprintf("%d %s", c.N, c.Category)
		} else {
			parts[i] = fmt.Sprintf("%s %d", c.Category, c.N)
		}
	}
	return strings.Join(parts, ", ")
}

// WriteReport writes, for a person, what each file gave: the objects
// carried, by kind; what was not carried, what to do and what to know,
// each with the file and line; and, for a file that failed, why. The
// summary line says whether anything failed.
func WriteReport(w io.Writer, res *Result) {
	imported, failed, objects := 0, 0, 0
	for _, f := range res.Files {
		if f.Err != nil {
			failed++
			fmt.Fprintf(w, "%s: not imported:\n", f.File)
			for _, line := range errLines(f.Err) {
				fmt.Fprintf(w, "  %s\n", line)
			}
			continue
		}
		imported++
		objects += len(f.Objects)
		if len(f.Objects) == 0 {
			fmt.Fprintf(w, "%s: no objects\n", f.File)
		} else {
			fmt.Fprintf(w, "%s: %d %s (%s)\n", f.File, len(f.Objects), plural(len(f.Objects), "object", "objects"), counts(f.KindCounts(), true))
		}
		for _, class := range []struct {
			class Class
			title string
		}{{NotCarried, "not carried"}, {ToDo, "to do"}, {Info, "to know"}} {
			cs := f.Counts(class.class)
			if len(cs) == 0 {
				continue
			}
			fmt.Fprintf(w, "  %s: %s\n", class.title, counts(cs, false))
			for _, n := range f.Notes {
				if n.Category.Class() == class.class {
					fmt.Fprintf(w, "    %s\n", n)
				}
			}
		}
	}
	fmt.Fprintf(w, "%d %s imported (%d objects)", imported, plural(imported, "file", "files"), objects)
	if failed > 0 {
		fmt.Fprintf(w, ", %d failed", failed)
	}
	fmt.Fprintln(w)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// errLines is an error as lines: each of a joined error's errors.
func errLines(err error) []string {
	var out []string
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			out = append(out, errLines(e)...)
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}
