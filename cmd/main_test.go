package main

import (
	"os"
	"os/exec"
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
