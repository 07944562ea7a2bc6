package blueprint

import (
	"fmt"
	"strings"
)

// Show writes a value briefly, on one line, as a person reads it in a
// message: mappings and lists in flow style, tags as a file writes them.
func Show(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = Show(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case Map:
		parts := make([]string, len(v))
		for i, f := range v {
			parts[i] = f.Key + ": " + Show(f.Value)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *KeyOf:
		return "!KeyOf " + v.ID
	case *Find:
		parts := []string{Show(v.Model)}
		for _, c := range v.Conditions {
			parts = append(parts, "["+Show(c.Field)+", "+Show(c.Value)+"]")
		}
		return v.TagName() + " [" + strings.Join(parts, ", ") + "]"
	case *Env:
		return showLookup("!Env", v.Name, v.HasDefault, v.Default)
	case *File:
		return showLookup("!File", v.Path, v.HasDefault, v.Default)
	case *Context:
		return showLookup("!Context", v.Key, v.HasDefault, v.Default)
	case Tag:
		return v.TagName() + " ..."
	}
	return fmt.Sprint(v)
}

// showLookup writes !Env, !File or !Context as the file does: the key, or
// [key, default].
func showLookup(tag string, key any, hasDefault bool, def any) string {
	if hasDefault {
		return tag + " [" + Show(key) + ", " + Show(def) + "]"
	}
	return tag + " " + Show(key)
}
