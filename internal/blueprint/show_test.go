package blueprint

import (
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShow(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "null"},
		{"x", "x"},
		{int64(3), "3"},
		{[]any{"a", int64(1), Map{{Key: "k", Value: true}}}, "[a, 1, {k: true}]"},
		{&KeyOf{ID: "flow"}, "!KeyOf flow"},
		{FindBy("authentik_flows.flow", "slug", "x"), "!Find [authentik_flows.flow, [slug, x]]"},
		{&Env{Name: "A", HasDefault: true, Default: "b"}, "!Env [A, b]"},
		{&Context{Key: "k"}, "!Context k"},
		{&Format{Format: "%s"}, "!Format ..."},
		// Cut at ShowLimit bytes, not within a character, with the
		// length of the whole.
		{strings.Repeat("a", 1000), strings.Repeat("a", ShowLimit) + "… (1000 characters)"},
		{strings.Repeat("é", 150), strings.Repeat("é", ShowLimit/2) + "… (150 characters)"},
		{[]any{strings.Repeat("b", 300)}, "[" + strings.Repeat("b", ShowLimit-1) + "… (302 characters)"},
	} {
		if got := Show(tc.v); got != tc.want {
			t.Errorf("Show(%#v) =\n  %s\nwant\n  %s", tc.v, got, tc.want)
		}
	}
	if got, want := Quote(strings.Repeat("x", 5000)), `"`+strings.Repeat("x", ShowLimit)+`"… (5000 characters)`; got != want {
		t.Errorf("Quote of a long string: %s", got)
	}
	if got := Quote("a\"b"); got != `"a\"b"` {
		t.Errorf("Quote: %s", got)
	}
}

// nested is a list nested depth deep, with a string at the bottom.
func nested(depth int) any {
	var v any = "x"
	for range depth {
		v = []any{v, int64(1)}
	}
	return v
}

// bytesAllocated is what fn allocates, in bytes.
func bytesAllocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Show of a deeply nested value is bounded, and its work grows linearly
// with the depth: each level was copied once per level above it, so that
// a value nested 8,000 deep took hundreds of megabytes to show.
func TestShowDeepNesting(t *testing.T) {
	var out string
	v2, v8 := nested(2000), nested(8000)
	small := bytesAllocated(func() { out = Show(v2) })
	if n := utf8.RuneCountInString(out); n > ShowLimit+40 || !strings.HasSuffix(out, "… (10001 characters)") {
		t.Errorf("Show of a value nested 2,000 deep: %d characters: %s", n, out)
	}
	large := bytesAllocated(func() { out = Show(v8) })
	if !strings.HasSuffix(out, "… (40001 characters)") {
		t.Errorf("Show of a value nested 8,000 deep: %s", out)
	}
	// Four times the depth: four times the work at most (what is written
	// is bounded; the numbers shown are counted), with room for noise;
	// quadratic work is sixteen times.
	if ratio := float64(large) / float64(small); ratio > 6 {
		t.Errorf("Show allocates %d bytes at depth 2,000 and %d at 8,000 (%.1f times): not linear", small, large, ratio)
	}
}

// An error names what is wrong and where; it never prints a long value of
// the file whole.
func TestDecodeErrorsShort(t *testing.T) {
	long := strings.Repeat("k", 1<<18)
	digits := strings.Repeat("9", 1<<18)
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown field", "version: 1\n? " + long + "\n: 1\n", `f.yaml:2:3: unknown field "` + strings.Repeat("k", ShowLimit) + `"… (262144 characters) in the blueprint`},
		{"duplicate key", "entries:\n- model: m\n  attrs:\n    ? " + long + "\n    : 1\n    ? " + long + "\n    : 2\n", `f.yaml:6:7: duplicate key "kkk`},
		{"int range", "entries:\n- model: m\n  attrs: {v: " + digits + "}\n", "f.yaml:3:14: " + strings.Repeat("9", ShowLimit) + "… (262144 characters) is out of range"},
		{"unknown tag", "entries:\n- model: m\n  attrs: {v: !" + long + " x}\n", "f.yaml:3:14: unknown tag !kkk"},
		{"state", "entries:\n- model: m\n  state: " + long + "\n", `f.yaml:3:10: unknown state "kkk`},
	} {
		_, err := Decode("f.yaml", []byte(tc.yaml))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, tc.want) || len(msg) > 2*ShowLimit+200 || !strings.Contains(msg, "… (26214") {
			t.Errorf("%s: error of %d bytes: %.400s", tc.name, len(msg), msg)
		}
	}
	e := &Error{File: "f.yaml", Msg: long}
	if got := e.Error(); len(got) > MessageLimit+40 || !strings.HasSuffix(got, "… (262144 characters)") {
		t.Errorf("a long message is %d bytes: %.100s", len(got), got)
	}
}
