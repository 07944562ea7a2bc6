//go:build linux && e2e

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// The binaries the e2e tests run, built once for the package's tests into
// a directory TestMain removes.
var (
	buildOnce              sync.Once
	binDir                 string
	builtManager, builtDev string
	buildErr               error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// devBinaries returns the control plane's directory (KUBEBUILDER_ASSETS,
// else bin/k8s), and the manager and make dev's program, built once from
// this tree.
func devBinaries(t *testing.T) (assets, managerPath, devPath string) {
	t.Helper()
	assets = os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join(testenv.Root(), "bin", "k8s")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			t.Fatalf("no %s in %s: run the tests with `make test`, which builds the control plane", bin, assets)
		}
	}
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "stagehand-dev-e2e-"); buildErr != nil {
			return
		}
		builtManager, builtDev = filepath.Join(binDir, "manager"), filepath.Join(binDir, "stagehand-dev")
		for out, pkg := range map[string]string{builtManager: "./cmd", builtDev: "./hack/dev"} {
			build := exec.Command("go", "build", "-o", out, pkg)
			build.Dir = testenv.Root()
			if b, err := build.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return assets, builtManager, builtDev
}

// A devRun is make dev's program, started by a test and run until the test
// ends (Ctrl-C, then a kill a minute later), with what it printed up to
// its curl line.
type devRun struct {
	cmd *exec.Cmd
	// exited receives the program's exit once it has stopped.
	exited chan error
	stderr *strings.Builder
	// printed is what it printed on stdout up to and with the curl line.
	printed []string
	// curl is the curl line, trimmed.
	curl string

	mu   sync.Mutex
	rest []string
	done chan struct{}
}

// runDev starts dev with args in dir and waits, for at most three minutes,
// until it prints its curl line.
func runDev(t *testing.T, dev, dir string, args ...string) *devRun {
	t.Helper()
	cmd := exec.Command(dev, args...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &devRun{cmd: cmd, exited: make(chan error, 1), stderr: &strings.Builder{}, done: make(chan struct{})}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-d.exited: //nolint:errcheck // the test is over; only that it stopped matters
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
			}
		}
	})

	lines := make(chan string, 100)
	go func() {
		s := bufio.NewScanner(stdout)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	deadline := time.After(3 * time.Minute)
	for d.curl == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("make dev stopped before printing a curl line:\n%s\n%s", strings.Join(d.printed, "\n"), d.stderr.String())
			}
			d.printed = append(d.printed, line)
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "curl ") {
				d.curl = l
			}
		case <-deadline:
			t.Fatalf("make dev printed no curl line in 3 minutes:\n%s\n%s", strings.Join(d.printed, "\n"), d.stderr.String())
		}
	}
	// The rest is read as it comes, so that make dev never blocks on its
	// output, and kept for Rest.
	go func() {
		for line := range lines {
			d.mu.Lock()
			d.rest = append(d.rest, line)
			d.mu.Unlock()
		}
		close(d.done)
	}()
	return d
}

// Rest is what the program printed after its curl line; call it once it
// has exited.
func (d *devRun) Rest() []string {
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rest
}
