package httpapi

import (
	"context"
	"net/url"
	"slices"
	"strings"
)

// The query string, as authentik reads it (Django REST framework with
// django-filter). Every viewset runs the same filter backends for retrieve
// and list: the filterset's fields, `search` and `ordering`, so an invalid
// filter value is a 400 on a retrieve too, and a filter that excludes the
// object makes it a 404. `page` and `page_size` are read by the paginator,
// which only lists use. A parameter given twice counts once, with its last
// value (Django's QueryDict.get), except a multiple-choice filter, which
// takes every value.

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
func (e *kindEndpoint[O, R]) parseQuery(ctx context.Context, rv *resolver, values url.Values) (*query[R], fieldErrors, error) {
	if len(values) == 0 {
		// No filter, no search, the default ordering: the same query for
		// every such request, built once.
		e.plainOnce.Do(func() { e.plain = &query[R]{order: e.ordering("")} })
		return e.plain, nil, nil
	}
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
			fields := make([]string, len(e.search))
			for i, f := range e.search {
				fields[i] = strings.ToLower(f(r))
			}
			for _, t := range terms {
				if !slices.ContainsFunc(fields, func(f string) bool { return strings.Contains(f, t) }) {
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
// and commas, keeping a quoted phrase whole. Every term must occur,
// ignoring case (icontains), in one of the viewset's search_fields.
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
// viewset's default ordering applies. The fields are the body's own scalar
// and array fields that are model fields (pk and name included); computed
// fields (component, export_url, cache_count, ...) and many-to-many fields
// (flow_set, sources, configuration_stages, stages, ...), by which authentik
// would fail or return one row per related object, are not accepted.
func (e *kindEndpoint[O, R]) ordering(param string) []func(a, b *R) int {
	var order []func(a, b *R) int
	add := func(field string, desc bool) {
		c := e.orderings[field]
		if c == nil {
			return
		}
		if desc {
			asc := c
			c = func(a, b *R) int { return -asc(a, b) }
		}
		order = append(order, c)
	}
	for term := range strings.SplitSeq(param, ",") {
		term = strings.TrimSpace(term)
		add(strings.TrimPrefix(term, "-"), strings.HasPrefix(term, "-"))
	}
	if len(order) == 0 {
		for _, term := range e.defaultOrder {
			add(strings.TrimPrefix(term, "-"), strings.HasPrefix(term, "-"))
		}
	}
	return order
}
