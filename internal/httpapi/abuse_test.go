package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// TestTokenReviewLimit: anyone can send a new bearer token with every
// request, and each would cost a TokenReview in the manager's own share of
// the API server. Past the limit, a token not in the cache is answered 503
// with Retry-After, without a review and without a log line, while tokens in
// the cache are served as ever.
func TestTokenReviewLimit(t *testing.T) {
	rv := newFakeReviewer()
	reg := prometheus.NewRegistry()
	var logged atomic.Int64
	s, err := New(Options{
		Addr: "127.0.0.1:0", Reader: fakeReader(t, authFixtures()...), Auth: AuthKubernetes, Reviewer: rv,
		AuthCacheTTL: time.Minute, AuthNegativeCacheTTL: time.Minute, Metrics: reg,
		// Three reviews, and (for the length of the test) no more.
		TokenReviewQPS: 1e-6, TokenReviewBurst: 3,
		Log: funcr.New(func(_, _ string) { logged.Add(1) }, funcr.Options{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(t, s, passwordPath, "Authorization", "Bearer reader"); rec.Code != 200 {
		t.Fatalf("the reader: %d %s", rec.Code, rec.Body)
	}

	refused, throttled := 0, 0
	for i := range 10 {
		rec := get(t, s, passwordPath, "Authorization", fmt.Sprintf("Bearer forged-%d", i))
		switch {
		case rec.Code == 403 && rec.Body.String() == `{"detail":"Token invalid/expired"}`:
			refused++
		case rec.Code == 503 && rec.Body.String() == `{"detail":"Service temporarily unavailable, try again later."}` && rec.Header().Get("Retry-After") == "1":
			throttled++
		default:
			t.Errorf("forged token %d: %d %v %s", i, rec.Code, rec.Header(), rec.Body)
		}
	}
	if refused != 2 || throttled != 8 {
		t.Errorf("10 forged tokens after the reader's: %d refused, %d throttled; want 2 (the rest of the burst) and 8", refused, throttled)
	}
	if n := rv.tokenReviews.Load(); n != 3 {
		t.Errorf("%d TokenReviews, want 3 (the limit's burst)", n)
	}
	if rec := get(t, s, passwordPath, "Authorization", "Bearer reader"); rec.Code != 200 {
		t.Errorf("the reader, in the cache, while others are throttled: %d %s", rec.Code, rec.Body)
	}
	if n := rv.tokenReviews.Load(); n != 3 {
		t.Errorf("%d TokenReviews after the cached reader's request, want 3", n)
	}
	if n := counterValue(t, reg, "stagehand_api_auth_reviews_total", map[string]string{"review": "token", "result": "throttled"}); n != 8 {
		t.Errorf("auth_reviews_total{result=throttled} = %v, want 8", n)
	}
	if n := logged.Load(); n != 0 {
		t.Errorf("%d log lines for throttled tokens, want none", n)
	}
}

// TestAbusiveRequests: over real HTTP, what a careless or hostile client
// sends (an enormous path, query or header, thousands of unknown UUIDs,
// connections left half-open) is answered, or refused, without harm to
// anyone else: a reader's request is served throughout.
func TestAbusiveRequests(t *testing.T) {
	_, addr, _ := serve(t, Options{Reader: fakeReader(t, authFixtures()...), Auth: AuthKubernetes, Reviewer: newFakeReviewer()})
	base := "http://" + addr
	do := func(path string, header ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer reader")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %.80s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	served := func(when string) {
		t.Helper()
		if code, body := do(passwordPath); code != 200 {
			t.Errorf("%s, the reader's request: %d %s", when, code, body)
		}
	}
	testenv.Eventually(t, func() error {
		if code, body := do(passwordPath); code != 200 {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})

	// Past net/http's header limit (the request line counts), refused
	// before the handler.
	if code, _ := do("/api/v3/stages/password/" + strings.Repeat("a", 2*maxHeaderBytes) + "/"); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a path of %d bytes: %d, want 431", 2*maxHeaderBytes, code)
	}
	if code, _ := do(passwordPath, "X-Padding", strings.Repeat("b", 2*maxHeaderBytes)); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a header of %d bytes: %d, want 431", 2*maxHeaderBytes, code)
	}
	served("after oversized requests")

	// A long query under the limit: thousands of parameters, unknown ones
	// ignored and a filter repeated, as django-filter does.
	var q strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&q, "&x%d=%d&name=a", i, i)
	}
	if code, body := do("/api/v3/stages/password/?page_size=1" + q.String()); code != 200 || !strings.HasPrefix(body, `{"pagination":`) {
		t.Errorf("a query of %d bytes: %d %.200s", q.Len(), code, body)
	}

	// Thousands of UUIDs that name nothing: each is authentik's 404.
	for i := range 2000 {
		path := "/api/v3/stages/password/" + uuid.NewString() + "/"
		if code, body := do(path); code != 404 || body != `{"detail":"No PasswordStage matches the given query."}` {
			t.Fatalf("unknown uuid %d: %d %s", i, code, body)
		}
	}
	served("after 2000 unknown UUIDs")

	// Connections that send half a request and wait, and one that asks
	// for a list and never reads it: others are served meanwhile.
	var conns []net.Conn
	for range 100 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := io.WriteString(c, "GET /api/v3/stages/password/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bea"); err != nil {
			t.Fatal(err)
		}
	}
	stuck, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, stuck)
	for range 50 {
		if _, err := io.WriteString(stuck, "GET /api/v3/stages/password/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer reader\r\n\r\n"); err != nil {
			break // the server stopped reading: its buffers are full
		}
	}
	served("with 100 half-open connections and one that never reads")
	for _, c := range conns {
		_ = c.Close()
	}

	// The half-open ones are closed by the server, not kept forever.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	_ = c.SetReadDeadline(time.Now().Add(readHeaderTimeout + time.Minute))
	var ne net.Error
	if line, err := bufio.NewReader(c).ReadString('\n'); err == nil && !strings.Contains(line, "408") {
		t.Errorf("a connection that never finished its headers got %q, want it closed (or a 408)", line)
	} else if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("a connection that never finished its headers was kept open past ReadHeaderTimeout (%v)", readHeaderTimeout)
	}
}
