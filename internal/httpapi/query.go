package httpapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// The query string, as authentik reads it (Django REST framework with
// django-filter). Every viewset runs the same filter backends for retrieve
// and list: the filterset's fields, `search` and `ordering`, so an invalid
// filter value is a 400 on a retrieve too, and a filter that excludes the
// object makes it a 404. `page` and `page_size` are read by the paginator,
// which only lists use. A parameter given twice counts once, with its last
// value (Django's QueryDict.get), except a multiple-choice filter, which
// takes every value.

// Pagination limits: authentik's system settings pagination_default_page_size
// and pagination_max_page_size, at their defaults.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// Messages of the 400 bodies, verbatim from Django and Django REST framework.
const (
	// ModelChoiceField (a foreign-key filter): authentik answers the same
	// for a malformed UUID and for a UUID that is not an object of the kind.
	msgInvalidModelChoice = "Select a valid choice. That choice is not one of the available choices."
	// ChoiceField and ModelMultipleChoiceField: the value is quoted.
	msgInvalidChoice = "Select a valid choice. %s is not one of the available choices."
	// UUIDField, reached by ModelMultipleChoiceField before the lookup.
	msgInvalidUUID = "“%s” is not a valid UUID."
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

// filterDef is one filterset field. parse reads the request's values of the
// parameter: a nil predicate means no filtering (absent or empty), a
// non-empty msg a 400.
type filterDef[R any] struct {
	param string
	parse func(ctx context.Context, rv *resolver, values []string) (pred func(*R) bool, msg string, err error)
}

func last(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[len(values)-1]
}

// nameFilter is `name`: an exact, case-sensitive match.
func nameFilter[R any](get func(*R) string) filterDef[R] {
	return filterDef[R]{param: "name", parse: func(_ context.Context, _ *resolver, values []string) (func(*R) bool, string, error) {
		v := last(values)
		if v == "" {
			return nil, "", nil
		}
		return func(r *R) bool { return get(r) == v }, "", nil
	}}
}

// boolFilter is a boolean field: true/false/1/0 in any case.
func boolFilter[R any](param string, get func(*R) bool) filterDef[R] {
	return filterDef[R]{param: param, parse: func(_ context.Context, _ *resolver, values []string) (func(*R) bool, string, error) {
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
	return filterDef[R]{param: param, parse: func(_ context.Context, _ *resolver, values []string) (func(*R) bool, string, error) {
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
	return filterDef[R]{param: param, parse: func(_ context.Context, _ *resolver, values []string) (func(*R) bool, string, error) {
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
	targetFlow     = uidTarget{flowsv1alpha1.KindFlow}
	targetPassword = uidTarget{string(flowsv1alpha1.StageKindPassword)}
	targetCaptcha  = uidTarget{string(flowsv1alpha1.StageKindCaptcha)}
	targetAnyStage = func() uidTarget {
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
	return filterDef[R]{param: param, parse: func(ctx context.Context, rv *resolver, values []string) (func(*R) bool, string, error) {
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
// value must be a stage's uid; an object matches when it has any of them.
// authentik compares the values as written with the canonical uids, so it
// refuses an upper-case spelling of an existing uid; stagehand accepts every
// spelling of a UUID. Empty values are ignored.
func multiRefFilter[R any](param string, get func(*R) []string) filterDef[R] {
	return filterDef[R]{param: param, parse: func(ctx context.Context, rv *resolver, values []string) (func(*R) bool, string, error) {
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
			found, err := targetAnyStage.exists(ctx, rv, uid)
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

// query is a parsed query string: the filters, search and ordering that
// apply to a retrieve as to a list.
type query[R any] struct {
	preds []func(*R) bool
	order []func(a, b *R) int
}

func (q *query[R]) match(r *R) bool {
	for _, p := range q.preds {
		if !p(r) {
			return false
		}
	}
	return true
}

// parseQuery reads the filters, `search` and `ordering`. fe is non-nil for a
// 400; err for a failure to read the cache.
func (e *stageEndpoint[O, R]) parseQuery(ctx context.Context, rv *resolver, values url.Values) (*query[R], fieldErrors, error) {
	q := &query[R]{}
	var fe fieldErrors
	for i := range e.filters {
		f := &e.filters[i]
		vs, ok := values[f.param]
		if !ok {
			continue
		}
		pred, msg, err := f.parse(ctx, rv, vs)
		if err != nil {
			return nil, nil, err
		}
		if msg != "" {
			fe = append(fe, fieldError{param: f.param, msgs: []string{msg}})
			continue
		}
		if pred != nil {
			q.preds = append(q.preds, pred)
		}
	}
	if fe != nil {
		return nil, fe, nil
	}
	if terms := searchTerms(last(values["search"])); len(terms) > 0 {
		q.preds = append(q.preds, func(r *R) bool {
			name := strings.ToLower(e.meta(r).Name)
			for _, t := range terms {
				if !strings.Contains(name, t) {
					return false
				}
			}
			return true
		})
	}
	q.order = e.ordering(last(values["ordering"]))
	return q, nil, nil
}

// searchTerms splits `search` as DRF's SearchFilter does: on whitespace
// and commas, keeping a quoted phrase whole. The viewsets search `name`
// only, case-insensitively (icontains); every term must match.
func searchTerms(s string) []string {
	s = strings.ReplaceAll(s, "\x00", "")
	var terms []string
	add := func(t string) {
		if t = strings.TrimSpace(t); t != "" {
			terms = append(terms, strings.ToLower(t))
		}
	}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \t\n\r\f\v")
		if s == "" {
			break
		}
		if q := s[0]; q == '"' || q == '\'' {
			if end := strings.IndexByte(s[1:], q); end >= 0 {
				add(s[1 : end+1])
				s = s[end+2:]
				continue
			}
		}
		end := strings.IndexAny(s, " \t\n\r\f\v")
		if end < 0 {
			end = len(s)
		}
		for t := range strings.SplitSeq(s[:end], ",") {
			add(t)
		}
		s = s[end:]
	}
	return terms
}

// ordering reads `ordering`: comma-separated field names, each optionally
// prefixed with "-" for descending. As in DRF's OrderingFilter, a field that
// cannot be ordered by is dropped silently, and when none is left the
// viewset's default, name, applies. The fields are pk, name and each of the
// stage's own scalar and array fields; the many-to-many fields (flow_set,
// sources, configuration_stages, webauthn_allowed_device_types), by which
// authentik would return one row per related object, are not accepted.
func (e *stageEndpoint[O, R]) ordering(param string) []func(a, b *R) int {
	var order []func(a, b *R) int
	for term := range strings.SplitSeq(param, ",") {
		term = strings.TrimSpace(term)
		desc := strings.HasPrefix(term, "-")
		field := strings.TrimPrefix(term, "-")
		var c func(a, b *R) int
		switch field {
		case "pk":
			c = func(a, b *R) int { return strings.Compare(e.meta(a).PK, e.meta(b).PK) }
		case "name":
			c = func(a, b *R) int { return strings.Compare(e.meta(a).Name, e.meta(b).Name) }
		default:
			c = e.orderings[field]
		}
		if c == nil {
			continue
		}
		if desc {
			asc := c
			c = func(a, b *R) int { return -asc(a, b) }
		}
		order = append(order, c)
	}
	if len(order) == 0 {
		order = append(order, func(a, b *R) int { return strings.Compare(e.meta(a).Name, e.meta(b).Name) })
	}
	return order
}

// parsePK reads a UUID as Python's uuid.UUID(hex=...) does, which is what
// Django does with the pk in the path and with UUID filter values: optional
// "urn:uuid:" and braces, hyphens anywhere, 32 hex digits in any case. It
// returns the canonical form, which Kubernetes uids have.
func parsePK(s string) (string, bool) {
	if isCanonicalUUID(s) {
		return s, true
	}
	h := strings.ReplaceAll(s, "urn:", "")
	h = strings.ReplaceAll(h, "uuid:", "")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	if len(h) != 32 {
		return "", false
	}
	var b [16]byte
	if _, err := hex.Decode(b[:], []byte(h)); err != nil {
		return "", false
	}
	return formatUUID(b), true
}

func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// pagination is authentik's pagination object.
type pagination struct {
	Next       int `json:"next"`
	Previous   int `json:"previous"`
	Count      int `json:"count"`
	Current    int `json:"current"`
	TotalPages int `json:"total_pages"`
	StartIndex int `json:"start_index"`
	EndIndex   int `json:"end_index"`
}

// page reads `page` and `page_size` as authentik's paginator does, and
// returns the page and the slice bounds of its items. ok is false for a page
// that does not exist (DRF answers 404 "Invalid page.").
//
// page_size is capped at 100 and defaults to 20. authentik answers a
// page_size that is not a positive integer (`page_size=abc`, `0`) with 100
// items, an accident of how its paginator falls back to DRF's PAGE_SIZE
// setting; stagehand uses the default page size instead, which is what DRF
// means to do.
func page(values url.Values, count int) (p pagination, lo, hi int, ok bool) {
	size := defaultPageSize
	if vs, has := values["page_size"]; has {
		if n, err := pyInt(last(vs)); err == nil && n > 0 {
			size = min(n, maxPageSize)
		} else if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange && !strings.HasPrefix(strings.TrimSpace(last(vs)), "-") {
			size = maxPageSize
		}
	}
	pages := max(1, (count+size-1)/size)
	current := 1
	switch raw := last(values["page"]); raw {
	case "":
	case "last":
		current = pages
	default:
		n, err := pyInt(raw)
		if err != nil || n < 1 || n > pages {
			return p, 0, 0, false
		}
		current = n
	}
	lo = (current - 1) * size
	hi = min(lo+size, count)
	p = pagination{Count: count, Current: current, TotalPages: pages, StartIndex: lo + 1, EndIndex: hi}
	if count == 0 {
		p.StartIndex = 0
	}
	if current < pages {
		p.Next = current + 1
	}
	if current > 1 {
		p.Previous = current - 1
	}
	return p, lo, hi, true
}

// pyInt parses an integer as Python's int() does a query value: surrounding
// whitespace allowed, an optional sign.
func pyInt(s string) (int, error) { return strconv.Atoi(strings.TrimSpace(s)) }
