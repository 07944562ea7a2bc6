package blueprint

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sample is a document with every kind of value and every tag.
func sample() *Blueprint {
	return &Blueprint{
		Version: 1,
		Metadata: &Metadata{Name: "stagehand default/login", Labels: map[string]string{
			LabelInstantiate: "true",
			LabelDescription: "Managed by stagehand",
		}},
		Context: Map{{Key: "domain", Value: "example.com"}},
		Entries: []Entry{
			{
				Model: "authentik_flows.flow", ID: "flow", State: StatePresent,
				Identifiers: Map{{Key: "slug", Value: "login"}},
				Attrs: Map{
					{Key: "name", Value: "Welcome"},
					{Key: "compatibility_mode", Value: false},
					{Key: "background", Value: ""},
				},
			},
			{
				Model: "authentik_stages_captcha.captchastage", ID: "captcha", State: StatePresent,
				Conditions:  []any{&Context{Key: "captcha"}, true},
				Identifiers: Map{{Key: "name", Value: "captcha"}},
				Attrs: Map{
					{Key: "private_key", Value: &File{Path: "/blueprints/mounted/secret-captcha/privateKey"}},
					{Key: "public_key", Value: &Env{Name: "PUBLIC", Default: "none", HasDefault: true}},
					{Key: "score_min_threshold", Value: 0.5},
					{Key: "score_max_threshold", Value: 1.0},
					{Key: "js_url", Value: &Format{Format: "https://%s/api.js", Args: []any{&Context{Key: "domain", Default: "x", HasDefault: true}}}},
				},
				Permissions: []Permission{{Permission: "view_captchastage", Role: &Find{Model: "authentik_rbac.role", Conditions: []FindCondition{{Field: "name", Value: "admins"}}}}},
			},
			{
				Model: "authentik_flows.flowstagebinding", State: StatePresent,
				Identifiers: Map{
					{Key: "target", Value: &KeyOf{ID: "flow"}},
					{Key: "stage", Value: &KeyOf{ID: "captcha"}},
					{Key: "order", Value: int64(10)},
				},
				Attrs: Map{
					{Key: "evaluate_on_plan", Value: &If{Condition: &Condition{Mode: "AND", Args: []any{true, &Env{Name: "X"}}}, Then: true, Else: false}},
					{Key: "re_evaluate_policies", Value: &If{Condition: &ParseJSON{Raw: "true"}, Short: true}},
					{Key: "policy_engine_mode", Value: &AtIndex{Object: []any{"any", "all"}, Index: int64(0), Default: "any", HasDefault: true}},
					{Key: "invalid_response_action", Value: &AtIndex{Object: Map{{Key: "a", Value: "retry"}}, Index: "a"}},
				},
			},
			{
				Model: "authentik_policies_expression.expressionpolicy", State: StateCreated,
				Identifiers: Map{{Key: "name", Value: "p"}},
				Attrs: Map{
					{Key: "expression", Value: "return True\n"},
					{Key: "tags", Value: &Enumerate{Iterable: []any{"a", "b"}, Output: "SEQ", Body: Map{{Key: "i", Value: &EnumIndex{Depth: 0}}, {Key: "v", Value: &EnumValue{Depth: 1}}}}},
					{Key: "found", Value: &Find{Object: true, Model: "authentik_core.group", Conditions: []FindCondition{{Field: "name", Value: "admins"}, {Field: "is_superuser", Value: true}}}},
					{Key: "nothing", Value: nil},
					{Key: "empty", Value: []any{}},
					{Key: "map", Value: Map{}},
				},
			},
			{
				Model: "authentik_stages_password.passwordstage", State: StateAbsent,
				Identifiers: Map{{Key: "name", Value: "old"}},
			},
		},
	}
}

// The layout of authentik's own blueprints: keys in order, two-space
// indentation, sequences at their key's indentation, tags inline.
func TestEncodeLayout(t *testing.T) {
	doc := &Blueprint{
		Version:  1,
		Metadata: &Metadata{Name: "x", Labels: map[string]string{"b": "2", "a": "1"}},
		Entries: []Entry{
			{Model: "authentik_flows.flow", ID: "flow", State: StatePresent, Identifiers: Map{{Key: "slug", Value: "f"}}, Attrs: Map{{Key: "title", Value: "T"}, {Key: "list", Value: []any{"a", "b"}}}},
			{Model: "authentik_flows.flowstagebinding", Identifiers: Map{
				{Key: "target", Value: &KeyOf{ID: "flow"}},
				{Key: "stage", Value: FindBy("authentik_stages_password.passwordstage", "name", "p")},
				{Key: "order", Value: 10},
			}},
		},
	}
	want := `version: 1
metadata:
  name: x
  labels:
    a: "1"
    b: "2"
entries:
- model: authentik_flows.flow
  id: flow
  state: present
  identifiers:
    slug: f
  attrs:
    title: T
    list:
    - a
    - b
- model: authentik_flows.flowstagebinding
  identifiers:
    target: !KeyOf flow
    stage: !Find [authentik_stages_password.passwordstage, [name, p]]
    order: 10
`
	got, err := Encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
}

// Encoding is deterministic, and decoding what was encoded gives the same
// document back: every value type and every tag survives.
func TestRoundTrip(t *testing.T) {
	first, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := Encode(sample())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatalf("Encode is not deterministic:\n%s\n---\n%s", first, again)
		}
	}
	back, err := Decode("sample.yaml", first)
	if err != nil {
		t.Fatalf("Decode: %v\n%s", err, first)
	}
	if diff := cmpDocs(sample(), back); diff != "" {
		t.Errorf("decode(encode(doc)) differs (-want +got):\n%s\n%s", diff, first)
	}
	second, err := Encode(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("encode(decode(encode(doc))) differs:\n%s\n---\n%s", first, second)
	}
}

// cmpDocs compares two documents, values with Equal and without
// positions.
func cmpDocs(want, got *Blueprint) string {
	return cmp.Diff(want, got,
		// nil and empty alike, for what the comparers below do not take.
		cmp.FilterPath(func(p cmp.Path) bool {
			t := p.Last().Type()
			return t != reflect.TypeFor[Map]() && t != reflect.TypeFor[[]any]()
		}, cmpopts.EquateEmpty()),
		cmp.Comparer(func(a, b Map) bool { return Equal(a, b) }),
		cmp.Comparer(func(a, b []any) bool { return Equal(a, b) }),
		cmp.Comparer(func(a, b Permission) bool {
			return Equal(a.Permission, b.Permission) && Equal(a.User, b.User) && Equal(a.Role, b.Role)
		}),
		cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Pos" || p.Last().String() == ".File" }, cmp.Ignore()),
	)
}

// Every string reads back as itself, and those YAML 1.1 (PyYAML, which
// authentik reads blueprints with) would take for another type are quoted.
func TestStringsYAML11(t *testing.T) {
	const (
		plain  = "plain"
		quoted = "quoted"
		either = "either" // YAML 1.2 (the YAML library) may quote it
	)
	for _, tc := range []struct {
		s, style string
	}{
		{"seconds=0", plain},
		{"hours=12;minutes=1", plain},
		{"authentik.core.auth.InbuiltBackend", plain},
		{"cb69481e-8ff7-4039-93ec-0a2729a154a8", plain},
		{"Welcome to authentik!", plain},
		{"https://www.recaptcha.net/recaptcha/api.js", plain},
		{"6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI", plain},
		// YAML 1.1 bools, nulls, numbers, dates and special keys.
		{"yes", quoted}, {"No", quoted}, {"on", quoted}, {"OFF", quoted}, {"true", quoted}, {"False", quoted},
		{"~", quoted}, {"null", quoted}, {"", quoted},
		{"0777", quoted}, {"0b101", quoted}, {"0x1F", quoted}, {"1_000", quoted}, {"1:30", quoted}, {"-12", quoted},
		{"1.5", quoted}, {"1.", quoted}, {".5", quoted}, {"1:30.5", quoted}, {".inf", quoted}, {"-.Inf", quoted}, {".NaN", quoted},
		{"2026-04-01", quoted}, {"2026-4-1 10:00:00", quoted},
		{"<<", quoted}, {"=", quoted},
		// Strings to PyYAML, whatever YAML 1.2 makes of them.
		{"y", either}, {"n", either}, {"-.5", either}, {"08", either}, {"1e5", either}, {"-", either},
		{"a: b", either}, {"#x", either}, {" lead", either}, {"trail ", either}, {"two\nlines", either},
	} {
		doc := &Blueprint{Version: 1, Entries: []Entry{{Model: "m", Attrs: Map{{Key: "v", Value: tc.s}}}}}
		out, err := Encode(doc)
		if err != nil {
			t.Fatalf("%q: %v", tc.s, err)
		}
		line := strings.TrimSpace(strings.SplitN(string(out), "v:", 2)[1])
		isQuoted := strings.HasPrefix(line, `"`) || strings.HasPrefix(line, `'`)
		if (tc.style == plain && isQuoted) || (tc.style == quoted && !isQuoted) {
			t.Errorf("%q written as %s; want it %s", tc.s, line, tc.style)
		}
		back, err := Decode("s.yaml", out)
		if err != nil {
			t.Fatalf("%q: %v", tc.s, err)
		}
		if got, _ := back.Entries[0].Attrs.Get("v"); got != tc.s {
			t.Errorf("%q read back as %#v from\n%s", tc.s, got, out)
		}
	}
}

// Numbers are written so that PyYAML reads them back with their type: a
// float always has a dot, never an exponent (PyYAML reads 1e-07 as a
// string).
func TestNumbers(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{0.5, "0.5"}, {1.0, "1.0"}, {0.0, "0.0"}, {-2.25, "-2.25"}, {1e-7, "0.0000001"}, {1e21, "1000000000000000000000.0"},
		{math.Inf(1), ".inf"}, {math.Inf(-1), "-.inf"},
		{int64(5), "5"}, {-3, "-3"}, {int32(2147483647), "2147483647"},
	} {
		doc := &Blueprint{Version: 1, Entries: []Entry{{Model: "m", Attrs: Map{{Key: "v", Value: tc.v}}}}}
		out, err := Encode(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "v: "+tc.want+"\n") {
			t.Errorf("%v written as\n%s; want v: %s", tc.v, out, tc.want)
		}
		back, err := Decode("n.yaml", out)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := back.Entries[0].Attrs.Get("v")
		if !Equal(got, tc.v) {
			t.Errorf("%v read back as %#v", tc.v, got)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	for name, doc := range map[string]*Blueprint{
		"unknown type": {Version: 1, Entries: []Entry{{Model: "m", Attrs: Map{{Key: "v", Value: struct{}{}}}}}},
		"duplicate":    {Version: 1, Entries: []Entry{{Model: "m", Attrs: Map{{Key: "v", Value: 1}, {Key: "v", Value: 2}}}}},
		"find":         {Version: 1, Entries: []Entry{{Model: "m", Attrs: Map{{Key: "v", Value: &Find{}}}}}},
	} {
		if _, err := Encode(doc); err == nil {
			t.Errorf("%s: Encode succeeded", name)
		} else if !strings.Contains(err.Error(), "entry 1 (m)") {
			t.Errorf("%s: error %q does not name the entry", name, err)
		}
	}
}

func TestHash(t *testing.T) {
	a, b := Hash([]byte("version: 1\n")), Hash([]byte("version: 1\n"))
	if a != b || len(a) != 64 {
		t.Errorf("Hash: %q, %q", a, b)
	}
	if a == Hash([]byte("version: 1\n\n")) {
		t.Error("different documents, same hash")
	}
}
