package imports

import (
	"flag"
	"os"
	"sync"
	"testing"

	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// The round trip runs on a real kube-apiserver, started on first use and
// shared; the other tests (and go test -fuzz) never start it.
var (
	envOnce sync.Once
	env     *testenv.Env
	envErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if env != nil {
		_ = env.Stop()
	}
	os.Exit(code)
}

// controlPlane returns the shared control plane, starting it on first use.
func controlPlane(t *testing.T) *testenv.Env {
	t.Helper()
	envOnce.Do(func() { env, envErr = testenv.Start() })
	if envErr != nil {
		t.Fatalf("starting the control plane: %v", envErr)
	}
	return env
}
