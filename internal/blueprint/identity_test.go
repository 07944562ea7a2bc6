package blueprint

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	flowModel    = "authentik_flows.flow"
	bindingModel = "authentik_flows.flowstagebinding"
	pwModel      = "authentik_stages_password.passwordstage"
)

func flowDoc(stages []string, bindings map[string]int64) *Blueprint {
	doc := &Blueprint{Version: 1, Entries: []Entry{
		{Model: flowModel, ID: "flow", State: StatePresent, Identifiers: Map{{"slug", "login"}}, Attrs: Map{{"title", "Login"}}},
	}}
	for _, s := range stages {
		doc.Entries = append(doc.Entries, Entry{Model: pwModel, ID: s, State: StatePresent, Identifiers: Map{{"name", s}}})
	}
	for _, s := range stages {
		if order, ok := bindings[s]; ok {
			doc.Entries = append(doc.Entries, Entry{Model: bindingModel, State: StatePresent, Identifiers: Map{
				{"target", &KeyOf{ID: "flow"}}, {"stage", &KeyOf{ID: s}}, {"order", order},
			}})
		}
	}
	return doc
}

func standaloneBinding(stage string, order int64) Entry {
	return Entry{Model: bindingModel, State: StateAbsent, Identifiers: Map{
		{"target", FindBy(flowModel, "slug", "login")},
		{"stage", FindBy(pwModel, "name", stage)},
		{"order", order},
	}}
}

// An entry's identity is the object it writes: a !KeyOf counts as the
// !Find of its entry, identifiers in any order, attrs and ids do not count.
func TestIdentity(t *testing.T) {
	doc := flowDoc([]string{"pw"}, map[string]int64{"pw": 10})
	binding := &doc.Entries[2]
	got, err := Identity(doc, binding)
	if err != nil {
		t.Fatal(err)
	}
	other := &Blueprint{Version: 1, Entries: []Entry{{Model: bindingModel, ID: "b", Attrs: Map{{"order", 99}}, Identifiers: Map{
		{"order", 10}, // an int, not an int64: the same number
		{"stage", &Find{Model: pwModel, Conditions: []FindCondition{{"name", "pw"}}}},
		{"target", FindBy(flowModel, "slug", "login")},
	}}}}
	want, err := Identity(other, &other.Entries[0])
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("identities differ:\n %s\n %s", got, want)
	}
	changed := flowDoc([]string{"pw"}, map[string]int64{"pw": 20})
	if id, _ := Identity(changed, &changed.Entries[2]); id == got {
		t.Errorf("a binding at another order has the same identity %s", id)
	}

	cyclic := &Blueprint{Version: 1, Entries: []Entry{
		{Model: "a", ID: "a", Identifiers: Map{{"b", &KeyOf{ID: "b"}}}},
		{Model: "b", ID: "b", Identifiers: Map{{"a", &KeyOf{ID: "a"}}}},
	}}
	if _, err := Identity(cyclic, &cyclic.Entries[0]); err == nil || !strings.Contains(err.Error(), "cycle (b → a → b)") {
		t.Errorf("cycle: %v", err)
	}
	if _, err := Identity(cyclic, &Entry{Model: "c", Identifiers: Map{{"x", &KeyOf{ID: "nope"}}}}); err == nil || !strings.Contains(err.Error(), "!KeyOf nope names no entry") {
		t.Errorf("missing: %v", err)
	}
}

func TestAbsent(t *testing.T) {
	doc := flowDoc([]string{"pw"}, map[string]int64{"pw": 10})
	got, err := Absent(doc, &doc.Entries[2])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmpEntries([]Entry{standaloneBinding("pw", 10)}, []Entry{got}); diff != "" {
		t.Errorf("Absent (-want +got):\n%s", diff)
	}
	if got, _ := Absent(doc, &doc.Entries[0]); !Equal(got.Identifiers, Map{{"slug", "login"}}) || got.Attrs != nil || got.ID != "" || got.State != StateAbsent {
		t.Errorf("Absent of the flow: %+v", got)
	}
}

func cmpEntries(want, got []Entry) string {
	return cmpDocs(&Blueprint{Entries: want}, &Blueprint{Entries: got})
}

func TestEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b any
		want bool
	}{
		{Map{{"a", 1}, {"b", "x"}}, Map{{"b", "x"}, {"a", int64(1)}}, true},
		{Map{{"a", 1}}, Map{{"a", "1"}}, false},
		{[]any{"a", "b"}, []any{"b", "a"}, false},
		{1.0, int64(1), false},
		{&KeyOf{ID: "x", Pos: Pos{Line: 3}}, &KeyOf{ID: "x"}, true},
		{&Context{Key: "k"}, &Context{Key: "k", HasDefault: true}, false},
		{&If{Condition: true, Short: true}, &If{Condition: true, Then: nil, Else: nil}, false},
		{nil, Map{}, false},
	} {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%#v, %#v) = %v", tc.a, tc.b, got)
		}
	}
	if diff := cmp.Diff(Map{{"a", 1}}.Keys(), []string{"a"}); diff != "" {
		t.Error(diff)
	}
}
