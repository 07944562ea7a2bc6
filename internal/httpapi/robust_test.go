package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What a user would be hurt by, were it to regress: a review that fails or
// hangs, the cache key of a user's permissions, a panic, a shutdown with
// requests in flight.

// scriptedReviewer authenticates tokens to fixed users and allows a read
// when the user's groups hold "readers"; sarErr, when set, fails every
// SubjectAccessReview; block, when set, holds every review until its
// context ends.
type scriptedReviewer struct {
	users  map[string]authenticationv1.UserInfo
	sarErr error
	block  atomic.Bool
	sars   atomic.Int64
}

func (s *scriptedReviewer) Create(ctx context.Context, obj client.Object, _ ...client.CreateOption) error {
	if s.block.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	switch o := obj.(type) {
	case *authenticationv1.TokenReview:
		if u, ok := s.users[o.Spec.Token]; ok {
			// As kube-apiserver: for the audiences asked about.
			o.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: u, Audiences: o.Spec.Audiences}
		}
	case *authorizationv1.SubjectAccessReview:
		s.sars.Add(1)
		if s.sarErr != nil {
			return s.sarErr
		}
		o.Status.Allowed = slices.Contains(o.Spec.Groups, "readers")
	}
	return nil
}

func scriptedServer(t *testing.T, rv *scriptedReviewer, timeout time.Duration) *Server {
	t.Helper()
	s, err := New(Options{
		Addr: "127.0.0.1:0", Reader: fakeReader(t, fixtures()...), Auth: AuthKubernetes, Reviewer: rv,
		AuthCacheTTL: time.Minute, AuthNegativeCacheTTL: time.Minute, RequestTimeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const passwordPath = "/api/v3/stages/password/00000000-0000-4000-8000-000000000002/"

// A SubjectAccessReview that fails (the API server unreachable) is a 503,
// not a 403 or a 500, and is not remembered.
func TestAccessReviewFailureIs503(t *testing.T) {
	rv := &scriptedReviewer{users: map[string]authenticationv1.UserInfo{"t": {Username: "alice", Groups: []string{"readers"}}}, sarErr: errors.New("connection refused")}
	s := scriptedServer(t, rv, time.Second)
	rec := get(t, s, passwordPath, "Authorization", "Bearer t")
	if rec.Code != 503 || rec.Body.String() != `{"detail":"Service temporarily unavailable, try again later."}` {
		t.Fatalf("a failing SubjectAccessReview: %d %s", rec.Code, rec.Body)
	}
	rv.sarErr = nil
	if rec := get(t, s, passwordPath, "Authorization", "Bearer t"); rec.Code != 200 {
		t.Fatalf("after the API server is back: %d %s", rec.Code, rec.Body)
	}
}

// A review that hangs is given up at the request timeout: a 503, in time.
func TestReviewTimeoutIs503(t *testing.T) {
	rv := &scriptedReviewer{users: map[string]authenticationv1.UserInfo{"t": {Username: "alice", Groups: []string{"readers"}}}}
	rv.block.Store(true)
	s := scriptedServer(t, rv, 200*time.Millisecond)
	start := time.Now()
	rec := get(t, s, passwordPath, "Authorization", "Bearer t")
	if rec.Code != 503 {
		t.Fatalf("a hanging review: %d %s", rec.Code, rec.Body)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("a hanging review took %s to be given up, with a 200ms request timeout", took)
	}
}

// One user in two tokens, with different groups, has two sets of
// permissions: the access cache keys on everything a review asks about,
// groups included.
func TestAccessCacheKeysOnGroups(t *testing.T) {
	rv := &scriptedReviewer{users: map[string]authenticationv1.UserInfo{
		"reader-token": {Username: "alice", UID: "1", Groups: []string{"readers"}},
		"other-token":  {Username: "alice", UID: "1", Groups: []string{"others"}},
	}}
	s := scriptedServer(t, rv, time.Second)
	if rec := get(t, s, passwordPath, "Authorization", "Bearer reader-token"); rec.Code != 200 {
		t.Fatalf("alice as a reader: %d %s", rec.Code, rec.Body)
	}
	if rec := get(t, s, passwordPath, "Authorization", "Bearer other-token"); rec.Code != 403 {
		t.Fatalf("alice in other groups, after alice as a reader: %d %s, want 403", rec.Code, rec.Body)
	}
	if rec := get(t, s, passwordPath, "Authorization", "Bearer reader-token"); rec.Code != 200 {
		t.Fatalf("alice as a reader again: %d %s", rec.Code, rec.Body)
	}
}

// panicReader panics on every read.
type panicReader struct{ client.Reader }

func (panicReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	panic("a bug")
}

func (panicReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	panic("a bug")
}

// A panic while answering is authentik's JSON 500, and the server goes on.
func TestPanicIsJSON500(t *testing.T) {
	s, err := New(Options{Addr: "127.0.0.1:0", Reader: panicReader{}, Auth: AuthNone})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rec := get(t, s, "/api/v3/stages/password/")
		if rec.Code != 500 || rec.Body.String() != `{"detail":"A server error occurred."}` || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("a panic: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

// gatedReviewer holds every review until released.
type gatedReviewer struct {
	scriptedReviewer
	arrived chan struct{}
	release chan struct{}
}

func (g *gatedReviewer) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if _, ok := obj.(*authenticationv1.TokenReview); ok {
		g.arrived <- struct{}{}
		<-g.release
	}
	return g.scriptedReviewer.Create(ctx, obj, opts...)
}

// Stopping the server lets the requests in flight finish: a request that
// arrived before the manager stopped gets its answer, then Start returns.
func TestShutdownDrainsRequestsInFlight(t *testing.T) {
	rv := &gatedReviewer{
		scriptedReviewer: scriptedReviewer{users: map[string]authenticationv1.UserInfo{"t": {Username: "alice", Groups: []string{"readers"}}}},
		arrived:          make(chan struct{}, 1),
		release:          make(chan struct{}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Listener: ln, Reader: fakeReader(t, fixtures()...), Auth: AuthKubernetes, Reviewer: rv, ShutdownTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.Start(ctx) }()
	url := "http://" + ln.Addr().String() + passwordPath

	answered := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	<-rv.arrived // the request is being answered
	cancel()     // the manager stops
	select {
	case err := <-stopped:
		t.Fatalf("Start returned (%v) with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(rv.release)
	if got := <-answered; got[:3] != "200" {
		t.Fatalf("the request in flight got %s, want a 200", got)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Start returned %v", err)
	}
}
