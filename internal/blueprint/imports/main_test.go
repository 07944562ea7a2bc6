package imports

import (
	"os"
	"testing"

	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// The round trip runs on a real kube-apiserver (testenv.Shared), started on
// first use; the other tests (and go test -fuzz) never start it.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
