package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// TestAccessReviewsBounded: 150 namespaces hold a PasswordStage each, and a
// caller may read them in three. Its list asks one cluster-wide
// SubjectAccessReview, then one per namespace that holds a match of its
// query, no more; a list that would need more than
// MaxAccessReviewsPerRequest is a 503 with Retry-After; with a higher limit
// the same list is answered, with exactly the readable namespaces' objects.
// The reviews are read from the metric, the API server's RBAC authorizer
// answers them, and the cache is off (a TTL of a nanosecond), so that each
// request's reviews are its own.
func TestAccessReviewsBounded(t *testing.T) {
	c := envtest(t)
	const n = 150
	nss := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		nss[i] = c.namespace(t, fmt.Sprintf("bounded-%03d", i))
	}
	for i := range n {
		wg.Go(func() {
			stages := []string{"bound-stage"}
			if i%30 == 0 { // 5 namespaces hold a match of ?search=bound-match
				stages = append(stages, "bound-match")
			}
			for _, name := range stages {
				s := &flowsv1alpha1.PasswordStage{ObjectMeta: metav1.ObjectMeta{Namespace: nss[i], Name: name}, Spec: flowsv1alpha1.PasswordStageSpec{
					Backends: []flowsv1alpha1.PasswordBackend{"authentik.core.auth.InbuiltBackend"},
				}}
				if err := c.admin.Create(context.Background(), s); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	token := c.serviceAccount(t, nss[0], "reader")
	for _, i := range []int{0, 30, 77} {
		c.grantRead(t, nss[i], nss[0], "reader")
	}

	serve := func(limit int) (string, *prometheus.Registry) {
		t.Helper()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		s, err := New(Options{
			Listener: ln, Reader: c.mgr.GetCache(), Reviewer: c.mgr.GetClient(), Auth: AuthKubernetes,
			AuthCacheTTL: time.Nanosecond, MaxAccessReviewsPerRequest: limit, Metrics: reg,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Start(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return "http://" + ln.Addr().String(), reg
	}
	reviews := func(reg *prometheus.Registry) (sent, refused float64) {
		for _, r := range []string{"allowed", "denied", "error"} {
			sent += counterValue(t, reg, "stagehand_api_auth_reviews_total", map[string]string{"review": "access", "result": r})
		}
		return sent, counterValue(t, reg, "stagehand_api_auth_reviews_total", map[string]string{"review": "access", "result": "over_limit"})
	}
	list := func(url, query string) (int, []string, reply) {
		t.Helper()
		got := call(t, "GET", url+"/api/v3/stages/password/?page_size=100&"+query, token)
		if got.code != 200 {
			return got.code, nil, got
		}
		var body struct {
			Results []struct {
				Name string `json:"name"`
				PK   string `json:"pk"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(got.body), &body); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range body.Results {
			out = append(out, r.Name)
		}
		slices.Sort(out)
		return got.code, out, got
	}
	// The cache the server reads has every stage.
	url, reg := serve(0)
	testenv.Eventually(t, func() error {
		got := call(t, "GET", c.none+"/api/v3/stages/password/?search=bound-&page_size=1", "")
		var body struct {
			Pagination pagination `json:"pagination"`
		}
		if err := json.Unmarshal([]byte(got.body), &body); err != nil || got.code != 200 {
			return fmt.Errorf("%d %s", got.code, got.body)
		}
		if body.Pagination.Count < n+5 {
			return fmt.Errorf("the cache holds %d of the %d stages", body.Pagination.Count, n+5)
		}
		return nil
	})

	// A query matching in 5 namespaces: 1 cluster-wide review and 5.
	code, names, got := list(url, "search=bound-match")
	if code != 200 || !slices.Equal(names, []string{"bound-match", "bound-match"}) {
		t.Fatalf("?search=bound-match: %d %v %s, want the matches of namespaces 0 and 30", code, names, got.body)
	}
	if sent, _ := reviews(reg); sent != 1+5 {
		t.Errorf("?search=bound-match cost %v SubjectAccessReviews, want 6 (one cluster-wide, one per namespace holding a match)", sent)
	}

	// A query matching in 150 namespaces, past the default limit: 503.
	before, _ := reviews(reg)
	code, _, got = list(url, "search=bound-stage")
	if code != 503 || got.body != `{"detail":"Service temporarily unavailable, try again later."}` || got.header.Get("Retry-After") != "1" {
		t.Errorf("?search=bound-stage with the default limit: %d %s (Retry-After %q), want a 503 with Retry-After: 1", code, got.body, got.header.Get("Retry-After"))
	}
	sent, refused := reviews(reg)
	if sent-before != DefaultMaxAccessReviewsPerRequest || refused < 1 {
		t.Errorf("past the limit: %v reviews sent and %v refused, want %d sent and some refused", sent-before, refused, DefaultMaxAccessReviewsPerRequest)
	}

	// With a limit above it, the same list is answered, with the three
	// readable namespaces' stages, for 151 reviews.
	url, reg = serve(n + 1)
	code, names, got = list(url, "search=bound-stage")
	if code != 200 || !slices.Equal(names, []string{"bound-stage", "bound-stage", "bound-stage"}) {
		t.Errorf("?search=bound-stage with a limit of %d: %d %v %s, want the three readable namespaces' stages", n+1, code, names, got.body)
	}
	if sent, refused := reviews(reg); sent != 1+n || refused != 0 {
		t.Errorf("?search=bound-stage cost %v SubjectAccessReviews (%v refused), want %d", sent, refused, 1+n)
	}
}
