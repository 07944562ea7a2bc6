package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// countingReviewer counts the reviews it passes on to the API server.
type countingReviewer struct {
	Reviewer
	n atomic.Int64
}

func (c *countingReviewer) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.n.Add(1)
	return c.Reviewer.Create(ctx, obj, opts...)
}

// hotPathFlows is how many flows the benchmarked stage is bound to.
const hotPathFlows = 8

// boundStage creates, in a namespace of its own, an IdentificationStage
// that references a PasswordStage, a source and three flows, and is bound
// to hotPathFlows flows; and a ServiceAccount that may read it. It returns
// the stage's retrieve path and the account's token, once the cache holds
// everything.
func boundStage(t testing.TB, c *cluster) (path, token string) {
	t.Helper()
	ns := c.namespace(t, "hot")
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	objs := []client.Object{
		&flowsv1alpha1.PasswordStage{ObjectMeta: meta("password"), Spec: flowsv1alpha1.PasswordStageSpec{
			Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
		}},
		&flowsv1alpha1.Source{ObjectMeta: meta("github")},
		&flowsv1alpha1.IdentificationStage{ObjectMeta: meta("identification"), Spec: flowsv1alpha1.IdentificationStageSpec{
			UserFields:        []flowsv1alpha1.UserField{"username", "email"},
			PasswordStageRef:  ref("password"),
			EnrollmentFlowRef: ref("flow-1"),
			RecoveryFlowRef:   ref("flow-2"),
			SourceRefs:        []flowsv1alpha1.LocalObjectReference{{Name: "github"}},
			WebAuthnStageRef:  ref("not-there"),
		}},
	}
	for i := range hotPathFlows {
		name := fmt.Sprintf("flow-%d", i)
		objs = append(objs,
			&flowsv1alpha1.Flow{ObjectMeta: meta(name), Spec: flowsv1alpha1.FlowSpec{Title: name, Designation: flowsv1alpha1.FlowDesignationAuthentication}},
			bindingIn(ns, name+"-identification", name, flowsv1alpha1.StageKindIdentification, "identification", 10),
		)
	}
	c.create(t, objs...)
	token = c.serviceAccount(t, ns, "reader")
	c.grantRead(t, ns, ns, "reader")
	path = "/api/v3/stages/identification/" + string(objs[2].GetUID()) + "/"
	testenv.Eventually(t, func() error {
		rec := httptest.NewRecorder()
		memOK, _ := New(Options{Addr: "-", Reader: c.mgr.GetCache(), Auth: AuthNone})
		memOK.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var body IdentificationStage
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.FlowSet) != hotPathFlows || body.PasswordStage == nil {
			return fmt.Errorf("not in the cache yet: %d %s", rec.Code, rec.Body)
		}
		return nil
	})
	return path, token
}

// discardWriter is a ResponseWriter that keeps nothing but the status, so
// that the benchmark measures the handler, not a recorder's buffers.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// BenchmarkRetrieve measures a retrieve of a stage bound to eight flows
// through the handler, reading the real manager's cache: with
// --api-auth=none (the baseline) and with --api-auth=kubernetes once the
// caller's TokenReview and SubjectAccessReview are cached; each rendering
// the body anew (render=each, a server without the cache's events) and
// from the memo the cache's events keep (render=memo, as the manager runs
// it). It fails if the loop sends a single review or a single request to
// the API server.
//
//	KUBEBUILDER_ASSETS=$PWD/bin/k8s go test ./internal/httpapi -run '^$' -bench Retrieve -benchmem
func BenchmarkRetrieve(b *testing.B) {
	c := envtest(b)
	path, token := boundStage(b, c)
	for _, memo := range []bool{false, true} {
		for _, mode := range []AuthMode{AuthNone, AuthKubernetes} {
			render := "each"
			if memo {
				render = "memo"
			}
			b.Run("render="+render+"/auth="+string(mode), func(b *testing.B) {
				benchmarkRetrieve(b, c, path, token, mode, memo)
			})
		}
	}
}

func benchmarkRetrieve(b *testing.B, c *cluster, path, token string, mode AuthMode, memo bool) {
	{
		{
			rv := &countingReviewer{Reviewer: c.mgr.GetClient()}
			opts := Options{Addr: "-", Reader: c.mgr.GetCache(), Auth: mode, Reviewer: rv, AuthCacheTTL: time.Hour, AuthNegativeCacheTTL: time.Hour}
			if memo {
				opts.Cache = c.mgr.GetCache()
			}
			s, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			if memo && !s.WaitForCacheSync(context.Background()) {
				b.Fatal("the cache did not sync")
			}
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			w := &discardWriter{h: http.Header{}}
			serve := func() {
				r := *req
				clear(w.h)
				w.code = 0
				s.ServeHTTP(w, &r)
			}
			serve() // the first request reviews the token and the read
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
			reviews, requests := rv.n.Load(), apiRequests.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				serve()
			}
			b.StopTimer()
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
			if n := rv.n.Load() - reviews; n != 0 {
				b.Fatalf("%d reviews on the hot path", n)
			}
			if n := apiRequests.Load() - requests; n != 0 {
				b.Fatalf("%d requests to the API server on the hot path", n)
			}
		}
	}
}

// TestHotPathFromMemory is the benchmark's assertion as a test: once a
// caller's token and permission are cached, retrieves and lists send
// nothing to the API server.
func TestHotPathFromMemory(t *testing.T) {
	c := envtest(t)
	path, token := boundStage(t, c)
	rv := &countingReviewer{Reviewer: c.mgr.GetClient()}
	s, err := New(Options{Addr: "-", Reader: c.mgr.GetCache(), Auth: AuthKubernetes, Reviewer: rv, AuthCacheTTL: time.Hour, AuthNegativeCacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, "/api/v3/stages/identification/?search=identification"} {
		if rec := get(t, s, p, "Authorization", "Bearer "+token); rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", p, rec.Code, rec.Body)
		}
	}
	reviews, requests := rv.n.Load(), apiRequests.Load()
	for range 200 {
		for _, p := range []string{path, "/api/v3/stages/identification/?search=identification"} {
			if rec := get(t, s, p, "Authorization", "Bearer "+token); rec.Code != 200 {
				t.Fatalf("GET %s: %d %s", p, rec.Code, rec.Body)
			}
		}
	}
	if n := rv.n.Load() - reviews; n != 0 {
		t.Errorf("%d reviews for 400 cached requests", n)
	}
	if n := apiRequests.Load() - requests; n != 0 {
		t.Errorf("%d requests to the API server for 400 cached requests", n)
	}
}
