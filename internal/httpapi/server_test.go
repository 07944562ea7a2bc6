package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// TestStartAndShutdown serves on a real port until the context ends, then
// checks that Start returns and the port is closed.
func TestStartAndShutdown(t *testing.T) {
	s, addr, stop := serve(t, Options{Reader: fakeReader(t, fixtures()...), Auth: AuthNone})
	if s.NeedLeaderElection() {
		t.Error("the API must run on every replica")
	}
	url := "http://" + addr + "/api/v3/stages/password/"
	testenv.Eventually(t, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("Start returned %v after the context ended", err)
	}
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Fatal("still serving after shutdown")
	}
}

func TestHTTPServerLimits(t *testing.T) {
	s := memServer(t)
	srv := s.httpServer()
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Errorf("a limit is unset: %+v", srv)
	}
	if srv.WriteTimeout <= s.opts.RequestTimeout {
		t.Errorf("WriteTimeout %v cuts requests off before RequestTimeout %v", srv.WriteTimeout, s.opts.RequestTimeout)
	}

	req := httptest.NewRequest(http.MethodGet, "/api/v3/stages/password/", strings.NewReader(strings.Repeat("x", maxBodyBytes+1)))
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 413 || rec.Body.String() != `{"detail":"Request body too large."}` {
		t.Errorf("large body: %d %s", rec.Code, rec.Body)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	r := fakeReader(t)
	for name, o := range map[string]Options{
		"unknown auth":            {Addr: ":0", Reader: r, Auth: "oidc"},
		"no reader":               {Addr: ":0", Auth: AuthNone},
		"no address":              {Reader: r, Auth: AuthNone},
		"kubernetes, no reviewer": {Addr: ":0", Reader: r, Auth: AuthKubernetes},
		"negative TTL":            {Addr: ":0", Reader: r, Auth: AuthNone, AuthCacheTTL: -1},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := AuthMode("").Validate(); err == nil || !strings.Contains(err.Error(), "--api-auth") {
		t.Errorf("Validate: %v", err)
	}
}

// TestNoAuthIsLoggedAsAnError: --api-auth=none is said at start at error
// level, which a log pipeline alerting on errors catches; with
// authentication on, nothing is logged at that level.
func TestNoAuthIsLoggedAsAnError(t *testing.T) {
	for _, mode := range []AuthMode{AuthNone, AuthKubernetes} {
		var mu sync.Mutex
		var errorLines []string
		log := funcr.NewJSON(func(obj string) {
			mu.Lock()
			defer mu.Unlock()
			if strings.Contains(obj, `"error":`) {
				errorLines = append(errorLines, obj)
			}
		}, funcr.Options{})
		_, addr, stop := serve(t, Options{Reader: fakeReader(t, fixtures()...), Auth: mode, Reviewer: newFakeReviewer(), Log: log})
		testenv.Eventually(t, func() error {
			resp, err := http.Get("http://" + addr + "/")
			if err != nil {
				return err
			}
			return resp.Body.Close()
		})
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := errorLines
		mu.Unlock()
		switch {
		case mode == AuthNone && (len(got) != 1 || !strings.Contains(got[0], `"error":"--api-auth=none"`)):
			t.Errorf("--api-auth=none logged at error level: %q, want one line naming --api-auth=none", got)
		case mode == AuthKubernetes && len(got) != 0:
			t.Errorf("--api-auth=kubernetes logged at error level: %q", got)
		}
	}
}
