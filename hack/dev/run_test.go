//go:build linux && e2e

package main

import (
	"bufio"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

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
