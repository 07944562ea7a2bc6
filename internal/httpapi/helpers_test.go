package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
	"github.com/stagehand-dev/stagehand/internal/httpapi/apitest"
)

// fakeReader is an in-memory reader holding objs, with the refs indexes:
// the rendering's input without an API server.
func fakeReader(t testing.TB, objs ...client.Object) client.Client {
	t.Helper()
	r, err := apitest.Reader(objs...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// uid, om and binding build objects as the shared world does
// (apitest.UID, apitest.Meta, apitest.Binding).
func uid(n int) types.UID { return apitest.UID(n) }

func om(ns, name string, n int) metav1.ObjectMeta { return apitest.Meta(ns, name, n) }

func ref(name string) *flowsv1alpha1.LocalObjectReference {
	return &flowsv1alpha1.LocalObjectReference{Name: name}
}

var binding = apitest.Binding

// get serves one GET through a Server's handler, in memory.
func get(t testing.TB, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// memServer is a Server over a fake reader, without authentication.
func memServer(t testing.TB, objs ...client.Object) *Server {
	t.Helper()
	s, err := New(Options{Addr: "127.0.0.1:0", Reader: fakeReader(t, objs...), Auth: AuthNone})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serve starts a Server with o on a port of its own and returns it with
// its address and stop, which ends Start's context and returns what Start
// returned. A test that does not stop the server has it stopped when it
// ends, and an error from Start fails the test.
func serve(t testing.TB, o Options) (s *Server, addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Listener = ln
	if s, err = New(o); err != nil {
		_ = ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- s.Start(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-stopped
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Start returned %v", err)
		}
	})
	return s, ln.Addr().String(), stop
}
