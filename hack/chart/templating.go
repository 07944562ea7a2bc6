package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// A template is built from a rendered object in two steps. First the object
// is edited in place: where Helm must decide something, a field's value, a
// list item or a map entry becomes a placeholder token. Then the object is
// marshalled to YAML and each token is replaced by its Helm template text:
//
//   - an inline token stands for a scalar and is replaced where it stands
//     (`replicas: {{ $.Values.replicas }}`);
//   - a block token is a whole line, a map key (`token: null`) or a list
//     item (`- token`), and is replaced by lines of template text at that
//     line's indentation (`{{- with $.Values.nodeSelector }} ...`).
//
// Everything that comes from the rendered object is literal text to Helm,
// so its `{{` are escaped; only the text the generator writes is template.
type templater struct {
	pieces []piece
}

type piece struct {
	// inline replaces the token where it stands.
	inline string
	// block returns the lines that replace the token's line, relative to
	// that line's indentation, which it is given (for nindent).
	block func(indent int) string
}

const tokenPrefix = "zzhelm"

var (
	tokenRE     = regexp.MustCompile(tokenPrefix + `(\d+)zz`)
	blockLineRE = regexp.MustCompile(`(?m)^( *)(- )?` + tokenPrefix + `(\d+)zz(: null)?$`)
)

func (t *templater) add(p piece) string {
	t.pieces = append(t.pieces, p)
	return fmt.Sprintf("%s%04dzz", tokenPrefix, len(t.pieces)-1)
}

// inline returns a token that the template text expr replaces.
func (t *templater) inline(expr string) string { return t.add(piece{inline: expr}) }

// block returns a token whose line the lines of f replace.
func (t *templater) block(f func(indent int) string) string { return t.add(piece{block: f}) }

// literal marshals v to YAML as literal text for Helm: the tokens in it stay
// tokens, every other `{{` is escaped.
func (t *templater) literal(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return escape(string(b)), nil
}

// escape makes s literal text in a Go template: `{{` starts an action, so it
// is written as an action that prints it. (`}}` outside an action is text.)
func escape(s string) string {
	return strings.ReplaceAll(s, "{{", "{{`{{`}}")
}

// expand replaces every token in s by its template text.
func (t *templater) expand(s string) (string, error) {
	// Blocks may hold marshalled YAML with tokens of their own: expand
	// until none is left (each pass removes at least one token, and a
	// block cannot hold its own token).
	for range len(t.pieces) + 1 {
		var err error
		replaced := false
		s = blockLineRE.ReplaceAllStringFunc(s, func(line string) string {
			m := blockLineRE.FindStringSubmatch(line)
			p, perr := t.piece(m[3])
			if perr != nil {
				err = perr
				return line
			}
			if p.block == nil {
				return line // an inline token alone on its line
			}
			replaced = true
			indent := len(m[1])
			return indentLines(strings.TrimSuffix(p.block(indent), "\n"), indent)
		})
		if err != nil {
			return "", err
		}
		if !replaced {
			break
		}
	}
	var err error
	s = tokenRE.ReplaceAllStringFunc(s, func(tok string) string {
		p, perr := t.piece(tokenRE.FindStringSubmatch(tok)[1])
		switch {
		case perr != nil:
			err = perr
		case p.block != nil:
			err = fmt.Errorf("block %s is not alone on its line", tok)
		}
		return p.inline
	})
	return s, err
}

func (t *templater) piece(num string) (piece, error) {
	i, err := strconv.Atoi(num)
	if err != nil || i >= len(t.pieces) {
		return piece{}, fmt.Errorf("unknown placeholder %s%szz", tokenPrefix, num)
	}
	return t.pieces[i], nil
}

// indentLines prefixes every non-empty line of s with n spaces.
func indentLines(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}
