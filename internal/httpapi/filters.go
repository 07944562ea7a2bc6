package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// Messages of the 400 bodies, verbatim from Django and Django REST framework.
const (
	// ModelChoiceField (a foreign-key filter): authentik answers the same
	// for a malformed UUID and for a UUID that is not an object of the kind.
	msgInvalidModelChoice = "Select a valid choice. That choice is not one of the available choices."
	// ChoiceField and ModelMultipleChoiceField: the value is quoted.
	msgInvalidChoice = "Select a valid choice. %s is not one of the available choices."
	// The model's UUIDField, reached by ModelMultipleChoiceField before the
	// lookup.
	msgInvalidUUID = "“%s” is not a valid UUID."
	// The form's UUIDField, which django-filter's UUIDFilter uses (a
	// primary key filter: flow_uuid, fsb_uuid, pbm_uuid, stage_uuid).
	msgEnterValidUUID = "Enter a valid UUID."
	// DecimalField, which django-filter uses for every number filter.
	msgInvalidNumber = "Enter a number."
	// DRF's BooleanField. django-filter's BooleanWidget reads anything
	// other than true/false/1/0 (any case) as "no filter", silently
	// ignoring a typo such as `show_matched_user=ture`; stagehand refuses
	// it instead, with DRF's message for an invalid boolean.
	msgInvalidBoolean = "Must be a valid boolean."
)

// fieldErrors is a DRF validation error body, {"param": ["message"]}, with
// the parameters in the filterset's order (a Go map would sort them).
type fieldErrors []fieldError

type fieldError struct {
	param string
	msgs  []string
}

// MarshalJSON writes the errors as one object, in order.
func (fe fieldErrors) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, e := range fe {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(e.param)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(e.msgs)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// filterKind is what a filter's value is, as authentik's OpenAPI document
// declares the query parameter.
type filterKind string

// The filter kinds.
const (
	filterText   filterKind = "text"    // a string, matched exactly
	filterBool   filterKind = "boolean" // true, false, 1 or 0
	filterNumber filterKind = "integer" // a number
	filterUUID   filterKind = "uuid"    // a uid: a primary or a foreign key
	filterUUIDs  filterKind = "uuids"   // several uids (a many-to-many field)
	filterChoice filterKind = "choice"  // one of choices
)

// filterDef is one filterset field. parse reads the request's values of the
// parameter: a nil predicate means no filtering (absent or empty), a
// non-empty msg a 400.
type filterDef[R any] struct {
	param string
	parse func(ctx context.Context, rv *resolver, values []string) (pred func(*R) bool, msg string, err error)
	// kind and choices describe the parameter, for the test that holds
	// every filter to authentik's OpenAPI document.
	kind    filterKind
	choices []string
}

// filterParam describes a filter of any endpoint.
type filterParam struct {
	name    string
	kind    filterKind
	choices []string
}

func (e *kindEndpoint[O, R]) filterParams() []filterParam {
	out := make([]filterParam, len(e.filters))
	for i, f := range e.filters {
		out[i] = filterParam{name: f.param, kind: f.kind, choices: f.choices}
	}
	return out
}

func last(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[len(values)-1]
}

// nameFilter is `name`: an exact, case-sensitive match.
func nameFilter[R any](get func(*R) string) filterDef[R] {
	return filterDef[R]{kind: filterText, param: "name", parse: func(_ context.Context, _ *resolver, values []string) (func(*R) bool, string, error) {
		v := last(values)
		if v == "" {
			return nil, "", nil
		}
		return func(r *R) bool { return get(r) == v }, "", nil
	}}
}

// charFilter is a text field other than name (django-filter's CharFilter):
// an exact, case-sensitive match.
func charFilter[R any](param string, get func(*R) string) filterDef[R] {
	f := nameFilter(get)
	f.param = param
	return f
}

// uuidFilter is a UUID field (django-filter's UUIDFilter): any spelling of
// a UUID that Python reads, matched against the canonical form.
func uuidFilter[R any](param string, get func(*R) string) filterDef[R] {
	return filterDef[R]{kind: filterUUID, param: param, parse: func(_ context.Context, _ *resolver, values []string) (func(*R) bool, string, error) {
		v := last(values)
		if v == "" {
			return nil, "", nil
		}
		uid, ok := parsePK(v)
		if !ok {
			return nil, msgEnterValidUUID, nil
		}
		return func(r *R) bool { return get(r) == uid }, "", nil
	}}
}

// boolFilter is a boolean field: true/false/1/0 in any case.
func boolFilter[R any](param string, get func(*R) bool) filterDef[R] {
	return filterDef[R]{kind: filterBool, param: param, parse: func(_ context.Context, _ *resolver, values []string) (func(*R) bool, string, error) {
		var want bool
		switch strings.ToLower(last(values)) {
		case "":
			return nil, "", nil
		case "true", "1":
			want = true
		case "false", "0":
			want = false
		default:
			return nil, msgInvalidBoolean, nil
		}
		return func(r *R) bool { return get(r) == want }, "", nil
	}}
}

// decimal is what Python's Decimal accepts that matters here: an optional
// sign, digits with an optional fraction, an optional exponent.
var decimal = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// numberFilter is an integer field, read as a decimal as django-filter's
// NumberFilter does: `5`, `5.0` and `5e0` all match 5, `5.5` matches nothing.
func numberFilter[R any](param string, get func(*R) int32) filterDef[R] {
	return filterDef[R]{kind: filterNumber, param: param, parse: func(_ context.Context, _ *resolver, values []string) (func(*R) bool, string, error) {
		v := strings.TrimSpace(last(values))
		if v == "" {
			return nil, "", nil
		}
		if !decimal.MatchString(v) || len(v) > 64 {
			return nil, msgInvalidNumber, nil
		}
		rat, ok := new(big.Rat).SetString(v)
		if !ok {
			return nil, msgInvalidNumber, nil
		}
		if !rat.IsInt() || !rat.Num().IsInt64() {
			return func(*R) bool { return false }, "", nil
		}
		want := rat.Num().Int64()
		return func(r *R) bool { return int64(get(r)) == want }, "", nil
	}}
}

// choiceFilter is an enum field.
func choiceFilter[R any](param string, choices []string, get func(*R) string) filterDef[R] {
	return filterDef[R]{kind: filterChoice, choices: choices, param: param, parse: func(_ context.Context, _ *resolver, values []string) (func(*R) bool, string, error) {
		v := last(values)
		if v == "" {
			return nil, "", nil
		}
		if !slices.Contains(choices, v) {
			return nil, fmt.Sprintf(msgInvalidChoice, v), nil
		}
		return func(r *R) bool { return get(r) == v }, "", nil
	}}
}

// uidTarget lists the kinds a reference filter's value may be the uid of.
type uidTarget []string

var (
	targetFlow                  = uidTarget{flowsv1alpha1.KindFlow}
	targetPassword              = uidTarget{string(flowsv1alpha1.StageKindPassword)}
	targetCaptcha               = uidTarget{string(flowsv1alpha1.StageKindCaptcha)}
	targetAuthenticatorValidate = uidTarget{string(flowsv1alpha1.StageKindAuthenticatorValidate)}
	targetAnyStage              = func() uidTarget {
		var out uidTarget
		for _, k := range flowsv1alpha1.StageKinds() {
			out = append(out, string(k))
		}
		return out
	}()
)

// exists reports whether an object of one of the target kinds has the uid.
func (t uidTarget) exists(ctx context.Context, rv *resolver, uid string) (bool, error) {
	for _, kind := range t {
		l, err := flowsv1alpha1.NewList(kind)
		if err != nil {
			return false, err
		}
		if err := rv.r.List(ctx, l, client.MatchingFields{refs.UID: uid}, noCopy); err != nil {
			return false, fmt.Errorf("looking up uid %s: %w", uid, err)
		}
		if apimeta.LenList(l) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// refFilter is a foreign key (django-filter's ModelChoiceFilter): the value
// must be the uid of an existing object of the target kind, or the request
// is a 400, malformed or not.
func refFilter[R any](param string, target uidTarget, get func(*R) *string) filterDef[R] {
	return filterDef[R]{kind: filterUUID, param: param, parse: func(ctx context.Context, rv *resolver, values []string) (func(*R) bool, string, error) {
		v := last(values)
		if v == "" {
			return nil, "", nil
		}
		uid, ok := parsePK(v)
		if !ok {
			return nil, msgInvalidModelChoice, nil
		}
		found, err := target.exists(ctx, rv, uid)
		if err != nil {
			return nil, "", err
		}
		if !found {
			return nil, msgInvalidModelChoice, nil
		}
		return func(r *R) bool { p := get(r); return p != nil && *p == uid }, "", nil
	}}
}

// multiRefFilter is a many-to-many field (ModelMultipleChoiceFilter): every
// value must be the uid of an object of the target kinds (with no target
// kinds, as for a binding's policies, which stagehand does not model, no
// value is); an object matches when it has any of them.
// authentik compares the values as written with the canonical uids, so it
// refuses an upper-case spelling of an existing uid; stagehand accepts every
// spelling of a UUID. Empty values are ignored.
func multiRefFilter[R any](param string, target uidTarget, get func(*R) []string) filterDef[R] {
	return filterDef[R]{kind: filterUUIDs, param: param, parse: func(ctx context.Context, rv *resolver, values []string) (func(*R) bool, string, error) {
		var raw, uids []string
		for _, v := range values {
			if v == "" {
				continue
			}
			uid, ok := parsePK(v)
			if !ok {
				return nil, fmt.Sprintf(msgInvalidUUID, v), nil
			}
			raw, uids = append(raw, v), append(uids, uid)
		}
		if len(uids) == 0 {
			return nil, "", nil
		}
		for i, uid := range uids {
			found, err := target.exists(ctx, rv, uid)
			if err != nil {
				return nil, "", err
			}
			if !found {
				return nil, fmt.Sprintf(msgInvalidChoice, raw[i]), nil
			}
		}
		return func(r *R) bool {
			for _, have := range get(r) {
				if slices.Contains(uids, have) {
					return true
				}
			}
			return false
		}, "", nil
	}}
}
