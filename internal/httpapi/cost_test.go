package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/httpapi/apitest"
)

// What one tenant can make the API do for everyone: a flow with many
// bindings of one stage, which is all a tenant with create on
// FlowStageBindings in its own namespace needs. A request must cost work
// linear in the objects it reads and returns, never quadratic.

const costNamespace = "tenant"

// crowdedFlow is one flow, one IdentificationStage, and n bindings of the
// stage to the flow, each at an order of its own (so authentik would have
// every one of them, and the stage's flow_set has n elements).
func crowdedFlow(n int) []client.Object {
	objs := []client.Object{
		&flowsv1alpha1.Flow{ObjectMeta: om(costNamespace, "login", 1), Spec: flowsv1alpha1.FlowSpec{Title: "Login", Designation: flowsv1alpha1.FlowDesignationAuthentication}},
		&flowsv1alpha1.IdentificationStage{ObjectMeta: om(costNamespace, "identification", 2), Spec: flowsv1alpha1.IdentificationStageSpec{UserFields: []flowsv1alpha1.UserField{"username"}}},
	}
	for i := range n {
		objs = append(objs, binding(costNamespace, fmt.Sprintf("b-%05d", i), "login", flowsv1alpha1.StageKindIdentification, "identification", int32(i), 1000+i))
	}
	return objs
}

// countingReader counts what the API reads from the cache: each Get as one
// object, each List as the objects it returns. Past limit objects it fails
// every read, so that work out of bounds ends the request at once (a 500)
// instead of running for minutes.
type countingReader struct {
	client.Reader
	read  atomic.Int64
	limit int64
}

var errReadLimit = errors.New("the request read more objects than its bound")

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if c.read.Add(1) > c.limit {
		return errReadLimit
	}
	return c.Reader.Get(ctx, key, obj, opts...)
}

func (c *countingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if c.read.Load() > c.limit {
		return errReadLimit
	}
	if err := c.Reader.List(ctx, list, opts...); err != nil {
		return err
	}
	c.read.Add(int64(apimeta.LenList(list)))
	return nil
}

// costServer is a Server over a cache-like reader of objs, without the memo
// (every request renders anew, as the first one after a change does), and
// without a practical limit on the size of an answer, so that what an
// answer costs can be measured at any size.
func costServer(t testing.TB, r client.Reader) *Server {
	t.Helper()
	s, err := New(Options{Addr: "-", Reader: r, Auth: AuthNone, MaxResponseBytes: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The requests a crowded flow makes costly: a page of its bindings (each
// with its stage's flow_set), the stage (its flow_set) and the flow (its
// stages).
var costPaths = []string{
	"/api/v3/flows/bindings/?page_size=5",
	"/api/v3/stages/identification/" + string(uid(2)) + "/",
	"/api/v3/flows/instances/login/",
}

// cost serves path once and returns the objects it read and the bytes it
// allocated.
func cost(t *testing.T, s *Server, r *countingReader, path string) (read, allocated int64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r.read.Store(0)
	w := &discardWriter{h: http.Header{}}
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	runtime.ReadMemStats(&after)
	if w.code != 200 {
		t.Fatalf("GET %s with %d objects: status %d, after reading %d objects", path, r.limit, w.code, r.read.Load())
	}
	return r.read.Load(), int64(after.TotalAlloc - before.TotalAlloc)
}

// TestCostIsLinear: with 1,000 and then 10,000 bindings of one stage in one
// flow, each request reads at most readsPerBinding objects per binding, and
// ten times the bindings cost at most growth times the objects read and the
// bytes allocated (linear growth is 10; quadratic, 100).
func TestCostIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("builds worlds of 10,000 bindings")
	}
	const (
		small, large    = 1000, 10000
		readsPerBinding = 8
		growth          = 15
	)
	type figures struct{ read, allocated int64 }
	measure := func(n int) map[string]figures {
		cr, err := apitest.CacheReader(crowdedFlow(n)...)
		if err != nil {
			t.Fatal(err)
		}
		r := &countingReader{Reader: cr, limit: int64(readsPerBinding * n)}
		s := costServer(t, r)
		out := map[string]figures{}
		for _, p := range costPaths {
			read, allocated := cost(t, s, r, p)
			out[p] = figures{read, allocated}
			t.Logf("%6d bindings: GET %s read %d objects, allocated %d bytes", n, p, read, allocated)
		}
		return out
	}
	lo, hi := measure(small), measure(large)
	for _, p := range costPaths {
		if r := float64(hi[p].read) / float64(lo[p].read); r > growth {
			t.Errorf("GET %s: %d bindings read %.1f times the objects %d did (%d, %d): not linear", p, large, r, small, hi[p].read, lo[p].read)
		}
		if r := float64(hi[p].allocated) / float64(lo[p].allocated); r > growth {
			t.Errorf("GET %s: %d bindings allocated %.1f times the bytes %d did (%d, %d): not linear", p, large, r, small, hi[p].allocated, lo[p].allocated)
		}
	}
}

// TestAnswerOverTheLimit: a page whose answer would be over
// --api-max-response-bytes is a 500 that says so, found before the page is
// built whole; a smaller page of the same bindings is answered.
func TestAnswerOverTheLimit(t *testing.T) {
	cr, err := apitest.CacheReader(crowdedFlow(2000)...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Addr: "-", Reader: cr, Auth: AuthNone})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rec := get(t, s, "/api/v3/flows/bindings/?page_size=100") // 96 MB
	runtime.ReadMemStats(&after)
	want := fmt.Sprintf(`{"detail":"The answer would be larger than the API's limit of %d bytes (--api-max-response-bytes): ask for fewer objects with page_size, or narrow the query with its filters."}`, DefaultMaxResponseBytes)
	if rec.Code != 500 || rec.Body.String() != want {
		t.Errorf("a page of 96 MB: %d %.300s", rec.Code, rec.Body)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 4*DefaultMaxResponseBytes {
		t.Errorf("refusing a page of 96 MB allocated %d bytes, over 4 times the limit of %d", grown, DefaultMaxResponseBytes)
	}
	if rec := get(t, s, "/api/v3/flows/bindings/?page_size=10"); rec.Code != 200 || rec.Body.Len() > DefaultMaxResponseBytes {
		t.Errorf("a page of 10 MB: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// BenchmarkCrowdedFlow measures a page of 100 bindings
// (/api/v3/flows/bindings/?page_size=100) of a flow with n bindings of one
// stage, rendered anew (no memo), over a reader that reads as the manager's
// cache does, without a limit on the answer's size (the default limit
// refuses pages from 400 bindings on); body-bytes is the answer's size.
//
//	go test ./internal/httpapi -run '^$' -bench CrowdedFlow -benchmem -benchtime 1x
func BenchmarkCrowdedFlow(b *testing.B) {
	benchCrowdedPage(b, []int{250, 500, 1000, 2000, 10000}, Options{MaxResponseBytes: 1 << 40}, 200)
}

// benchCrowdedPage measures GET /api/v3/flows/bindings/?page_size=100 of a
// flow with each of sizes bindings of one stage, through a Server made
// with o (over a reader that reads as the cache does, without
// authentication), and expects the status want.
func benchCrowdedPage(b *testing.B, sizes []int, o Options, want int) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("bindings=%d", n), func(b *testing.B) {
			r, err := apitest.CacheReader(crowdedFlow(n)...)
			if err != nil {
				b.Fatal(err)
			}
			o.Addr, o.Reader, o.Auth = "-", r, AuthNone
			s, err := New(o)
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/api/v3/flows/bindings/?page_size=100", nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				clear(w.h)
				w.code, w.n = 0, 0
				s.ServeHTTP(w, req)
			}
			b.StopTimer()
			if w.code != want {
				b.Fatalf("status %d, want %d", w.code, want)
			}
			b.ReportMetric(float64(w.n), "body-bytes")
		})
	}
}

// stallingReader answers as the cache does (ignoring contexts), but its
// stallAt-th read waits for the request's context to end first, as a read
// would in a render that outlasts the request's timeout; it counts the
// reads made after that.
type stallingReader struct {
	client.Reader
	stallAt int64
	reads   atomic.Int64
	late    atomic.Int64
}

func (s *stallingReader) stall(ctx context.Context) {
	switch n := s.reads.Add(1); {
	case n == s.stallAt:
		<-ctx.Done()
	case n > s.stallAt:
		s.late.Add(1)
	}
}

func (s *stallingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	s.stall(ctx)
	return s.Reader.Get(ctx, key, obj, opts...)
}

func (s *stallingReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	s.stall(ctx)
	return s.Reader.List(ctx, list, opts...)
}

// TestRenderStopsWhenTheRequestEnds: once a request's timeout has passed,
// its render reads nothing more from the cache and the answer is a 503,
// as for a review that did not answer in time; a render does not run on
// to its end for an answer no one waits for.
func TestRenderStopsWhenTheRequestEnds(t *testing.T) {
	cr, err := apitest.CacheReader(crowdedFlow(200)...)
	if err != nil {
		t.Fatal(err)
	}
	r := &stallingReader{Reader: cr, stallAt: 10}
	s, err := New(Options{Addr: "-", Reader: r, Auth: AuthNone, RequestTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, s, "/api/v3/flows/bindings/?page_size=100")
	if rec.Code != 503 || rec.Body.String() != `{"detail":"`+msgUnavailable+`"}` {
		t.Errorf("a render past the request's timeout: %d %.200s, want 503", rec.Code, rec.Body)
	}
	if n := r.late.Load(); n > 0 {
		t.Errorf("%d reads after the request's timeout", n)
	}
}

// memoServer is a Server over a cache-like reader of objs with a memo of
// budget bytes, told of every object as the informers tell it.
func memoServer(t testing.TB, budget int64, r client.Reader, objs ...client.Object) *Server {
	t.Helper()
	s, err := New(Options{Addr: "-", Reader: r, Auth: AuthNone})
	if err != nil {
		t.Fatal(err)
	}
	s.memo = newMemo(budget)
	s.rv.memo = s.memo
	for _, o := range objs {
		s.memo.handler().OnAdd(o, true)
	}
	return s
}

// TestMemoKeepsWithinItsBudget: answers to ever new query strings, and
// bodies of any size, never make the memo keep more bytes than its budget;
// and an answer larger than an eighth of it is not kept at all.
func TestMemoKeepsWithinItsBudget(t *testing.T) {
	const budget = 2 << 20
	objs := crowdedFlow(500)
	cr, err := apitest.CacheReader(objs...)
	if err != nil {
		t.Fatal(err)
	}
	s := memoServer(t, budget, cr, objs...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 40 {
		// About 240 KB each: 40 of them are 10 MB.
		rec := get(t, s, fmt.Sprintf("/api/v3/flows/bindings/?page_size=1&page=%d", i+1))
		if rec.Code != 200 {
			t.Fatalf("page %d: %d %.200s", i+1, rec.Code, rec.Body)
		}
	}
	// Bodies over an eighth of the budget: 2.4 MB.
	if rec := get(t, s, "/api/v3/flows/bindings/?page_size=10"); rec.Code != 200 {
		t.Fatalf("a page of 10: %d %.200s", rec.Code, rec.Body)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if k := s.memo.kept.bytes(); k > budget {
		t.Errorf("the memo keeps %d bytes, over its budget of %d", k, budget)
	}
	// What the heap grew by: the budget, the bodies without flow_set
	// (small) and slack; 40 answers kept whole would be 10 MB.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 3*budget {
		t.Errorf("the heap grew by %d bytes for a memo of %d", grown, budget)
	}
	runtime.KeepAlive(s)
}

// TestMemoInvalidatesTheNamespaceChanged: a change in one namespace leaves
// another's bodies rendered: answering them reads nothing from the cache.
func TestMemoInvalidatesTheNamespaceChanged(t *testing.T) {
	objs := []client.Object{
		&flowsv1alpha1.Flow{ObjectMeta: om("team-a", "login", 1), Spec: flowsv1alpha1.FlowSpec{Title: "A", Designation: flowsv1alpha1.FlowDesignationAuthentication}},
		&flowsv1alpha1.PasswordStage{ObjectMeta: om("team-a", "password", 2)},
		binding("team-a", "login-password", "login", flowsv1alpha1.StageKindPassword, "password", 10, 3),
		&flowsv1alpha1.Flow{ObjectMeta: om("team-b", "login", 11), Spec: flowsv1alpha1.FlowSpec{Title: "B", Designation: flowsv1alpha1.FlowDesignationAuthentication}},
		&flowsv1alpha1.PasswordStage{ObjectMeta: om("team-b", "password", 12)},
		binding("team-b", "login-password", "login", flowsv1alpha1.StageKindPassword, "password", 10, 13),
	}
	cr, err := apitest.CacheReader(objs...)
	if err != nil {
		t.Fatal(err)
	}
	r := &countingReader{Reader: cr, limit: 1 << 30}
	s := memoServer(t, DefaultMemoBytes, r, objs...)
	paths := map[string]string{
		"team-a": "/api/v3/stages/password/" + string(uid(2)) + "/",
		"team-b": "/api/v3/stages/password/" + string(uid(12)) + "/",
	}
	reads := func(ns string) int64 {
		t.Helper()
		r.read.Store(0)
		if rec := get(t, s, paths[ns]); rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", paths[ns], rec.Code, rec.Body)
		}
		return r.read.Load()
	}
	for ns := range paths {
		if reads(ns) == 0 {
			t.Fatalf("the first answer for %s read nothing: is the memo filled ahead?", ns)
		}
		if n := reads(ns); n != 0 {
			t.Fatalf("the second answer for %s read %d objects, want 0 (from the memo)", ns, n)
		}
	}
	// team-a's flow changes.
	changed := objs[0].DeepCopyObject().(*flowsv1alpha1.Flow)
	changed.ResourceVersion = "2"
	s.memo.handler().OnUpdate(objs[0], changed)
	if n := reads("team-b"); n != 0 {
		t.Errorf("after a change in team-a, team-b's stage read %d objects, want 0 (still current)", n)
	}
	if n := reads("team-a"); n == 0 {
		t.Errorf("after a change in team-a, team-a's stage was answered from the memo")
	}
}

// BenchmarkCrowdedFlowOverTheLimit measures the same page with the default
// --api-max-response-bytes, which refuses it (a 500) before building it
// whole.
//
//	go test ./internal/httpapi -run '^$' -bench CrowdedFlowOverTheLimit -benchmem -benchtime 1x
func BenchmarkCrowdedFlowOverTheLimit(b *testing.B) {
	benchCrowdedPage(b, []int{2000, 10000}, Options{}, 500)
}
