package blueprint

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// authentik's own blueprints (testdata/authentik) all read, validate, and
// come back unchanged from a write and a read.
func TestAuthentikBlueprints(t *testing.T) {
	files, err := filepath.Glob("testdata/authentik/*.yaml")
	if err != nil || len(files) < 9 {
		t.Fatalf("testdata/authentik: %v files, %v", len(files), err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Decode(file, data)
			if err != nil {
				t.Fatal(err)
			}
			if err := doc.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if doc.Metadata == nil || doc.Metadata.Name == "" || len(doc.Entries) == 0 {
				t.Errorf("read %+v", doc)
			}
			for _, e := range doc.Entries {
				if e.Pos.Line == 0 {
					t.Errorf("entry %s has no position", e.Model)
				}
			}
			out, err := Encode(doc)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Decode(file, out)
			if err != nil {
				t.Fatalf("reading what was written: %v\n%s", err, out)
			}
			if diff := cmpDocs(doc, again); diff != "" {
				t.Errorf("write and read changed it (-read +again):\n%s", diff)
			}
			out2, err := Encode(again)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Error("writing is not a fixed point")
			}
		})
	}
}

// One authentik blueprint in detail: its tags, ids and values.
func TestDecodeDefaultAuthenticationFlow(t *testing.T) {
	data, err := os.ReadFile("testdata/authentik/flow-default-authentication-flow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Decode("flow-default-authentication-flow.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Version != 1 || doc.Metadata.Name != "Default - Authentication flow" || len(doc.Entries) != 14 {
		t.Fatalf("version %d, metadata %+v, %d entries", doc.Version, doc.Metadata, len(doc.Entries))
	}
	meta := doc.Entries[0]
	if meta.Model != "authentik_blueprints.metaapplyblueprint" || meta.Identifiers != nil {
		t.Errorf("entry 1: %+v", meta)
	}
	if req, _ := meta.Attrs.Get("required"); req != false {
		t.Errorf("required: %#v", req)
	}
	pw := doc.EntryByID("default-authentication-password")
	if pw == nil || pw.Pos.Line != 19 {
		t.Fatalf("password stage entry: %+v", pw)
	}
	want := FindBy("authentik_flows.flow", "slug", "default-password-change")
	if got, _ := pw.Attrs.Get("configure_flow"); !Equal(got, want) {
		t.Errorf("configure_flow: %#v", got)
	} else if got.(*Find).Pos.Line != 25 {
		t.Errorf("the !Find is at %v, not line 25", got.(*Find).Pos)
	}
	binding := doc.Entries[7]
	order, _ := binding.Identifiers.Get("order")
	stage, _ := binding.Identifiers.Get("stage")
	if order != int64(20) || !Equal(stage, &KeyOf{ID: "default-authentication-password"}) {
		t.Errorf("binding at order 20: %+v", binding.Identifiers)
	}
	if re, _ := binding.Attrs.Get("re_evaluate_policies"); re != true {
		t.Errorf("re_evaluate_policies: %#v", re)
	}
	policy := doc.Entries[10]
	if expr, _ := policy.Attrs.Get("expression"); !strings.HasPrefix(expr.(string), "flow_plan = request.context.get(\"flow_plan\")\nif not flow_plan:\n    return True\n") {
		t.Errorf("expression: %q", expr)
	}
}

// Plain scalars are typed as PyYAML (YAML 1.1) types them; quoted and
// explicitly tagged ones as they say.
func TestDecodeScalars(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want any
	}{
		{"yes", true}, {"Off", false}, {"true", true}, {"y", "y"}, {"n", "n"},
		{"~", nil}, {"null", nil}, {"", nil},
		{"10", int64(10)}, {"-3", int64(-3)}, {"0777", int64(511)}, {"0b101", int64(5)}, {"0x1F", int64(31)},
		{"1_000", int64(1000)}, {"1:30", int64(90)}, {"0", int64(0)}, {"08", "08"},
		{"1.5", 1.5}, {"1.", 1.0}, {".5", 0.5}, {"1e5", "1e5"}, {"1.0e+5", 100000.0}, {"-.5", "-.5"},
		{"1:30.5", 90.5}, {".inf", math.Inf(1)}, {"-.inf", math.Inf(-1)},
		{"2026-04-01", "2026-04-01"},
		{`"yes"`, "yes"}, {`'10'`, "10"}, {"!!str 10", "10"}, {"!!int '10'", int64(10)}, {"!!float 1", 1.0},
		{"!!bool 'yes'", true}, {"!!null ''", nil}, {"seconds=0", "seconds=0"},
	} {
		doc, err := Decode("s.yaml", []byte("entries:\n- model: m\n  attrs:\n    v: "+tc.yaml+"\n"))
		if err != nil {
			t.Errorf("%s: %v", tc.yaml, err)
			continue
		}
		got, _ := doc.Entries[0].Attrs.Get("v")
		if !Equal(got, tc.want) {
			t.Errorf("%s read as %#v; want %#v", tc.yaml, got, tc.want)
		}
	}
	nan, err := Decode("s.yaml", []byte("entries:\n- model: m\n  attrs: {v: .NaN}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := nan.Entries[0].Attrs.Get("v"); !math.IsNaN(v.(float64)) {
		t.Errorf(".NaN read as %v", v)
	}
}

// What authentik's loader gives each tag, argument by argument.
func TestDecodeTags(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want Tag
	}{
		{"!KeyOf flow", &KeyOf{ID: "flow"}},
		{"!KeyOf 10", &KeyOf{ID: "10"}},
		{"!Find [authentik_flows.flow, [slug, x], [designation, recovery]]", &Find{Model: "authentik_flows.flow", Conditions: []FindCondition{{"slug", "x"}, {"designation", "recovery"}}}},
		{"!Find [authentik_core.source]", &Find{Model: "authentik_core.source"}},
		{"!FindObject [authentik_core.group, [name, admins]]", &Find{Object: true, Model: "authentik_core.group", Conditions: []FindCondition{{"name", "admins"}}}},
		{"!Context domain", &Context{Key: "domain"}},
		{"!Context [domain, example.com]", &Context{Key: "domain", Default: "example.com", HasDefault: true}},
		{"!Env [PORT, 25]", &Env{Name: "PORT", Default: int64(25), HasDefault: true}},
		{"!File /secret", &File{Path: "/secret"}},
		{"!File [/secret, null]", &File{Path: "/secret", HasDefault: true}},
		{"!Format ['%s-%s', a, !Context b]", &Format{Format: "%s-%s", Args: []any{"a", &Context{Key: "b"}}}},
		{"!Condition [OR, true, !Env X]", &Condition{Mode: "OR", Args: []any{true, &Env{Name: "X"}}}},
		{"!If [!Context x]", &If{Condition: &Context{Key: "x"}, Short: true}},
		{"!If [true, a, b]", &If{Condition: true, Then: "a", Else: "b"}},
		{"!Enumerate [[a, b], SEQ, !Value 0]", &Enumerate{Iterable: []any{"a", "b"}, Output: "SEQ", Body: &EnumValue{Depth: 0}}},
		{"!Index 1", &EnumIndex{Depth: 1}},
		{"!AtIndex [[a, b], 1]", &AtIndex{Object: []any{"a", "b"}, Index: int64(1)}},
		{"!AtIndex [{a: 1}, b, 2]", &AtIndex{Object: Map{{"a", int64(1)}}, Index: "b", Default: int64(2), HasDefault: true}},
		{`!ParseJSON '{"a": 1}'`, &ParseJSON{Raw: `{"a": 1}`}},
	} {
		doc, err := Decode("t.yaml", []byte("entries:\n- model: m\n  attrs:\n    v: "+tc.yaml+"\n"))
		if err != nil {
			t.Errorf("%s: %v", tc.yaml, err)
			continue
		}
		got, _ := doc.Entries[0].Attrs.Get("v")
		if !Equal(got, tc.want) {
			t.Errorf("%s read as %#v; want %#v", tc.yaml, got, tc.want)
		}
		if tag, ok := got.(Tag); !ok || tag.Position() != (Pos{Line: 4, Column: 8}) {
			t.Errorf("%s: position %v", tc.yaml, got)
		}
	}
}

// Bad input: an *Error naming the file, the line and the column, with a
// message a person can act on.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"empty", "", "f.yaml: the file is empty"},
		{"syntax", "version: 1\nentries:\n- model: m\n  attrs: [\n", "f.yaml:4:1: invalid YAML: did not find expected node content"},
		{"unclosed flow sequence", "version: 1\nentries:\n- model: m\n  attrs: {x: [1, 2}\n", "f.yaml:4:1: invalid YAML: did not find expected ',' or ']'"},
		{"unclosed flow mapping", "version: 1\nentries:\n- model: m\n  attrs: {x: 1\n  id: y\n", "f.yaml:4:1: invalid YAML: did not find expected ',' or '}'"},
		{"block sequence in a mapping", "version: 1\nentries:\n- model: m\n  attrs:\n    x: 1\n   - y\n", "f.yaml:3:1: invalid YAML: did not find expected key"},
		{"tabs", "version: 1\n\tentries: []\n", "f.yaml:2:1: invalid YAML"},
		{"not a mapping", "- a\n", "f.yaml:1:1: the blueprint must be a mapping"},
		{"two documents", "version: 1\n---\nversion: 1\n", "f.yaml:2:1: a blueprint file holds one YAML document"},
		{"version", "version: 2\nentries: []\n", "f.yaml:1:10: version 2 is not supported"},
		{"version type", "version: one\n", "f.yaml:1:10: version must be an integer"},
		{"unknown field", "version: 1\nentries: []\nentires: []\n", `f.yaml:3:1: unknown field "entires" in the blueprint`},
		{"unknown entry field", "entries:\n- model: m\n  attr: {}\n", `f.yaml:3:3: unknown field "attr" in an entry`},
		{"duplicate key", "entries:\n- model: m\n  attrs: {a: 1, a: 2}\n", `f.yaml:3:17: duplicate key "a" in a mapping (first at line 3)`},
		{"no model", "entries:\n- id: x\n", "f.yaml:2:3: an entry needs a model"},
		{"model type", "entries:\n- model: [a]\n", "f.yaml:2:10: model must be a string"},
		{"state", "entries:\n- model: m\n  state: gone\n", `f.yaml:3:10: unknown state "gone"`},
		{"metadata name", "metadata:\n  labels: {}\nentries: []\n", "f.yaml:2:3: metadata.name is required"},
		{"unknown tag", "entries:\n- model: m\n  attrs:\n    v: !Lookup x\n", "f.yaml:4:8: unknown tag !Lookup: authentik knows !AtIndex, !Condition"},
		{"keyof sequence", "entries:\n- model: m\n  attrs:\n    v: !KeyOf [a]\n", "f.yaml:4:8: the tag is written !KeyOf id"},
		{"find condition", "entries:\n- model: m\n  attrs:\n    v: !Find [m, [slug]]\n", "f.yaml:4:18: !Find: each condition is a [field, value] pair"},
		{"find empty", "entries:\n- model: m\n  attrs:\n    v: !Find []\n", "f.yaml:4:8: !Find takes [model, [field, value], ...]"},
		{"if two", "entries:\n- model: m\n  attrs:\n    v: !If [a, b]\n", "f.yaml:4:8: !If takes [condition] or [condition, then, else], not 2 values"},
		{"context three", "entries:\n- model: m\n  attrs:\n    v: !Context [a, b, c]\n", "f.yaml:4:8: !Context takes a key, or [key, default]"},
		{"value depth", "entries:\n- model: m\n  attrs:\n    v: !Value x\n", "f.yaml:4:8: !Value takes a depth"},
		{"merge", "entries:\n- model: m\n  attrs:\n    <<: {a: 1}\n", "f.yaml:4:5: merge keys (<<) are not supported"},
		{"key type", "entries:\n- model: m\n  attrs:\n    yes: 1\n", "f.yaml:4:5: mapping key yes is not a string"},
		{"binary", "entries:\n- model: m\n  attrs:\n    v: !!binary aGk=\n", "f.yaml:4:8: unsupported tag !!binary"},
		{"int range", "entries:\n- model: m\n  attrs:\n    v: 99999999999999999999\n", "f.yaml:4:8: 99999999999999999999 is out of range"},
	} {
		_, err := Decode("f.yaml", []byte(tc.yaml))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v is not an *Error", tc.name, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error\n  %v\nwant it to start with\n  %s", tc.name, err, tc.want)
		}
	}
}

// Aliases are followed, but cannot expand a small file into a huge
// document.
func TestDecodeAliases(t *testing.T) {
	doc, err := Decode("a.yaml", []byte("entries:\n- model: m\n  identifiers: &ids {name: x}\n- model: m\n  identifiers: *ids\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(doc.Entries[1].Identifiers, Map{{"name", "x"}}) {
		t.Errorf("alias read as %#v", doc.Entries[1].Identifiers)
	}
	var laughs strings.Builder
	laughs.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		laughs.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				laughs.WriteString(", ")
			}
			laughs.WriteString("*a" + string(rune('0'+i-1)))
		}
		laughs.WriteString("]\n")
	}
	_, err = Decode("laughs.yaml", []byte("context:\n  "+strings.ReplaceAll(laughs.String(), "\n", "\n  ")+"\nentries: []\n"))
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Errorf("a billion laughs: %v", err)
	}
}

func TestValidate(t *testing.T) {
	entry := func(model, id string, ids ...Field) Entry {
		return Entry{Model: model, ID: id, Identifiers: Map(ids)}
	}
	for _, tc := range []struct {
		name string
		doc  *Blueprint
		want []string
	}{
		{"fine", &Blueprint{Version: 1, Entries: []Entry{entry("a", "x"), entry("b", "", Field{"t", &KeyOf{ID: "x"}})}}, nil},
		{"forward", &Blueprint{Version: 1, Entries: []Entry{entry("b", "", Field{"t", &KeyOf{ID: "x"}}), entry("a", "x")}},
			[]string{"entry 1 (b): !KeyOf x names an entry that is not before it"}},
		{"self", &Blueprint{Version: 1, Entries: []Entry{entry("a", "x", Field{"t", &KeyOf{ID: "x"}})}},
			[]string{"entry 1 (a): !KeyOf x names an entry that is not before it"}},
		{"missing", &Blueprint{Version: 1, Entries: []Entry{entry("a", "", Field{"t", []any{&KeyOf{ID: "y"}}})}},
			[]string{"entry 1 (a): !KeyOf y names no entry"}},
		{"duplicate id", &Blueprint{Version: 1, Entries: []Entry{entry("a", "x"), entry("b", "x")}},
			[]string{`entry 2 (b): id "x" is also the id of entry 1`}},
		{"version", &Blueprint{Version: 2, Entries: []Entry{{State: "gone"}}},
			[]string{"version 2 is not supported", "entry 1: model is required", `entry 1 (): unknown state "gone"`}},
	} {
		err := tc.doc.Validate()
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
}

// The problems Validate finds in a file read by Decode name the file and
// the line, as the importer reports them.
func TestValidateDecoded(t *testing.T) {
	doc, err := Decode("f.yaml", []byte("entries:\n- model: b\n  identifiers:\n    t: !KeyOf x\n- model: a\n  id: x\n- model: c\n  id: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = doc.Validate()
	for _, want := range []string{
		"f.yaml:4:8: entry 1 (b): !KeyOf x names an entry that is not before it",
		`f.yaml:7:3: entry 3 (c): id "x" is also the id of entry 2`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v\nwant %s", err, want)
		}
	}
}

// Reading never panics, and what reads writes back to something that
// reads the same.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/authentik/*.yaml")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Add([]byte("entries:\n- model: m\n  attrs: {v: !Find [a, [b, !KeyOf c]]}\n"))
	// Integers of many digits, leading zeros and sexagesimal parts.
	f.Add([]byte("entries:\n- model: m\n  attrs: {a: 0b" + strings.Repeat("0", 70) + "1, b: 0x" + strings.Repeat("f", 70) + ", c: 1" + strings.Repeat(":59", 20) + ", d: 0007}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decode("fuzz.yaml", data)
		if err != nil {
			return
		}
		out, err := Encode(doc)
		if err != nil {
			t.Fatalf("Encode of a decoded document: %v", err)
		}
		again, err := Decode("again.yaml", out)
		if err != nil {
			t.Fatalf("Decode of an encoded document: %v\n%s", err, out)
		}
		if diff := cmpDocs(doc, again); diff != "" {
			t.Fatalf("round trip changed the document:\n%s", diff)
		}
	})
}

// Every string is written so that it reads back as itself.
func FuzzString(f *testing.F) {
	for _, s := range []string{"yes", "0777", "1:30", "a: b", "- x", "!KeyOf", "\t", "\t\n", "\ta\nb", "\x00", "é", "2026-04-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc := &Blueprint{Version: 1, Entries: []Entry{{Model: "m", Attrs: Map{{Key: "v", Value: s}, {Key: s, Value: []any{s, &KeyOf{ID: s}}}}}}}
		out, err := Encode(doc)
		if err != nil {
			return // invalid UTF-8, a duplicate key "v"
		}
		back, err := Decode("s.yaml", out)
		if err != nil {
			t.Fatalf("%q: %v\n%s", s, err, out)
		}
		if diff := cmpDocs(doc, back); diff != "" {
			t.Fatalf("%q read back differently:\n%s\n%s", s, diff, out)
		}
	})
}
