package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// fakeReviewer answers TokenReviews from a table of tokens and
// SubjectAccessReviews from a table of (user, namespace) grants, and counts
// them. A grant for namespace "" is a cluster-wide one.
type fakeReviewer struct {
	tokens map[string]string
	grants map[string][]string
	delay  time.Duration
	fail   atomic.Bool

	tokenReviews  atomic.Int64
	accessReviews atomic.Int64
}

func (f *fakeReviewer) Create(_ context.Context, obj client.Object, _ ...client.CreateOption) error {
	time.Sleep(f.delay) // the API server's latency, so that requests overlap
	if f.fail.Load() {
		return errors.New("connection refused")
	}
	switch o := obj.(type) {
	case *authenticationv1.TokenReview:
		f.tokenReviews.Add(1)
		if user, ok := f.tokens[o.Spec.Token]; ok {
			o.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{
				Username: user, UID: "uid-" + user, Groups: []string{"system:authenticated"},
				Extra: map[string]authenticationv1.ExtraValue{"scope": {"all"}},
			}, Audiences: o.Spec.Audiences} // its tokens are for every audience
		} else {
			o.Status = authenticationv1.TokenReviewStatus{Error: "invalid bearer token"}
		}
	case *authorizationv1.SubjectAccessReview:
		f.accessReviews.Add(1)
		ra := o.Spec.ResourceAttributes
		if ra.Verb != "get" || ra.Group != "flows.stagehand.dev" || o.Spec.UID != "uid-"+o.Spec.User || len(o.Spec.Extra["scope"]) != 1 {
			return errors.New("unexpected review")
		}
		for _, g := range f.grants[o.Spec.User] {
			if g == "" || g == ra.Namespace {
				o.Status.Allowed = true
			}
		}
	default:
		return errors.New("unexpected object")
	}
	return nil
}

func (f *fakeReviewer) reviews() int64 { return f.tokenReviews.Load() + f.accessReviews.Load() }

// authFixtures adds a second namespace, with one PasswordStage, to fixtures.
func authFixtures() []client.Object {
	return append(fixtures(),
		&flowsv1alpha1.PasswordStage{ObjectMeta: om("other", "other-password", 500), Spec: flowsv1alpha1.PasswordStageSpec{
			Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
		}},
	)
}

func authServer(t testing.TB, rv *fakeReviewer, reg prometheus.Registerer) *Server {
	t.Helper()
	s, err := New(Options{
		Addr: "127.0.0.1:0", Reader: fakeReader(t, authFixtures()...), Auth: AuthKubernetes, Reviewer: rv,
		AuthCacheTTL: time.Minute, AuthNegativeCacheTTL: time.Minute, Metrics: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newFakeReviewer() *fakeReviewer {
	return &fakeReviewer{
		tokens: map[string]string{"reader": "reader", "other-reader": "other-reader", "nobody": "nobody", "admin": "admin"},
		grants: map[string][]string{"reader": {ns}, "other-reader": {"other"}, "admin": {""}},
	}
}

func TestAuthPaths(t *testing.T) {
	s := authServer(t, newFakeReviewer(), nil)
	pw := "/api/v3/stages/password/"
	id := "/api/v3/stages/identification/"
	cases := []struct {
		name, token, path string
		code              int
		body              string
	}{
		{"no credentials", "", pw + string(uid(2)) + "/", 403, `{"detail":"Authentication credentials were not provided."}`},
		{"no credentials, list", "", pw, 403, `{"detail":"Authentication credentials were not provided."}`},
		{"no credentials, malformed pk", "", pw + "x/", 403, `{"detail":"Authentication credentials were not provided."}`},
		{"no credentials, unknown route", "", "/api/v3/flows/", 404, `{"detail":"Not found."}`},
		{"bad token", "wrong", pw + string(uid(2)) + "/", 403, `{"detail":"Token invalid/expired"}`},
		{"reader of the namespace", "reader", pw + string(uid(2)) + "/", 200, ""},
		{"reader, object in another namespace", "reader", pw + string(uid(500)) + "/", 404, `{"detail":"No PasswordStage matches the given query."}`},
		{"reader of another namespace", "other-reader", pw + string(uid(2)) + "/", 404, `{"detail":"No PasswordStage matches the given query."}`},
		{"reader of another namespace, kind absent there", "other-reader", id + string(uid(1)) + "/", 403, `{"detail":"You do not have permission to perform this action."}`},
		{"reader of another namespace, kind absent there, list", "other-reader", id, 403, `{"detail":"You do not have permission to perform this action."}`},
		{"no role", "nobody", pw + string(uid(2)) + "/", 403, `{"detail":"You do not have permission to perform this action."}`},
		{"no role, list", "nobody", pw, 403, `{"detail":"You do not have permission to perform this action."}`},
		{"no role, malformed pk", "nobody", pw + "x/", 403, `{"detail":"You do not have permission to perform this action."}`},
		{"no role, invalid filter", "nobody", pw + "?failed_attempts_before_cancel=x", 403, `{"detail":"You do not have permission to perform this action."}`},
		{"reader, malformed pk", "reader", pw + "x/", 404, `{"detail":"Not found."}`},
		{"reader, invalid filter", "reader", pw + "?failed_attempts_before_cancel=x", 400, `{"failed_attempts_before_cancel":["Enter a number."]}`},
		{"cluster-wide reader", "admin", pw + string(uid(500)) + "/", 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.token != "" {
				h = []string{"Authorization", "Bearer " + tc.token}
			}
			rec := get(t, s, tc.path, h...)
			if rec.Code != tc.code || (tc.body != "" && rec.Body.String() != tc.body) {
				t.Errorf("GET %s as %q:\n got %d %s\nwant %d %s", tc.path, tc.token, rec.Code, rec.Body, tc.code, tc.body)
			}
		})
	}

	lists := []struct {
		token string
		want  []string
	}{
		{"reader", []string{"password-defaults", "password-full"}},
		{"other-reader", []string{"other-password"}},
		{"admin", []string{"other-password", "password-defaults", "password-full"}},
	}
	for _, tc := range lists {
		if got := names(t, get(t, s, pw, "Authorization", "Bearer "+tc.token)); !slices.Equal(got, tc.want) {
			t.Errorf("list as %s: %v, want %v", tc.token, got, tc.want)
		}
	}

	// DRF authenticates before it looks at the method.
	for token, code := range map[string]int{"": 403, "nobody": 405} {
		req := httptest.NewRequest(http.MethodPost, pw, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != code {
			t.Errorf("POST as %q: %d %s, want %d", token, rec.Code, rec.Body, code)
		}
	}
}

// TestAuthCache checks that a burst of identical requests costs one
// TokenReview and one SubjectAccessReview, that later requests cost none
// until the results expire, and that failures are not remembered.
func TestAuthCache(t *testing.T) {
	rv := newFakeReviewer()
	rv.delay = 20 * time.Millisecond
	reg := prometheus.NewRegistry()
	s := authServer(t, rv, reg)
	clock := &fakeClock{now: time.Now()}
	s.access.cache = cache.NewLRUExpireCacheWithClock(maxAccessEntries, clock)
	path := "/api/v3/stages/password/" + string(uid(2)) + "/"

	burst := func(token string, n, code int) {
		t.Helper()
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := range n {
			wg.Go(func() { codes[i] = get(t, s, path, "Authorization", "Bearer "+token).Code })
		}
		wg.Wait()
		for _, c := range codes {
			if c != code {
				t.Fatalf("as %s: %v, want all %d", token, codes, code)
			}
		}
	}

	burst("reader", 50, 200)
	if tr, ar := rv.tokenReviews.Load(), rv.accessReviews.Load(); tr != 1 || ar != 1 {
		t.Fatalf("a burst of 50 cost %d TokenReviews and %d SubjectAccessReviews, want 1 and 1", tr, ar)
	}
	burst("reader", 20, 200)
	if n := rv.reviews(); n != 2 {
		t.Fatalf("cached requests cost %d more reviews", n-2)
	}

	burst("wrong", 20, 403)
	if n := rv.tokenReviews.Load(); n != 2 {
		t.Fatalf("a burst with a bad token cost %d TokenReviews, want 1", n-1)
	}
	burst("wrong", 5, 403)
	if n := rv.tokenReviews.Load(); n != 2 {
		t.Fatal("a bad token is not remembered")
	}

	// Past the TTL, the permission is asked about again (the token's
	// expiry, on the real clock, is TestTokenCacheExpires').
	clock.add(2 * time.Minute)
	burst("reader", 10, 200)
	if tr, ar := rv.tokenReviews.Load(), rv.accessReviews.Load(); tr != 2 || ar != 2 {
		t.Fatalf("after expiry: %d TokenReviews and %d SubjectAccessReviews, want 2 and 2", tr, ar)
	}

	// An API server that does not answer is a 503, and is not remembered.
	rv.fail.Store(true)
	rec := get(t, s, path, "Authorization", "Bearer admin")
	if rec.Code != 503 || rec.Body.String() != `{"detail":"Service temporarily unavailable, try again later."}` {
		t.Fatalf("review failure: %d %s", rec.Code, rec.Body)
	}
	rv.fail.Store(false)
	if rec := get(t, s, path, "Authorization", "Bearer admin"); rec.Code != 200 {
		t.Fatalf("after the failure: %d %s", rec.Code, rec.Body)
	}

	// The reviews show in the metrics, as do the requests, by route template.
	if got := counterValue(t, reg, "stagehand_api_auth_reviews_total", map[string]string{"review": "token", "result": "unauthenticated"}); got != 1 {
		t.Errorf("unauthenticated TokenReviews metric %v, want 1", got)
	}
	if got := counterValue(t, reg, "stagehand_api_requests_total", map[string]string{"route": "/api/v3/stages/password/{stage_uuid}/", "method": "GET", "code": "200"}); got != 81 {
		t.Errorf("requests metric %v, want 81", got)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "stagehand_api_request_duration_seconds" && len(f.GetMetric()) != 1 {
			t.Errorf("%d duration series, want 1 (one route)", len(f.GetMetric()))
		}
	}
}

// TestTokenCacheExpires: a token's identity, and a bad token's refusal, are
// remembered for their TTLs and asked about again after.
func TestTokenCacheExpires(t *testing.T) {
	rv := newFakeReviewer()
	s, err := New(Options{
		Addr: "127.0.0.1:0", Reader: fakeReader(t, authFixtures()...), Auth: AuthKubernetes, Reviewer: rv,
		AuthCacheTTL: 50 * time.Millisecond, AuthNegativeCacheTTL: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v3/stages/password/" + string(uid(2)) + "/"
	for _, tc := range []struct {
		token string
		code  int
	}{{"reader", 200}, {"wrong", 403}} {
		before := rv.tokenReviews.Load()
		if rec := get(t, s, path, "Authorization", "Bearer "+tc.token); rec.Code != tc.code {
			t.Fatalf("as %s: %d %s", tc.token, rec.Code, rec.Body)
		}
		if n := rv.tokenReviews.Load() - before; n != 1 {
			t.Fatalf("as %s: %d TokenReviews, want 1", tc.token, n)
		}
		// Polled, with a deadline: on a slow machine the TTL may pass
		// before the second request, which only makes it come sooner.
		testenv.Eventually(t, func() error {
			if rec := get(t, s, path, "Authorization", "Bearer "+tc.token); rec.Code != tc.code {
				t.Fatalf("as %s: %d %s", tc.token, rec.Code, rec.Body)
			}
			if n := rv.tokenReviews.Load() - before; n < 2 {
				return errors.New("the token was not reviewed again after its TTL")
			}
			return nil
		})
	}
}

// TestAccessCacheBounded: a flood of distinct questions (namespaces, users)
// evicts old answers instead of growing the cache without limit.
func TestAccessCacheBounded(t *testing.T) {
	rv := newFakeReviewer()
	a := newAccessReviewer(rv, time.Minute, time.Minute, time.Second, must(newMetrics(nil)))
	c := &caller{key: userKey(authenticationv1.UserInfo{Username: "reader", UID: "uid-reader", Extra: map[string]authenticationv1.ExtraValue{"scope": {"all"}}})}
	c.Name, c.UID, c.Extra = "reader", "uid-reader", map[string][]string{"scope": {"all"}}
	for i := range maxAccessEntries + 100 {
		if _, err := a.allowed(context.Background(), c, fmt.Sprintf("ns-%d", i), "passwordstages", nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.cache.Keys()); n > maxAccessEntries {
		t.Fatalf("%d answers cached, want at most %d", n, maxAccessEntries)
	}
	before := rv.accessReviews.Load()
	if _, err := a.allowed(context.Background(), c, fmt.Sprintf("ns-%d", maxAccessEntries+99), "passwordstages", nil); err != nil {
		t.Fatal(err)
	}
	if rv.accessReviews.Load() != before {
		t.Fatal("the newest answer was evicted")
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// counterValue reads a counter from a registry, by name and labels.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestAccessReviewBudget: the limit holds for every way a request asks
// about namespaces (a list, a retrieve of an object the caller may not
// read, an invalid filter's check that the caller may read something), and
// answers within it are unchanged; a negative limit is no limit.
func TestAccessReviewBudget(t *testing.T) {
	var objs []client.Object
	for i := range 20 {
		objs = append(objs, &flowsv1alpha1.PasswordStage{ObjectMeta: om(fmt.Sprintf("ns-%02d", i), "password", 1000+i), Spec: flowsv1alpha1.PasswordStageSpec{
			Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
		}})
	}
	rv := newFakeReviewer()
	rv.grants["reader"] = []string{"ns-19"}
	server := func(limit int) *Server {
		s, err := New(Options{
			Addr: "127.0.0.1:0", Reader: fakeReader(t, objs...), Auth: AuthKubernetes, Reviewer: rv,
			AuthCacheTTL: time.Nanosecond, MaxAccessReviewsPerRequest: limit,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pw := "/api/v3/stages/password/"
	unreadable := pw + string(uid(1000)) + "/"
	const unavailable = `{"detail":"Service temporarily unavailable, try again later."}`
	for _, tc := range []struct {
		name, token, path string
		limit             int
		code              int
		// reviews is the most the request may send.
		reviews int64
	}{
		{"list, within the limit", "reader", pw + "?search=password", 21, 200, 21},
		{"list, past it", "reader", pw + "?search=password", 10, 503, 10},
		{"list, no limit", "reader", pw + "?search=password", -1, 200, 21},
		{"list matching nothing, a reader", "reader", pw + "?search=nothing", 21, 200, 21},
		{"retrieve, unreadable, within", "reader", unreadable, 22, 404, 22},
		{"retrieve, unreadable, past", "nobody", unreadable, 10, 503, 10},
		{"retrieve, unreadable, no role", "nobody", unreadable, 22, 403, 22},
		{"invalid filter, no role, past", "nobody", pw + "?failed_attempts_before_cancel=x", 10, 503, 10},
		{"invalid filter, no role", "nobody", pw + "?failed_attempts_before_cancel=x", 21, 403, 21},
		{"invalid filter, reader", "reader", pw + "?failed_attempts_before_cancel=x", 21, 400, 21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := server(tc.limit)
			before := rv.accessReviews.Load()
			rec := get(t, s, tc.path, "Authorization", "Bearer "+tc.token)
			n := rv.accessReviews.Load() - before
			if rec.Code != tc.code || n > tc.reviews {
				t.Errorf("GET %s as %s, limit %d: %d %s after %d reviews, want %d after at most %d", tc.path, tc.token, tc.limit, rec.Code, rec.Body, n, tc.code, tc.reviews)
			}
			if tc.code == 503 && (rec.Body.String() != unavailable || rec.Header().Get("Retry-After") != "1") {
				t.Errorf("past the limit: %s, Retry-After %q", rec.Body, rec.Header().Get("Retry-After"))
			}
			if tc.code == 200 && strings.Contains(tc.path, "search=password") {
				if got := names(t, rec); !slices.Equal(got, []string{"password"}) {
					t.Errorf("the reader lists %v, want ns-19's stage only", got)
				}
			}
		})
	}
}
