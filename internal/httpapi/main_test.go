package httpapi

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// The envtest tests share one control plane and one manager, started on
// first use: a real kube-apiserver and etcd, the manager's cache with the
// refs indexes, and two API servers over it on real ports, one with
// --api-auth=kubernetes and one with --api-auth=none. Each test works in
// namespaces of its own. Tests that need none of this (the golden files,
// the query and auth logic over an in-memory reader) never start it.

type cluster struct {
	env   *testenv.Env
	admin client.Client
	mgr   manager.Manager
	// kube and none are the base URLs of the two servers.
	kube, none string
	// reg holds the kubernetes server's metrics.
	reg *prometheus.Registry
	// early answered before the manager started.
	early int
}

var (
	clusterOnce sync.Once
	shared      *cluster
	sharedErr   error
	stopShared  = func() {}
)

func TestMain(m *testing.M) {
	flag.Parse()
	ctrl.SetLogger(logr.Discard())
	captureKlog()
	code := m.Run()
	stopShared()
	os.Exit(code)
}

// envtest returns the shared control plane, starting it on first use.
func envtest(t testing.TB) *cluster {
	t.Helper()
	clusterOnce.Do(func() { shared, sharedErr = startCluster() })
	if sharedErr != nil {
		t.Fatalf("starting the control plane: %v", sharedErr)
	}
	return shared
}

func startCluster() (*cluster, error) {
	env, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	c := &cluster{env: env, admin: env.Client, reg: prometheus.NewRegistry()}
	fail := func(err error) (*cluster, error) {
		_ = env.Stop()
		return nil, err
	}
	// The manager runs with the generated RBAC, which must let the API read
	// every kind and review tokens and access. Its requests to the API
	// server (reads for the cache, reviews) are counted, to show that the
	// hot path makes none.
	setup := func(mgr manager.Manager) error {
		for _, mode := range []AuthMode{AuthKubernetes, AuthNone} {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			opts := Options{
				Listener: ln, Reader: mgr.GetCache(), Cache: mgr.GetCache(), Reviewer: mgr.GetClient(),
				Auth: mode, AuthCacheTTL: 5 * time.Second, Log: logr.Discard(),
			}
			if mode == AuthKubernetes {
				opts.Metrics = c.reg
			}
			s, err := New(opts)
			if err != nil {
				return err
			}
			// Before the manager (and so the cache) starts, the API answers 503.
			if mode == AuthNone {
				c.early = httptestGet(s, "/api/v3/stages/password/")
			}
			if err := mgr.Add(s); err != nil {
				return err
			}
			url := "http://" + ln.Addr().String()
			if mode == AuthKubernetes {
				c.kube = url
			} else {
				c.none = url
			}
		}
		return nil
	}
	mgr, stop, err := env.StartManager(testenv.ManagerOptions{
		Setup:         setup,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt} },
	})
	if err != nil {
		return fail(err)
	}
	c.mgr = mgr
	stopShared = func() {
		stop()
		_ = env.Stop()
	}
	// Ready once the cache has synced.
	err = testenv.WaitFor(func() error {
		resp, err := http.Get(c.none + "/api/v3/stages/password/")
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
	if err != nil {
		stopShared()
		stopShared = func() {}
		return nil, fmt.Errorf("the API did not become ready: %w", err)
	}
	return c, nil
}

// namespace creates a namespace of its own for a test.
func (c *cluster) namespace(t testing.TB, prefix string) string {
	t.Helper()
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := c.admin.Create(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	return n.Name
}

// create creates objects as the administrator, in order.
func (c *cluster) create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.admin.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %s %s: %v", flowsv1alpha1.KindOf(o), o.GetName(), err)
		}
	}
}

// apiRequests counts the manager's requests to the API server.
var apiRequests atomic.Int64

type countingTransport struct{ http.RoundTripper }

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	apiRequests.Add(1)
	return t.RoundTripper.RoundTrip(r)
}

// httptestGet is the status of a GET through a handler, in memory.
func httptestGet(h http.Handler, path string) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}
