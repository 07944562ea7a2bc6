//go:build linux && e2e

package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"

	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// TestDev runs `make dev`'s program as a person would, end to end: the
// control plane, the samples, the manager as its ServiceAccount, the API
// with the cluster's authentication; then a second one on the same address,
// which must fail at once; then Ctrl-C, which must leave no process behind.
func TestDev(t *testing.T) {
	assets, manager, dev := devBinaries(t)
	addr := testenv.FreeAddr(t)
	dir := t.TempDir()
	args := []string{
		"--manager=" + manager, "--assets=" + assets, "--dir=" + dir,
		"--samples=config/samples", "--config=config",
		"--api-bind-address=" + addr, "--api-auth=kubernetes", "--timeout=2m",
	}
	run := runDev(t, dev, testenv.Root(), args...)
	cmd, exited, stderr := run.cmd, run.exited, run.stderr
	printed, curl := run.printed, run.curl
	out := strings.Join(printed, "\n")
	t.Logf("make dev printed:\n%s", out)
	for _, want := range []string{
		"export KUBECONFIG=" + filepath.Join(dir, "kubeconfig"),
		"kubectl get stagehand -A",
		"API served on http://" + addr,
		"stagehand objects, all Ready",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("make dev did not print %q", want)
		}
	}

	// The printed curl line works as printed: a real token, read from the
	// file it names, and a real stage.
	m := regexp.MustCompile(`^curl -H "Authorization: Bearer \$\(cat (/\S+)\)" (http://\S+/api/v3/stages/identification/([-0-9a-f]{36})/)$`).FindStringSubmatch(curl)
	if m == nil {
		t.Fatalf("the curl line is not a retrieve with a bearer token: %s", curl)
	}
	tokenFile, url, uid := m[1], m[2], m[3]
	b, err := os.ReadFile(tokenFile)
	if err != nil || tokenFile != filepath.Join(dir, "token") {
		t.Fatalf("the curl line reads its token from %s (want %s): %v", tokenFile, filepath.Join(dir, "token"), err)
	}
	token := strings.TrimSpace(string(b))
	status, body := get(t, url, token)
	if status != http.StatusOK {
		t.Fatalf("GET %s as the reader: %d %s", url, status, body)
	}
	var stage struct {
		PK        string `json:"pk"`
		Name      string `json:"name"`
		Component string `json:"component"`
		FlowSet   []any  `json:"flow_set"`
	}
	if err := json.Unmarshal([]byte(body), &stage); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
	if stage.PK != uid || stage.Component != "ak-stage-identification-form" || len(stage.FlowSet) == 0 {
		t.Errorf("GET %s = %s", url, body)
	}
	if status, body := get(t, url, ""); status != http.StatusForbidden || !strings.Contains(body, "Authentication credentials were not provided.") {
		t.Errorf("GET %s without a token: %d %s, want authentik's 403", url, status, body)
	}

	// The API's URL and address are written beside the token, for the
	// docs' curl lines: a session on another port is reached there.
	for name, want := range map[string]string{"api-url": "http://" + addr, "api-addr": addr} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want+"\n" {
			t.Errorf("%s/%s holds %q (%v), want %q", dir, name, b, err, want)
		}
	}

	// The samples are as if applied with `kubectl apply -k config/samples`,
	// so that a user's re-apply is clean.
	kc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.New(kc, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	// The printed token is bound to the API's audience, and the API refuses
	// the same ServiceAccount's token minted for kube-apiserver.
	if auds := tokenAudiences(t, token); !slices.Equal(auds, []string{"flows.stagehand.dev"}) {
		t.Errorf("the printed token's audiences are %q, want [flows.stagehand.dev]", auds)
	}
	tr := &authenticationv1.TokenRequest{}
	if err := admin.SubResource("token").Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "stagehand-dev-reader"}}, tr); err != nil {
		t.Fatal(err)
	}
	if status, body := get(t, url, tr.Status.Token); status != http.StatusForbidden || body != `{"detail":"Token invalid/expired"}` {
		t.Errorf("GET %s with the reader's kube-apiserver token: %d %s, want authentik's 403 Token invalid/expired", url, status, body)
	}

	var sample flowsv1alpha1.IdentificationStage
	if err := admin.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "default-authentication-identification"}, &sample); err != nil {
		t.Fatal(err)
	}
	var applied map[string]any
	if err := json.Unmarshal([]byte(sample.Annotations["kubectl.kubernetes.io/last-applied-configuration"]), &applied); err != nil || applied["kind"] != "IdentificationStage" {
		t.Errorf("a sample lacks kubectl's last-applied configuration (%v): %v", err, sample.Annotations)
	}

	// A second one in the same checkout says so at once, and stops; so does
	// one from another checkout (another --dir) on the same address, with
	// advice that works.
	for _, tc := range []struct {
		dir, says string
	}{
		{dir, "one runs per checkout; stop it first"},
		{t.TempDir(), addr + " is in use by another program (a `make dev` in another checkout, say): stop it, or serve the API elsewhere with DEV_API_ADDR"},
	} {
		second := exec.Command(dev, append(slices.Clone(args), "--dir="+tc.dir)...)
		second.Dir = testenv.Root()
		start := time.Now()
		b, err := second.CombinedOutput()
		if code := second.ProcessState.ExitCode(); err == nil || code != 1 {
			t.Errorf("a second make dev exited %d (%v), want 1", code, err)
		}
		if !strings.Contains(string(b), tc.says) {
			t.Errorf("a second make dev printed %q, want %q", b, tc.says)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("a second make dev took %s to give up", took)
		}
	}

	// Ctrl-C stops everything it started.
	children := recorded(t, dir)
	if len(children) != 3 {
		t.Errorf("make dev runs %v, want etcd, kube-apiserver and the manager", children)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("make dev exited with %v after Ctrl-C\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("make dev did not stop within a minute of Ctrl-C")
	}
	printed = append(printed, run.Rest()...)
	if out := strings.Join(printed, "\n"); !strings.Contains(out, "nothing is left running") {
		t.Errorf("after Ctrl-C make dev printed:\n%s", out)
	}
	// What it said after the curl line: what the token is, and that the API
	// serves plain HTTP only here.
	for _, want := range []string{
		"minted for the API's audience (kubectl create token stagehand-dev-reader --audience=flows.stagehand.dev)",
		"The API serves plain HTTP here, on loopback only (--api-tls=none); in a cluster it serves HTTPS.",
	} {
		if !strings.Contains(strings.Join(printed, "\n"), want) {
			t.Errorf("make dev did not print %q", want)
		}
	}
	for _, name := range []string{"api-url", "api-addr", "token"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s/%s is left after Ctrl-C (%v): the next reader would reach no session", dir, name, err)
		}
	}
	for pid, cmdline := range children {
		if command(pid) == cmdline {
			t.Errorf("%s (pid %d) still runs after Ctrl-C", cmdline, pid)
		}
	}
}

// tokenAudiences reads the audiences (aud) of a JWT, without checking it.
func tokenAudiences(t *testing.T, token string) []string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("the token is not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Aud []string `json:"aud"`
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Aud
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	code, body, err := testenv.Get(&http.Client{Timeout: 10 * time.Second}, url, token)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// recorded reads the processes make dev recorded in dir/pids.
func recorded(t *testing.T, dir string) map[int]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		pid, cmd, _ := strings.Cut(line, " ")
		n, err := strconv.Atoi(pid)
		if err != nil {
			t.Fatalf("%s/pids: %q", dir, line)
		}
		out[n] = cmd
	}
	return out
}
