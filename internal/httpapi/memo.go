package httpapi

import (
	"bytes"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"

	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/refs"
)

// Answers from bytes rendered ahead. A request would otherwise render its
// objects anew: read each reference, list the bindings behind a flow_set,
// encode the JSON. memo keeps, for each object the API has rendered, its
// body as the filters and orderings read it; and, within a budget of bytes
// (Options.MemoBytes), the JSON a response holds, the plans of stages and
// flows (render_flows.go) and whole list answers. So in a steady state a
// request costs its authorisation, an index lookup, a map read and a write;
// after a change, what the change touches is rendered again once, when
// first asked for.
//
// What a change touches: every reference between stagehand objects stays
// in a namespace (a binding's flow and stage, a stage's references, a
// stage's flow_set), but for an AuthenticatorValidateStage's
// WebAuthnDeviceTypes, which are cluster-scoped. So each namespace counts
// its changes (an epoch), and so does the cluster scope; an object's
// entries record both counts, read before it was rendered, and are stale
// once either moved on. A tenant's changes never cost another namespace's
// bodies a render. Working out exactly which bodies of the namespace a
// change reaches is the kind of bookkeeping that goes wrong quietly; a
// namespace is a bound that cannot. A list answer spans namespaces: it is
// stale after any change, and assembled again from the objects' bodies,
// which mostly are still current.
//
// It is right by construction: an entry records the epochs read before its
// object was rendered, so a change that lands during the render (the cache
// is updated before the event that bumps the epoch is handled) leaves an
// entry the next request finds stale.
type memo struct {
	// epochs counts the changes of each namespace's objects ("" for the
	// cluster-scoped ones): namespace -> *atomic.Uint64.
	epochs sync.Map
	// all counts every change: list answers are of all.
	all     atomic.Uint64
	entries sync.Map // types.UID -> *memoEntry
	// objects finds an object by uid, as the cache's uid index does, for
	// a retrieve's lookup without a List; kept by the same events.
	objects sync.Map // types.UID -> client.Object
	// kept holds, within its budget of bytes, the complete bodies (by
	// uid), the plans (by stage or flow) and the list answers (by route
	// and query string, for callers who may read every object of the
	// kind): the entries whose size a tenant decides.
	kept *keptBytes
}

// DefaultMemoBytes is the default budget of Options.MemoBytes: an eighth
// of the memory limit the deployment sets by default (256Mi).
const DefaultMemoBytes = 32 << 20

func newMemo(budget int64) *memo { return &memo{kept: newKeptBytes(budget)} }

// stamp is what an entry of one namespace was rendered from: the epochs of
// its namespace and of the cluster scope.
type stamp struct{ ns, cluster uint64 }

func (m *memo) epoch(namespace string) uint64 {
	if v, ok := m.epochs.Load(namespace); ok {
		return v.(*atomic.Uint64).Load()
	}
	return 0
}

// stamp is the stamp of what is current in namespace.
func (m *memo) stamp(namespace string) stamp {
	return stamp{ns: m.epoch(namespace), cluster: m.epoch("")}
}

// listStamp is the stamp of a list answer: every change makes it stale.
func (m *memo) listStamp() stamp { return stamp{ns: m.all.Load()} }

// list returns the list answer kept for key, if it is current.
func (m *memo) list(key string, st stamp) ([]byte, bool) {
	v, ok := m.kept.get("list "+key, st)
	if !ok {
		return nil, false
	}
	return v.([]byte), true
}

// rememberList keeps a list answer, computed from what was current at st.
func (m *memo) rememberList(key string, st stamp, body []byte) {
	m.kept.add("list "+key, st, body, int64(len(body)))
}

// memoEntry is one object's rendered body.
type memoEntry struct {
	stamp stamp
	// r is the body without the fields finish adds (a *R of the
	// object's endpoint; a nil *R for an object authentik could not have).
	r any
}

// changed records a change of an object of namespace ("" for a
// cluster-scoped one): every entry of the namespace is stale.
func (m *memo) changed(namespace string) {
	v, _ := m.epochs.LoadOrStore(namespace, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(1)
	m.all.Add(1)
}

// forget drops a deleted object's entries.
func (m *memo) forget(o client.Object) {
	m.entries.Delete(o.GetUID())
	m.objects.Delete(o.GetUID())
	m.kept.remove("body " + string(o.GetUID()))
	kind := flowsv1alpha1.KindOf(o)
	m.kept.remove("stage/" + refs.KeyOf(kind, o))
	m.kept.remove("flow/" + refs.KeyOf(kind, o))
}

// handler is the informer event handler that keeps the memo honest.
func (m *memo) handler() toolscache.ResourceEventHandler {
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if o, ok := obj.(client.Object); ok {
				m.changed(o.GetNamespace())
				m.objects.Store(o.GetUID(), o)
			}
		},
		UpdateFunc: func(old, cur any) {
			o, ok1 := old.(client.Object)
			c, ok2 := cur.(client.Object)
			if !ok1 || !ok2 {
				return
			}
			if o.GetResourceVersion() != c.GetResourceVersion() {
				m.changed(c.GetNamespace())
			}
			m.objects.Store(c.GetUID(), c)
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if o, ok := obj.(client.Object); ok {
				m.changed(o.GetNamespace())
				m.forget(o)
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
	st := m.stamp(obj.GetNamespace())
	if v, ok := m.entries.Load(obj.GetUID()); ok {
		if en := v.(*memoEntry); en.stamp == st {
			if r, ok := en.r.(*R); ok {
				return r, en, nil
			}
		}
	}
	r, err := e.render(rq.rv, ctx, obj)
	if err != nil {
		return nil, nil, err
	}
	en := &memoEntry{stamp: st, r: r}
	m.entries.Store(obj.GetUID(), en)
	return r, en, nil
}

// full returns the JSON of obj's complete body (r, with finish's fields),
// from the memo when it has it.
func (e *kindEndpoint[O, R]) full(ctx context.Context, rq *request, obj O, r *R, en *memoEntry) ([]byte, error) {
	key := "body " + string(obj.GetUID())
	if en != nil {
		if b, ok := rq.memo.kept.get(key, en.stamp); ok {
			if b := b.([]byte); rq.maxBytes <= 0 || int64(len(b)) <= rq.maxBytes {
				return b, nil
			}
			return nil, errTooLarge
		}
	}
	body := *r // a copy: r is shared
	if e.finish != nil {
		if err := e.finish(ctx, rq.rv, obj, &body); err != nil {
			return nil, err
		}
	}
	b, err := encodeBody(&body, rq.maxBytes)
	if err != nil {
		return nil, err
	}
	if en != nil {
		rq.memo.kept.add(key, en.stamp, b, int64(len(b)))
	}
	return b, nil
}

// plan returns the plan kept under key, an object's of namespace: this
// request's, else the memo's when it is current, else build's, kept for the
// request and in the memo.
func (rv *resolver) plan(ctx context.Context, namespace, key string, build func() (any, error)) (any, error) {
	if p, ok := rv.plans[key]; ok {
		return p, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var st stamp
	if rv.memo != nil {
		st = rv.memo.stamp(namespace)
		if p, ok := rv.memo.kept.get(key, st); ok {
			rv.keep(key, p)
			return p, nil
		}
	}
	p, err := build()
	if err != nil {
		return nil, err
	}
	rv.keep(key, p)
	if rv.memo != nil {
		rv.memo.kept.add(key, st, p, planSize(p))
	}
	return p, nil
}

func (rv *resolver) keep(key string, p any) {
	if rv.plans == nil {
		rv.plans = map[string]any{}
	}
	rv.plans[key] = p
}

// planSize is about the bytes a plan holds.
func planSize(p any) int64 {
	switch p := p.(type) {
	case *stagePlan:
		// The flow_set, and its JSON, about as large again.
		n := int64(64 + 48*len(p.shadowed))
		for i := range p.flowSet {
			fs := &p.flowSet[i]
			n += int64(unsafe.Sizeof(*fs)) + 2*int64(len(fs.PK)+len(fs.PolicyBindingModelPtrID)+len(fs.Name)+len(fs.Slug)+len(fs.Title)+len(fs.Background)+len(fs.ExportURL)+256)
		}
		return n
	case []string:
		return int64(24 + 52*len(p))
	}
	return 64
}

// keptBytes is a least-recently-used cache bounded by the bytes of its
// values (each value's size as add is told it, plus its key): a caller
// sending ever new query strings, or a tenant making bodies ever larger,
// evicts old entries and never grows memory past the budget. A value over
// an eighth of the budget is not kept at all, so that one large answer
// cannot empty the cache for everyone else.
type keptBytes struct {
	mu     sync.Mutex
	budget int64
	used   int64
	order  *list.List // of *keptEntry, the most recently used first
	byKey  map[string]*list.Element
}

type keptEntry struct {
	key   string
	stamp stamp
	value any
	size  int64
}

// keptOverhead is about the bytes an entry costs beside its value.
const keptOverhead = 128

func newKeptBytes(budget int64) *keptBytes {
	return &keptBytes{budget: budget, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the value kept under key, if it is of stamp st.
func (k *keptBytes) get(key string, st stamp) (any, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	el, ok := k.byKey[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*keptEntry)
	if e.stamp != st {
		return nil, false
	}
	k.order.MoveToFront(el)
	return e.value, true
}

// add keeps value under key, evicting the least recently used entries
// past the budget.
func (k *keptBytes) add(key string, st stamp, value any, size int64) {
	size += int64(len(key)) + keptOverhead
	k.mu.Lock()
	defer k.mu.Unlock()
	k.removeLocked(key)
	if size > k.budget/8 {
		return
	}
	k.byKey[key] = k.order.PushFront(&keptEntry{key: key, stamp: st, value: value, size: size})
	k.used += size
	for k.used > k.budget {
		k.removeLocked(k.order.Back().Value.(*keptEntry).key)
	}
}

// remove drops key's entry.
func (k *keptBytes) remove(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.removeLocked(key)
}

func (k *keptBytes) removeLocked(key string) {
	if el, ok := k.byKey[key]; ok {
		k.used -= el.Value.(*keptEntry).size
		k.order.Remove(el)
		delete(k.byKey, key)
	}
}

// bytes is the bytes kept.
func (k *keptBytes) bytes() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.used
}

// encodeBody is encodeJSON of a body, with its flow_set spliced in from the
// JSON its stage's plan holds, when it has a flow_set (a stage's body, a
// binding's stage_obj): a page of 100 bindings of one stage bound 10,000
// times then encodes the flow_set once, not 100 times.
//
// A body over maxBytes (when positive) is errTooLarge, found before the
// flow_set is copied into it.
func encodeBody[R any](body *R, maxBytes int64) ([]byte, error) {
	h, ok := any(body).(interface{ stageMetaOf() *stageMeta })
	var raw []byte
	if ok {
		raw = h.stageMetaOf().flowSetJSON
	}
	if raw == nil {
		b, err := encodeJSON(body)
		if err == nil && maxBytes > 0 && int64(len(b)) > maxBytes {
			return nil, errTooLarge
		}
		return b, err
	}
	if maxBytes > 0 && int64(len(raw)) > maxBytes {
		return nil, errTooLarge
	}
	m := h.stageMetaOf()
	sets := m.FlowSet
	m.FlowSet = nil // encoded as null, where raw goes
	b, err := encodeJSON(body)
	m.FlowSet = sets
	if err != nil {
		return nil, err
	}
	// The body's one flow_set key: a string's quotes are escaped in JSON,
	// so no value can hold these bytes.
	const null = `"flow_set":null`
	i := bytes.Index(b, []byte(null))
	if i < 0 {
		return nil, errors.New("encoding a body: its flow_set is not where it was put")
	}
	if maxBytes > 0 && int64(len(b)-len("null")+len(raw)) > maxBytes {
		return nil, errTooLarge
	}
	out := make([]byte, 0, len(b)-len("null")+len(raw))
	out = append(out, b[:i+len(null)-len("null")]...)
	out = append(out, raw...)
	return append(out, b[i+len(null):]...), nil
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
