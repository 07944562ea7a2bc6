package main

import (
	"bytes"
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const authentik = "../../internal/blueprint/testdata/authentik"

const login = `version: 1
entries:
- model: authentik_flows.flow
  id: flow
  identifiers: {slug: login}
  attrs: {name: Login, title: Sign in, designation: authentication}
- model: authentik_stages_user_login.userloginstage
  id: session
  identifiers: {name: "Login: session"}
- model: authentik_flows.flowstagebinding
  identifiers: {target: !KeyOf flow, stage: !KeyOf session, order: 10}
`

const broken = "version: 1\nentries:\n- model: authentik_flows.flow\n  attrs: {title: [1, 2}\n"

// dir writes files into a new directory.
func dir(t *testing.T, files map[string]string) string {
	t.Helper()
	d := t.TempDir()
	for name, data := range files {
		p := filepath.Join(d, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

type outcome struct {
	code           int
	stdout, stderr string
}

func runCmd(stdin string, args ...string) outcome {
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return outcome{code, out.String(), errOut.String()}
}

func (o outcome) check(t *testing.T, code int, stdout, stderr []string) {
	t.Helper()
	if o.code != code {
		t.Errorf("exit status %d, want %d\nstderr:\n%s", o.code, code, o.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(o.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, o.stdout)
		}
	}
	for _, s := range stderr {
		if !strings.Contains(o.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, o.stderr)
		}
	}
}

// A directory imports: its *.yaml and *.yml files, in subdirectories
// too, in order; the manifests on stdout, the report on stderr.
func TestImportDirectory(t *testing.T) {
	d := dir(t, map[string]string{
		"login.yaml":        login,
		"more/recovery.yml": strings.NewReplacer("slug: login", "slug: recovery", "Login", "Recovery", "designation: authentication", "designation: recovery").Replace(login),
		"notes.txt":         "not a blueprint",
		"more/skip.json":    "{}",
	})
	o := runCmd("", "import", d, "--namespace", "auth")
	o.check(t, 0,
		[]string{"kind: Flow\nmetadata:\n  name: login\n  namespace: auth\n", "name: login-session\n  namespace: auth\nspec:\n  name: 'Login: session'", "name: recovery\n  namespace: auth", "name: recovery-session"},
		[]string{filepath.Join(d, "login.yaml") + ": 3 objects (1 Flow, 1 FlowStageBinding, 1 UserLoginStage)", filepath.Join(d, "more", "recovery.yml") + ": 3 objects", "2 files imported (6 objects)"})
	if strings.Index(o.stdout, "name: login\n") > strings.Index(o.stdout, "name: recovery\n") {
		t.Error("the files are not in order")
	}
	if strings.Contains(o.stdout, "status") || strings.Contains(o.stdout, "creationTimestamp") {
		t.Errorf("the manifests carry status:\n%s", o.stdout)
	}
}

// A file that fails prints nothing, and exits 1; with --keep-going, the
// others are printed, and it still exits 1.
func TestFailedFile(t *testing.T) {
	d := dir(t, map[string]string{"a-good.yaml": login, "b-broken.yaml": broken})
	bad := filepath.Join(d, "b-broken.yaml") + ":4:1: invalid YAML: did not find expected ',' or ']'"
	o := runCmd("", "import", d)
	o.check(t, 1, nil, []string{bad, "nothing printed: a file failed (--keep-going prints the objects of the others)"})
	if o.stdout != "" {
		t.Errorf("stdout:\n%s", o.stdout)
	}
	o = runCmd("", "import", "--keep-going", d)
	o.check(t, 1, []string{"name: login-session"}, []string{bad, "1 file imported (3 objects), 1 failed"})
}

// - reads standard input: an export piped from curl.
func TestStdin(t *testing.T) {
	o := runCmd(login, "import", "-", "-n", "team-a")
	o.check(t, 0, []string{"# <stdin>:3: authentik_flows.flow \"login\"", "namespace: team-a"}, []string{"<stdin>: 3 objects"})
}

// authentik's default blueprints, the whole directory: the examples
// conflict with the defaults; --keep-going prints the rest.
func TestAuthentikDirectory(t *testing.T) {
	o := runCmd("", "import", authentik)
	o.check(t, 1, nil, []string{"flows-login-2fa.yaml: not imported:", "7 files imported (34 objects), 2 failed"})
	o = runCmd("", "import", "--keep-going", authentik)
	o.check(t, 1, []string{"name: default-recovery-flow"}, nil)
	o = runCmd("", "import", filepath.Join(authentik, "flow-default-authentication-flow.yaml"), filepath.Join(authentik, "flow-password-change.yaml"))
	o.check(t, 0, []string{"configureFlowRef:\n    name: default-password-change"}, []string{"2 files imported (12 objects)"})
}

func TestUsage(t *testing.T) {
	runCmd("").check(t, 2, nil, []string{"Usage:\n  kubectl stagehand import"})
	runCmd("", "export").check(t, 2, nil, []string{`unknown command "export"`})
	runCmd("", "import").check(t, 2, nil, []string{"name at least one blueprint file or directory"})
	runCmd("", "import", "--bogus", "x").check(t, 2, nil, []string{"unknown flag: --bogus"})
	runCmd("", "import", "-n", "Bad_NS", filepath.Join(authentik, "flow-password-change.yaml")).check(t, 2, nil, []string{`namespace "Bad_NS"`})
	runCmd("", "import", "/no/such/file.yaml").check(t, 1, nil, []string{"/no/such/file.yaml: no such file or directory"})
	runCmd("", "import", t.TempDir()).check(t, 1, nil, []string{"no *.yaml or *.yml file in"})
	runCmd("", "help").check(t, 0, []string{"Commands:\n  import"}, nil)
	runCmd("", "help", "import").check(t, 0, []string{"--keep-going", "-n, --namespace string"}, nil)
	runCmd("", "import", "--help").check(t, 0, nil, []string{"--keep-going"})
	runCmd("", "help").check(t, 0, []string{"version   Print the version and the commit"}, nil)
	// A test binary records no commit: the fallback says so.
	runCmd("", "version").check(t, 0, []string{"kubectl-stagehand dev (commit unknown)\n"}, nil)
}

// TestVersion builds the tool as `make build` does, with the version and
// commit given to the linker, and as a plain go build in the clone, where
// the commit is the one Go records.
func TestVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kubectl-stagehand")
	pkg := "github.com/stagehand-dev/stagehand/internal/version"
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X "+pkg+".version=v9.8.7 -X "+pkg+".commit=0123abc", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || string(out) != "kubectl-stagehand v9.8.7 (commit 0123abc)\n" {
		t.Errorf("kubectl-stagehand version: %v %q", err, out)
	}

	build = exec.Command("go", "build", "-buildvcs=auto", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	revision := ""
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	if revision == "" {
		// GOFLAGS=-buildvcs=false, no git, or a checkout Go does not
		// stamp: the fallback has nothing to read.
		t.Skip("go build recorded no vcs.revision here")
	}
	out, err = exec.Command(bin, "version").CombinedOutput()
	if want := "kubectl-stagehand dev (commit " + revision; err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("kubectl-stagehand version of a plain go build: %v %q, want %q...", err, out, want)
	}
}

// The binary, as kubectl runs a plugin: kubectl-stagehand on the PATH,
// its arguments after "stagehand".
func TestBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kubectl-stagehand")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "import", "-n", "auth", filepath.Join(authentik, "flows-login-conditional-captcha.yaml"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "kind: CaptchaStage") || strings.Contains(stdout.String(), "6LeIxAcTAAAAAGG-vFI1TnRWxMZNFuojJ4WifJWe") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "create Secret default-authentication-flow-captcha with key privateKey") || strings.Contains(stderr.String(), "6LeIxAcTAAAAAGG") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}
