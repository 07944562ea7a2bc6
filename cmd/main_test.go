package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestVersionFlag: --version prints the version and the commit and exits,
// before it looks for a cluster (the child has none).
func TestVersionFlag(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--version")
	cmd.Env = append(os.Environ(), runManagerEnv+"=1", "KUBECONFIG=/nonexistent")
	out, err := cmd.CombinedOutput()
	// A test binary records no commit: the fallback says so.
	if err != nil || string(out) != "stagehand manager dev (commit unknown)\n" {
		t.Errorf("manager --version: %v %q", err, out)
	}
}

// TestAPITLSMode: --api-tls defaults to the manager's own CA, or to the
// certificate files when they are given; a mode that contradicts the other
// flags is refused with a message naming them.
func TestAPITLSMode(t *testing.T) {
	for _, tc := range []struct {
		mode, cert, key string
		want, err       string
	}{
		{"", "", "", tlsSelfSigned, ""},
		{"", "tls.crt", "tls.key", tlsFiles, ""},
		{"self-signed", "", "", tlsSelfSigned, ""},
		{"none", "", "", tlsNone, ""},
		{"files", "tls.crt", "tls.key", tlsFiles, ""},
		{"files", "", "", "", "needs --api-tls-cert-file and --api-tls-key-file"},
		{"none", "tls.crt", "tls.key", "", "--api-tls=none with --api-tls-cert-file"},
		{"self-signed", "tls.crt", "", "", "--api-tls=self-signed with --api-tls-cert-file"},
		{"https", "", "", "", `--api-tls="https": must be self-signed, files or none`},
	} {
		got, err := apiTLSMode(runOptions{apiTLS: tc.mode, apiTLSCertFile: tc.cert, apiTLSKeyFile: tc.key})
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("--api-tls=%q, cert %q, key %q: %q, %v; want %q, %q", tc.mode, tc.cert, tc.key, got, err, tc.want, tc.err)
		}
	}
}

func TestSplitList(t *testing.T) {
	if got, err := splitList("flows.stagehand.dev, vault"); err != nil || len(got) != 2 || got[1] != "vault" {
		t.Errorf("%q %v", got, err)
	}
	for _, bad := range []string{"", ",", "a,,b"} {
		if _, err := splitList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestParseBytes: --api-memo-bytes takes a quantity as Kubernetes writes
// one, and refuses anything else, or nothing, by name.
func TestParseBytes(t *testing.T) {
	for v, want := range map[string]int64{"64Mi": 64 << 20, "1Gi": 1 << 30, "1000": 1000, "1M": 1000000} {
		if got, err := parseBytes(v); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", v, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1Mi", "lots", "64MB"} {
		if _, err := parseBytes(bad); err == nil || !strings.Contains(err.Error(), "positive quantity of bytes") {
			t.Errorf("%q: %v, want an error", bad, err)
		}
	}
}

// TestWatchNamespaces: --watch-namespaces is empty (every namespace) or
// namespace names, each once; anything else is refused, naming what is
// wrong.
func TestWatchNamespaces(t *testing.T) {
	for _, tc := range []struct {
		flag string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"team-a", []string{"team-a"}, ""},
		{"team-a, team-b", []string{"team-a", "team-b"}, ""},
		{"team-a,,team-b", nil, "no empty one"},
		{"team-a,", nil, "no empty one"},
		{"Team-A", nil, `"Team-A" is not a namespace name`},
		{"team_a", nil, `"team_a" is not a namespace name`},
		{"team-a,team-a", nil, `"team-a" is named twice`},
	} {
		got, err := watchNamespaces(tc.flag)
		if !slices.Equal(got, tc.want) || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("--watch-namespaces=%q: %q, %v; want %q, %q", tc.flag, got, err, tc.want, tc.err)
		}
	}
}
