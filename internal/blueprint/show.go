package blueprint

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ShowLimit bounds what Show writes, in bytes, before the ellipsis and the
// length of the whole: a message names a value, it does not print it.
const ShowLimit = 200

// Show writes a value briefly, on one line, as a person reads it in a
// message: mappings and lists in flow style, tags as a file writes them.
// A value that takes more than ShowLimit bytes is cut, with an ellipsis and
// the length of the whole: "[a, b, … (1048576 characters)". Its work is
// linear in the value's size, whatever its nesting.
func Show(v any) string {
	s := &shower{budget: ShowLimit}
	s.value(v)
	if !s.cut {
		return s.b.String()
	}
	return s.b.String() + "… (" + strconv.Itoa(s.total) + " characters)"
}

// Quote is strconv.Quote(s) for a message: a string longer than ShowLimit
// is cut, with an ellipsis and its length.
func Quote(s string) string {
	if len(s) <= ShowLimit {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:cutAt(s, ShowLimit)]) + "… (" + strconv.Itoa(utf8.RuneCountInString(s)) + " characters)"
}

// MessageLimit bounds an error's message (Error.Error), in bytes.
const MessageLimit = 1024

// CutMessage is a message cut at MessageLimit bytes, with an ellipsis and
// the length of the whole.
func CutMessage(s string) string {
	if len(s) <= MessageLimit {
		return s
	}
	return s[:cutAt(s, MessageLimit)] + "… (" + strconv.Itoa(utf8.RuneCountInString(s)) + " characters)"
}

// cutAt is the largest index up to n that does not split a character of s.
func cutAt(s string, n int) int {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// shower writes a value into b, up to budget bytes, and counts the length
// of the whole in total. Each piece is written once, so the work is linear
// in the value's size.
type shower struct {
	b      strings.Builder
	budget int
	total  int
	cut    bool
}

func (s *shower) write(p string) {
	s.total += utf8.RuneCountInString(p)
	if s.cut {
		return
	}
	if len(p) <= s.budget {
		s.b.WriteString(p)
		s.budget -= len(p)
		return
	}
	s.b.WriteString(p[:cutAt(p, s.budget)])
	s.budget = 0
	s.cut = true
}

func (s *shower) value(v any) {
	switch v := v.(type) {
	case nil:
		s.write("null")
	case string:
		s.write(v)
	case []any:
		s.write("[")
		for i, e := range v {
			if i > 0 {
				s.write(", ")
			}
			s.value(e)
		}
		s.write("]")
	case Map:
		s.write("{")
		for i, f := range v {
			if i > 0 {
				s.write(", ")
			}
			s.write(f.Key)
			s.write(": ")
			s.value(f.Value)
		}
		s.write("}")
	case *KeyOf:
		s.write("!KeyOf ")
		s.write(v.ID)
	case *Find:
		s.write(v.TagName())
		s.write(" [")
		s.value(v.Model)
		for _, c := range v.Conditions {
			s.write(", [")
			s.value(c.Field)
			s.write(", ")
			s.value(c.Value)
			s.write("]")
		}
		s.write("]")
	case *Env:
		s.lookup("!Env", v.Name, v.HasDefault, v.Default)
	case *File:
		s.lookup("!File", v.Path, v.HasDefault, v.Default)
	case *Context:
		s.lookup("!Context", v.Key, v.HasDefault, v.Default)
	case Tag:
		s.write(v.TagName())
		s.write(" ...")
	default:
		s.write(fmt.Sprint(v))
	}
}

// lookup writes !Env, !File or !Context as the file does: the key, or
// [key, default].
func (s *shower) lookup(tag string, key any, hasDefault bool, def any) {
	s.write(tag)
	if !hasDefault {
		s.write(" ")
		s.value(key)
		return
	}
	s.write(" [")
	s.value(key)
	s.write(", ")
	s.value(def)
	s.write("]")
}
