package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/cache"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Answers from bytes rendered ahead. A request would otherwise render its
// objects anew: read each reference, list the bindings behind a flow_set,
// encode the JSON. memo keeps, for each object the API has rendered, its
// body as the filters and orderings read it, and the JSON a response holds,
// until the next change of any stagehand object: every informer event bumps
// the epoch, and an entry of an older epoch is rendered again when next
// asked for. So in a steady state a request costs its authorisation, an
// index lookup, a map read and a write; after a change, each object is
// rendered again once, when first asked for.
//
// Why everything is dropped on any change, and not only what the change
// touches: a stage's body depends on its bindings, their flows, the objects
// it references and their uids; working out exactly which bodies a change
// reaches is the kind of bookkeeping that goes wrong quietly. Changes are
// rare beside reads.
//
// It is right by construction: an entry records the epoch read before its
// object was rendered, so a change that lands during the render (the cache
// is updated before the event that bumps the epoch is handled) leaves an
// entry the next request finds stale.
type memo struct {
	epoch   atomic.Uint64
	entries sync.Map // types.UID -> *memoEntry
	// objects finds an object by uid, as the cache's uid index does, for
	// a retrieve's lookup without a List; kept by the same events.
	objects sync.Map // types.UID -> client.Object
	// lists are whole list answers, by route and query string, for callers
	// who may read every object of the kind; at most maxMemoLists.
	lists *cache.LRUExpireCache
}

// maxMemoLists bounds the list answers the memo keeps: a caller sending
// ever new query strings evicts old answers, never grows memory.
const maxMemoLists = 1024

func newMemo() *memo { return &memo{lists: cache.NewLRUExpireCache(maxMemoLists)} }

// listEntry is a whole list answer.
type listEntry struct {
	epoch uint64
	body  []byte
}

// list returns the list answer kept for key, if it is of epoch.
func (m *memo) list(key string, epoch uint64) ([]byte, bool) {
	v, ok := m.lists.Get(key)
	if !ok {
		return nil, false
	}
	e := v.(*listEntry)
	return e.body, e.epoch == epoch
}

// rememberList keeps a list answer, computed from what was current at
// epoch.
func (m *memo) rememberList(key string, epoch uint64, body []byte) {
	m.lists.Add(key, &listEntry{epoch: epoch, body: body}, time.Hour)
}

// memoEntry is one object's rendered body.
type memoEntry struct {
	epoch uint64
	// r is the body without the fields finish adds (a *R of the
	// object's endpoint; a nil *R for an object authentik could not have).
	r any
	// full is the JSON of the complete body, once a response needed it.
	full atomic.Pointer[[]byte]
}

// changed records a change of some stagehand object: every entry is stale.
func (m *memo) changed() { m.epoch.Add(1) }

// forget drops a deleted object's entry.
func (m *memo) forget(uid types.UID) { m.entries.Delete(uid) }

// handler is the informer event handler that keeps the memo honest.
func (m *memo) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			m.changed()
			if o, ok := obj.(client.Object); ok {
				m.objects.Store(o.GetUID(), o)
			}
		},
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(client.Object)
			c, ok2 := cur.(client.Object)
			if !ok1 || !ok2 || o.GetResourceVersion() != c.GetResourceVersion() {
				m.changed()
			}
			if ok2 {
				m.objects.Store(c.GetUID(), c)
			}
		},
		DeleteFunc: func(obj any) {
			m.changed()
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if o, ok := obj.(client.Object); ok {
				m.forget(o.GetUID())
				m.objects.Delete(o.GetUID())
			}
		},
	}
}

// object is the object of the uid, if the informers have seen one.
func (m *memo) object(uid types.UID) (client.Object, bool) {
	v, ok := m.objects.Load(uid)
	if !ok {
		return nil, false
	}
	return v.(client.Object), true
}

// rendered returns obj's body without finish's fields: the memo's, when it
// is current, else a new render, remembered. The body is shared: never
// modify it.
func (e *kindEndpoint[O, R]) rendered(ctx context.Context, rq *request, obj O) (*R, *memoEntry, error) {
	m := rq.memo
	if m == nil {
		r, err := e.render(rq.rv, ctx, obj)
		return r, nil, err
	}
	epoch := m.epoch.Load()
	if v, ok := m.entries.Load(obj.GetUID()); ok {
		if en := v.(*memoEntry); en.epoch == epoch {
			if r, ok := en.r.(*R); ok {
				return r, en, nil
			}
		}
	}
	r, err := e.render(rq.rv, ctx, obj)
	if err != nil {
		return nil, nil, err
	}
	en := &memoEntry{epoch: epoch, r: r}
	m.entries.Store(obj.GetUID(), en)
	return r, en, nil
}

// full returns the JSON of obj's complete body (r, with finish's fields),
// from the memo entry when it has it.
func (e *kindEndpoint[O, R]) full(ctx context.Context, rq *request, obj O, r *R, en *memoEntry) ([]byte, error) {
	if en != nil {
		if b := en.full.Load(); b != nil {
			return *b, nil
		}
	}
	body := *r // a copy: r is shared
	if e.finish != nil {
		if err := e.finish(ctx, rq.rv, obj, &body); err != nil {
			return nil, err
		}
	}
	b, err := encodeJSON(&body)
	if err != nil {
		return nil, err
	}
	if en != nil {
		en.full.Store(&b)
	}
	return b, nil
}

// encodeJSON writes v as authentik's renderer does: compact, without HTML
// escaping, without a trailing newline.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// jsonResponse is a 200 whose JSON body is already written.
func jsonResponse(b []byte) response {
	return response{status: 200, raw: b, contentType: "application/json"}
}
