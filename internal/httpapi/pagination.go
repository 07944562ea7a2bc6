package httpapi

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Pagination limits: authentik's system settings pagination_default_page_size
// and pagination_max_page_size, at their defaults.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

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
		} else if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(strings.TrimSpace(last(vs)), "-") {
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
