package imports

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Object names. authentik identifies a flow by its slug, a stage by its
// name and a source by its slug; stagehand's objects are named by
// metadata.name, which admits less (lowercase letters, digits, '-' and
// '.', at most 253 characters). An object's name is its authentik
// identity when that is a valid name, so that two imports (of two files,
// or of a file and one that refers to it) agree on it; otherwise the
// identity made valid, with a hash of the identity appended only when two
// identities would otherwise share a name. Names are assigned once every
// identity is known (Import converts twice: once to learn them, once to
// write), so they do not depend on the order of the entries or files.

// family is a set of objects whose names must not collide: one kind, or
// every stage kind (authentik's stage names are unique across kinds).
type family int

const (
	familyFlow family = iota
	familyStage
	familySource
	familyDeviceType
	familyBinding
)

// stagePart is what a binding's name takes from its stage: the stage
// object's name (key in familyStage), or, for a stage that lives only in
// authentik, its authentik name.
type stagePart struct {
	key      string
	external bool
}

type bindingWant struct {
	flow  string
	stage stagePart
}

// namer assigns names. Until final, it only records what is asked.
type namer struct {
	final bool
	wants map[family]map[string]string
	// declared marks the identities an entry declares: their preferred
	// name wins over a reference's.
	declared map[family]map[string]bool
	bindings map[string]bindingWant
	names    map[family]map[string]string
}

func newNamer() *namer {
	n := &namer{
		wants:    map[family]map[string]string{},
		declared: map[family]map[string]bool{},
		bindings: map[string]bindingWant{},
		names:    map[family]map[string]string{},
	}
	for f := familyFlow; f <= familyBinding; f++ {
		n.wants[f] = map[string]string{}
		n.declared[f] = map[string]bool{}
	}
	return n
}

// name is the object name of the identity key in family f. preferred is
// the name wanted (usually key itself); a declaration's preference wins
// over a reference's.
func (n *namer) name(f family, key, preferred string, declaration bool) string {
	if n.final {
		if name, ok := n.names[f][key]; ok {
			return name
		}
		// Not seen while learning: a bug, but a valid name all the same.
		return sanitize(preferred)
	}
	if _, ok := n.wants[f][key]; !ok || (declaration && !n.declared[f][key]) {
		n.wants[f][key] = preferred
	}
	if declaration {
		n.declared[f][key] = true
	}
	return sanitize(preferred)
}

// binding is the name of the binding of stage to the flow whose
// identity is flowKey, at order: "<flow>-<stage>", less the words the
// stage's name shares with the flow's at its start (flow
// default-authentication-flow, stage default-authentication-password:
// default-authentication-flow-password, as the samples name them).
func (n *namer) binding(flowKey string, stage stagePart, order int32) string {
	key := flowKey + "\x00" + strconv.FormatBool(stage.external) + "\x00" + stage.key + "\x00" + strconv.Itoa(int(order))
	if n.final {
		if name, ok := n.names[familyBinding][key]; ok {
			return name
		}
		return sanitize(flowKey + "-" + stage.key)
	}
	n.bindings[key] = bindingWant{flow: flowKey, stage: stage}
	return sanitize(flowKey + "-" + stage.key)
}

// assign fixes every name from what was asked, and makes the namer final.
func (n *namer) assign() {
	for f := familyFlow; f < familyBinding; f++ {
		n.names[f] = assign(n.wants[f])
	}
	// A binding is named after its flow's and stage's names; the same
	// flow and stage at two orders collide, and get a hash.
	wants := map[string]string{}
	for key, b := range n.bindings {
		stage := b.stage.key
		if !b.stage.external {
			stage = n.names[familyStage][b.stage.key]
		}
		flow := n.names[familyFlow][b.flow]
		wants[key] = flow + "-" + trimShared(stage, flow)
	}
	n.names[familyBinding] = assign(wants)
	n.final = true
}

// assign names a family: each key its preferred name when that is valid,
// else the name made valid; where several keys would share a name, the
// key whose preferred name it is exactly keeps it and the others get a
// hash of their key appended.
func assign(wants map[string]string) map[string]string {
	type member struct {
		key   string
		exact bool
	}
	groups := map[string][]member{}
	for _, key := range slices.Sorted(maps.Keys(wants)) {
		p := wants[key]
		cand, exact := p, true
		if !validName(p) {
			cand, exact = sanitize(p), false
		}
		groups[cand] = append(groups[cand], member{key: key, exact: exact})
	}
	out := map[string]string{}
	for cand, members := range groups {
		if len(members) == 1 {
			out[members[0].key] = cand
			continue
		}
		winner := ""
		for _, m := range members {
			if m.exact {
				winner = m.key
				break
			}
		}
		for _, m := range members {
			if m.key == winner {
				out[m.key] = cand
			} else {
				out[m.key] = withHash(cand, m.key)
			}
		}
	}
	return out
}

// maxName is the longest object name: a DNS subdomain.
const maxName = validation.DNS1123SubdomainMaxLength

func validName(s string) bool { return len(validation.IsDNS1123Subdomain(s)) == 0 }

// sanitize makes s a valid object name: lowercase letters and digits
// kept, every run of anything else one '-', none at either end, at most
// maxName characters.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	out := b.String()
	if len(out) > maxName {
		out = strings.TrimRight(out[:maxName], "-")
	}
	if out == "" {
		out = "unnamed"
	}
	return out
}

// withHash is base with 8 hex digits of the SHA-256 of key appended,
// base shortened to fit.
func withHash(base, key string) string {
	sum := sha256.Sum256([]byte(key))
	suffix := "-" + hex.EncodeToString(sum[:4])
	if len(base)+len(suffix) > maxName {
		base = strings.TrimRight(base[:maxName-len(suffix)], "-.")
	}
	return base + suffix
}

// trimShared is stage less the '-'-separated words it starts with that
// flow starts with too, keeping at least its last word.
func trimShared(stage, flow string) string {
	sw, fw := strings.Split(stage, "-"), strings.Split(flow, "-")
	n := 0
	for n < len(sw)-1 && n < len(fw) && sw[n] == fw[n] {
		n++
	}
	return strings.Join(sw[n:], "-")
}
