package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// response is a status and a JSON body, or, for the export action, raw
// bytes of another content type, with headers of their own.
type response struct {
	status int
	body   any

	raw         []byte
	contentType string
	headers     map[string]string
}

// detail is DRF's error body for everything but validation errors.
type detail struct {
	Detail string `json:"detail"`
}

func detailResponse(status int, msg string) response {
	return response{status: status, body: detail{Detail: msg}}
}

// Bodies that are the same for every route.
const (
	// Django's Http404 without a message, as DRF renders it: an unknown
	// route, or a pk that is not a UUID.
	msgNotFound = "Not found."
	// DRF's paginator, for a page that does not exist.
	msgInvalidPage = "Invalid page."
	// DRF's APIException: something failed on our side.
	msgServerError = "A server error occurred."
	// DRF's ServiceUnavailable: the cache has not synced yet, or the API
	// server did not answer a review.
	msgUnavailable = "Service temporarily unavailable, try again later."
	// A request body over maxBodyBytes (the API reads none).
	msgTooLarge = "Request body too large."
)

// errTooLarge is an answer over Options.MaxResponseBytes, found while it
// is being built.
var errTooLarge = errors.New("the answer is larger than --api-max-response-bytes")

// tooLarge is the answer to a request whose answer would be over
// maxBytes. authentik has no such limit; stagehand has one because one
// tenant's bindings decide how large a flow_set, and so a page, is, and
// the manager holding a page of hundreds of megabytes in memory is every
// tenant's outage. A 500, as DRF answers what the server cannot do, with
// what to do instead.
func tooLarge(maxBytes int64) response {
	return detailResponse(500, fmt.Sprintf("The answer would be larger than the API's limit of %d bytes (--api-max-response-bytes): ask for fewer objects with page_size, or narrow the query with its filters.", maxBytes))
}

// request is what an endpoint needs of one HTTP request.
type request struct {
	values url.Values
	// rawQuery is the query string as sent: lists are memoised by it.
	rawQuery string
	perm     permission
	rv       *resolver
	// memo holds rendered bodies; nil when the reader is not a cache whose
	// events keep it honest (tests over a fake client).
	memo *memo
	// fail records an unexpected error (the server logs it).
	fail func(error)
	// maxBytes bounds an answer's body (Options.MaxResponseBytes).
	maxBytes int64
}

func (rq *request) serverError(err error) response {
	if errors.Is(err, errTooLarge) {
		return tooLarge(rq.maxBytes)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// The request's time ran out (or its client went away) while it
		// was being answered: as for a review that did not answer in time.
		return detailResponse(503, msgUnavailable)
	}
	rq.fail(err)
	return detailResponse(500, msgServerError)
}

func (rq *request) reviewError(err error) response {
	if errors.Is(err, errThrottled) || errors.Is(err, errTooManyReviews) {
		r := detailResponse(503, msgUnavailable)
		r.headers = map[string]string{"Retry-After": "1"}
		return r
	}
	rq.fail(err)
	return detailResponse(503, msgUnavailable)
}

// listAll lists every object of the kind from the cache.
func (e *kindEndpoint[O, R]) listAll(ctx context.Context, rq *request, opts ...client.ListOption) ([]O, error) {
	l, err := flowsv1alpha1.NewList(e.info.kind)
	if err != nil {
		return nil, err
	}
	if err := rq.rv.r.List(ctx, l, append(opts, noCopy)...); err != nil {
		return nil, err
	}
	return items[O](l), nil
}

// items returns pointers to a list's items (into the list, not copies).
func items[O client.Object](l client.ObjectList) []O {
	out := make([]O, 0, apimeta.LenList(l))
	_ = apimeta.EachListItem(l, func(o runtime.Object) error {
		if obj, ok := o.(O); ok {
			out = append(out, obj)
		}
		return nil
	})
	return out
}

// namespaces lists, once each and sorted, the namespaces of objs, but for
// those in except.
func namespaces[O client.Object](objs []O, except map[string]bool) []string {
	var out []string
	for _, o := range objs {
		if ns := o.GetNamespace(); !except[ns] {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// anyReadable reports whether the caller may read any object of the kind:
// authentik's ObjectFilter answers 403 to a caller who may view no object of
// the model at all, and filters the rest. A caller who may get the kind in
// every namespace (authentik's global permission) may read "any" even when
// there is nothing to read. except holds namespaces already found
// unreadable.
func (e *kindEndpoint[O, R]) anyReadable(ctx context.Context, rq *request, except map[string]bool) (bool, error) {
	if rq.perm.everything() {
		return true, nil
	}
	if ok, err := rq.perm.may(ctx, ""); err != nil || ok {
		return ok, err
	}
	return e.anyNamespaceReadable(ctx, rq, except)
}

// anyNamespaceReadable is anyReadable once the cluster-wide question has
// been answered no: whether the caller may read the kind in any namespace
// (but those in except) that holds an object of it.
func (e *kindEndpoint[O, R]) anyNamespaceReadable(ctx context.Context, rq *request, except map[string]bool) (bool, error) {
	objs, err := e.listAll(ctx, rq)
	if err != nil {
		return false, err
	}
	readable, err := rq.perm.readable(ctx, namespaces(objs, except), true)
	return len(readable) > 0, err
}

// find returns the objects a retrieve's key names, in the order a retrieve
// prefers them; wellFormed is false for a key that can name nothing (a
// uid lookup's key that is not a UUID).
//
// By uid there is at most one. By slug there may be several: authentik's
// slugs are unique, stagehand's only per namespace (and even there two
// flows may share one, which their status warns about). The oldest comes
// first, so that a flow another namespace creates later with the same slug
// never takes over the URLs (export_url, /flows/instances/<slug>/) that
// already lead to the first; ties go to namespace, then name, then uid.
func (e *kindEndpoint[O, R]) find(ctx context.Context, rq *request, key string) (objs []O, wellFormed bool, err error) {
	switch e.info.lookup {
	case bySlug:
		all, err := e.listAll(ctx, rq)
		if err != nil {
			return nil, true, err
		}
		for _, o := range all {
			if f, ok := any(o).(*flowsv1alpha1.Flow); ok && f.EffectiveSlug() == key {
				objs = append(objs, o)
			}
		}
		slices.SortFunc(objs, func(a, b O) int {
			ta, tb := a.GetCreationTimestamp(), b.GetCreationTimestamp()
			return cmp.Or(ta.Compare(tb.Time), strings.Compare(a.GetNamespace(), b.GetNamespace()),
				strings.Compare(a.GetName(), b.GetName()), strings.Compare(string(a.GetUID()), string(b.GetUID())))
		})
		return objs, true, nil
	default:
		uid, ok := parsePK(key)
		if !ok {
			return nil, false, nil
		}
		if rq.memo != nil {
			// The informers' events keep a uid's object at hand.
			obj, found := rq.memo.object(types.UID(uid))
			if o, isKind := obj.(O); found && isKind {
				return []O{o}, true, nil
			}
			return nil, true, nil
		}
		objs, err := e.listAll(ctx, rq, client.MatchingFields{refs.UID: uid})
		return objs, true, err
	}
}

// retrieve answers GET /api/v3/<route>/<key>/, in authentik's order of
// checks: object permissions (403 for a caller who may read no object of
// the kind), then the query string's filters (400), then the lookup (404).
//
// An object the caller may not read is a 404 "No ... matches the given
// query." like one that does not exist, as in authentik, whose permission
// filter takes it out of the queryset before the lookup, unless the caller
// may read no object of the kind at all, which is a 403. The filters narrow
// the queryset before the lookup too: of several flows with the slug, the
// first the caller may read and the filters keep is the answer.
func (e *kindEndpoint[O, R]) retrieve(ctx context.Context, rq *request, key string) response {
	found, wellFormed, err := e.find(ctx, rq, key)
	if err != nil {
		return rq.serverError(err)
	}
	var readable []O
	unreadable := map[string]bool{}
	for _, o := range found {
		ok, err := rq.perm.may(ctx, o.GetNamespace())
		if err != nil {
			return rq.reviewOrServerError(err)
		}
		if ok {
			readable = append(readable, o)
		} else {
			unreadable[o.GetNamespace()] = true
		}
	}
	if len(readable) == 0 {
		ok, err := e.anyReadable(ctx, rq, unreadable)
		if err != nil {
			return rq.reviewOrServerError(err)
		}
		if !ok {
			return detailResponse(403, msgDenied)
		}
	}
	q, fe, err := e.parseQuery(ctx, rq.rv, rq.values)
	if err != nil {
		return rq.serverError(err)
	}
	if fe != nil {
		return response{status: 400, body: fe}
	}
	if !wellFormed {
		return detailResponse(404, msgNotFound)
	}
	for _, obj := range readable {
		r, en, err := e.rendered(ctx, rq, obj)
		if err != nil {
			return rq.serverError(err)
		}
		if r == nil || !q.match(r) {
			continue
		}
		b, err := e.full(ctx, rq, obj, r, en)
		if err != nil {
			return rq.serverError(err)
		}
		return jsonResponse(b)
	}
	return detailResponse(404, e.info.notFound())
}

type row[O client.Object, R any] struct {
	obj O
	r   *R
	en  *memoEntry
}

// list answers GET /api/v3/<route>/: the objects the caller may read
// (403 when none, as in authentik), filtered, searched, ordered and
// paginated.
func (e *kindEndpoint[O, R]) list(ctx context.Context, rq *request) response {
	// A caller who may read every object of the kind is answered the same
	// list for the same query, until the next change: the memo keeps it.
	all := rq.perm.everything()
	if !all {
		var err error
		if all, err = rq.perm.may(ctx, ""); err != nil {
			return rq.reviewOrServerError(err)
		}
	}
	var memoKey string
	if all && rq.memo != nil {
		memoKey = e.info.route + "?" + rq.rawQuery
		st := rq.memo.listStamp()
		if b, ok := rq.memo.list(memoKey, st); ok {
			return jsonResponse(b)
		}
		resp := e.listUncached(ctx, rq, true)
		if resp.status == 200 {
			rq.memo.rememberList(memoKey, st, resp.raw)
		}
		return resp
	}
	return e.listUncached(ctx, rq, all)
}

// listUncached is list without the memo of whole lists; all says the caller
// may read every object of the kind.
func (e *kindEndpoint[O, R]) listUncached(ctx context.Context, rq *request, all bool) response {
	objs, err := e.listAll(ctx, rq)
	if err != nil {
		return rq.serverError(err)
	}
	q, fe, err := e.parseQuery(ctx, rq.rv, rq.values)
	if err != nil {
		return rq.serverError(err)
	}
	if fe != nil {
		// authentik's permission filter comes first: a caller who may
		// read no object of the kind is a 403, not a 400.
		if !all {
			if ok, err := e.anyNamespaceReadable(ctx, rq, nil); err != nil || !ok {
				return deniedOr(rq, err)
			}
		}
		return response{status: 400, body: fe}
	}
	rows := make([]row[O, R], 0, len(objs))
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return rq.serverError(err)
		}
		r, en, err := e.rendered(ctx, rq, o)
		if err != nil {
			return rq.serverError(err)
		}
		if r != nil && q.match(r) {
			rows = append(rows, row[O, R]{obj: o, r: r, en: en})
		}
	}
	if !all {
		// Only the namespaces that hold a match are asked about (authz.go).
		var unreadable map[string]bool
		rows, unreadable, err = visibleRows(ctx, rq, rows)
		if err != nil {
			return rq.reviewOrServerError(err)
		}
		if len(rows) == 0 {
			// None readable: a 403 if the caller may read no object of the
			// kind at all, matching or not; an empty page otherwise.
			if ok, err := e.anyNamespaceReadable(ctx, rq, unreadable); err != nil || !ok {
				return deniedOr(rq, err)
			}
		}
	}
	// Ties are broken by name, namespace and uid, so that every replica
	// answers every request in the same order (authentik's names are
	// unique; stagehand's are unique per namespace).
	slices.SortFunc(rows, func(a, b row[O, R]) int {
		for _, c := range q.order {
			if n := c(a.r, b.r); n != 0 {
				return n
			}
		}
		return cmp.Or(strings.Compare(a.obj.GetName(), b.obj.GetName()),
			strings.Compare(a.obj.GetNamespace(), b.obj.GetNamespace()),
			strings.Compare(string(a.obj.GetUID()), string(b.obj.GetUID())))
	})
	p, lo, hi, ok := page(rq.values, len(rows))
	if !ok {
		return detailResponse(404, msgInvalidPage)
	}
	// authentik's paginated list, {"pagination":...,"results":[...],
	// "autocomplete":{}}, around each result's JSON as retrieve answers it.
	// autocomplete is authentik's query language schema, which is empty for
	// viewsets without QL fields, as these viewsets are.
	pj, err := encodeJSON(p)
	if err != nil {
		return rq.serverError(err)
	}
	results := make([][]byte, 0, hi-lo)
	size := 64 + len(pj)
	for _, rw := range rows[lo:hi] {
		if err := ctx.Err(); err != nil {
			return rq.serverError(err)
		}
		b, err := e.full(ctx, rq, rw.obj, rw.r, rw.en)
		if err != nil {
			return rq.serverError(err)
		}
		results = append(results, b)
		size += len(b) + 1
		if rq.maxBytes > 0 && int64(size) > rq.maxBytes {
			return tooLarge(rq.maxBytes)
		}
	}
	out := make([]byte, 0, size)
	out = append(out, `{"pagination":`...)
	out = append(out, pj...)
	out = append(out, `,"results":[`...)
	for i, b := range results {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, b...)
	}
	out = append(out, `],"autocomplete":{}}`...)
	return jsonResponse(out)
}

// reviewOrServerError answers a failure to ask the API server 503, any
// other failure 500.
func (rq *request) reviewOrServerError(err error) response {
	if errors.Is(err, errReview) {
		return rq.reviewError(err)
	}
	return rq.serverError(err)
}
