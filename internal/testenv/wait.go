package testenv

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// WaitFor calls f every Poll until it returns nil, or Timeout passes; then
// it returns f's last error, saying how long it waited.
func WaitFor(f func() error) error {
	deadline := time.Now().Add(Timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", Timeout, err)
		}
		time.Sleep(Poll)
	}
}

// Eventually is WaitFor for a test: it fails t with f's last error.
func Eventually(t testing.TB, f func() error) {
	t.Helper()
	if err := WaitFor(f); err != nil {
		t.Fatal(err)
	}
}

// FreeAddr is a loopback address no one listens on, for a server a test
// starts in another process.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

// LogBuffer collects logs written from several goroutines (a logger's
// output, a process's stdout and stderr) for a test to read.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Get sends a GET to url with hc, with token as its bearer token unless it
// is empty, and returns the answer's status and body.
func Get(hc *http.Client, url, token string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
