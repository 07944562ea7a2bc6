package main

import (
	"bytes"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
	// Go stamps a clean checkout with a pseudo-version of the commit, and a
	// tree with changes with "(devel)", which stagehand prints as "dev".
	wantVersion := "dev"
	if v := info.Main.Version; v != "" && v != "(devel)" {
		wantVersion = v
	}
	out, err = exec.Command(bin, "version").CombinedOutput()
	if want := "kubectl-stagehand " + wantVersion + " (commit " + revision; err != nil || !strings.HasPrefix(string(out), want) {
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

// endless is standard input that never ends (a 200 MB scalar, and more),
// counting what is read of it; past max it fails, so that a reader that
// reads it all stops there.
type endless struct {
	read, max int64
	head      string
}

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.max {
		return 0, fmt.Errorf("read %d bytes of standard input: past the limit", e.read)
	}
	n := 0
	for n < len(p) {
		if e.read < int64(len(e.head)) {
			c := copy(p[n:], e.head[e.read:])
			n += c
			e.read += int64(c)
			continue
		}
		p[n] = 'a'
		n++
		e.read++
	}
	return n, nil
}

// A file larger than --max-file-size is refused having read at most one
// byte past the limit, whatever its size; so is standard input.
func TestMaxFileSize(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		limit int64
		text  string
	}{
		{[]string{"import", "-"}, 1 << 20, "1Mi"},
		{[]string{"import", "--max-file-size", "64Ki", "-"}, 64 << 10, "64Ki"},
	} {
		in := &endless{max: 4 * tc.limit, head: "version: 1\ncontext: {big: "}
		var out, errOut bytes.Buffer
		code := run(tc.args, in, &out, &errOut)
		want := fmt.Sprintf("<stdin>: larger than %d bytes, the limit for one file (--max-file-size=%s): not read; raise --max-file-size to import it", tc.limit, tc.text)
		if code != exitError || !strings.Contains(errOut.String(), want) {
			t.Errorf("%v: exit status %d, stderr:\n%s\nwant %s", tc.args, code, errOut.String(), want)
		}
		if in.read > tc.limit+1 {
			t.Errorf("%v: read %d bytes of standard input; the limit is %d", tc.args, in.read, tc.limit)
		}
	}

	// A file of 200 MB (sparse: it takes no room) is refused with what
	// one limit's worth of reading allocates.
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("version: 1\ncontext: {big: "), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 200<<20); err != nil {
		t.Fatal(err)
	}
	var o outcome
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	o = runCmd("", "import", big)
	runtime.ReadMemStats(&after)
	o.check(t, exitError, nil, []string{big + ": larger than 1048576 bytes, the limit for one file (--max-file-size=1Mi)"})
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("refusing a 200 MB file allocated %d bytes", alloc)
	}
	runCmd("", "import", "--max-file-size", "lots", big).check(t, exitUsage, nil, []string{"want a size in bytes"})
}

// Files larger together than --max-total-size are refused: the one that
// goes past the limit is not read.
func TestMaxTotalSize(t *testing.T) {
	pad := "\n# " + strings.Repeat("x", 600) + "\n"
	d := dir(t, map[string]string{"a.yaml": login + pad, "b.yaml": login + pad, "c.yaml": login + pad})
	o := runCmd("", "import", "--max-total-size", "2Ki", d)
	o.check(t, exitError, nil, []string{filepath.Join(d, "c.yaml") + ": the files come to more than 2048 bytes, the limit for all of them (--max-total-size=2Ki): not read; raise --max-total-size, or import fewer files at once"})
	if o.stdout != "" {
		t.Errorf("stdout:\n%s", o.stdout)
	}
	runCmd("", "import", "--max-total-size", "4Ki", d).check(t, exitOK, nil, []string{"3 files imported"})
}

// bigFlow is one flow of n user login stages, each bound by a !Find of its
// name: a large document, but a harmless one.
func bigFlow(n int) string {
	var b strings.Builder
	b.WriteString("version: 1\nentries:\n- model: authentik_flows.flow\n  identifiers: {slug: big}\n  attrs: {name: Big, title: Big, designation: authentication}\n")
	for i := range n {
		fmt.Fprintf(&b, "- model: authentik_stages_user_login.userloginstage\n  identifiers: {name: s%d}\n", i)
	}
	for i := range n {
		fmt.Fprintf(&b, "- model: authentik_flows.flowstagebinding\n  identifiers: {target: !Find [authentik_flows.flow, [slug, big]], stage: !Find [authentik_stages_user_login.userloginstage, [name, s%d]], order: %d}\n", i, i)
	}
	return b.String()
}

// A large but harmless document imports whole: every binding finds its
// stage. (Each !Find computed the names of the stages before it again, so
// that 3,000 of them ran out of steps and the last bindings became
// references to stages in authentik, with exit status 0.) When a limit
// stops entries, the file fails, naming them and the flag to raise.
func TestLargeDocument(t *testing.T) {
	const n = 3000
	o := runCmd(bigFlow(n), "import", "-")
	o.check(t, exitOK, nil, []string{fmt.Sprintf("<stdin>: %d objects (1 Flow, %d FlowStageBindings, %d UserLoginStages)", 2*n+1, n, n)})
	if got := strings.Count(o.stdout, "\nkind: "); got != 2*n+1 {
		t.Errorf("%d objects printed, want %d", got, 2*n+1)
	}
	if strings.Contains(o.stderr, "missing") || strings.Contains(o.stdout, "model: authentik_stages_user_login") {
		t.Errorf("a binding does not find its stage:\n%s", o.stderr[:min(len(o.stderr), 2000)])
	}

	o = runCmd(bigFlow(50), "import", "--max-steps", "300", "-")
	o.check(t, exitError, nil, []string{
		"<stdin>: not imported:",
		"a limit stopped ",
		"entries, so the file is not imported: computing them takes more than 300 values (--max-steps); raise --max-steps to import it. Stopped: line ",
		"nothing printed: a file failed",
	})
	if o.stdout != "" {
		t.Errorf("stdout:\n%s", o.stdout)
	}
	runCmd(bigFlow(50), "import", "--max-steps", "0", "-").check(t, exitUsage, nil, []string{"--max-steps and --max-depth must be at least 1"})
}

// The README's import example works as printed, pasted from the clone's
// root: each command of its console block is run (the import) or checked
// (the others), and every line of output it shows, but "...", is in what
// the import prints, in order.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## From authentik's blueprints")
	_, block, ok1 := strings.Cut(section, "```console\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok1 || !ok2 {
		t.Fatal("README.md has no console block under \"## From authentik's blueprints\"")
	}
	t.Chdir("../..")
	var last *outcome
	var shown []string
	checkShown := func() {
		if last == nil {
			return
		}
		rest := last.stderr
		for _, line := range shown {
			if strings.TrimSpace(line) == "..." {
				continue
			}
			i := strings.Index(rest, line+"\n")
			if i < 0 {
				t.Errorf("the README shows %q, which the import does not print (in that order):\n%s", line, last.stderr)
				return
			}
			rest = rest[i+len(line):]
		}
	}
	onPath := false
	var dirs []string
	for _, line := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
		cmd, isCmd := strings.CutPrefix(line, "$ ")
		if !isCmd {
			shown = append(shown, line)
			continue
		}
		checkShown()
		last, shown = nil, nil
		switch {
		case cmd == "export PATH=$PWD/bin:$PATH":
			// make build and make dev put the command there.
			makefile, err := os.ReadFile("Makefile")
			if err != nil || !strings.Contains(string(makefile), "-o $(LOCALBIN)/kubectl-stagehand ./cmd/kubectl-stagehand") {
				t.Errorf("the Makefile does not build bin/kubectl-stagehand (%v)", err)
			}
			onPath = true
		case cmd == "kubectl create namespace auth":
			// The cluster's: make dev's.
		case strings.HasPrefix(cmd, "cd "):
			dir := strings.TrimPrefix(cmd, "cd ")
			wd, _ := os.Getwd()
			if dir == "-" {
				if len(dirs) == 0 {
					t.Fatal("cd - before any cd")
				}
				dir, dirs = dirs[len(dirs)-1], dirs[:len(dirs)-1]
			} else {
				dirs = append(dirs, wd)
			}
			t.Chdir(dir)
		case strings.HasPrefix(cmd, "kubectl stagehand import "):
			if !onPath {
				t.Errorf("%q runs before bin/ is on the PATH", cmd)
			}
			args, _, _ := strings.Cut(cmd, " | kubectl apply -f -")
			o := runCmd("", strings.Fields(strings.TrimPrefix(args, "kubectl stagehand "))...)
			if o.code != exitOK {
				t.Errorf("%s: exit status %d\n%s", cmd, o.code, o.stderr)
			}
			last = &o
		default:
			t.Errorf("the README runs %q, which this test does not know: teach it, or change the README", cmd)
		}
	}
	checkShown()
}

// docs/import.md's usage examples work pasted from the clone's root (all
// but the one that reads an authentik of yours), and the whole tree it
// says fails does fail, naming the two examples.
func TestImportDocsUsage(t *testing.T) {
	docs, err := os.ReadFile("../../docs/import.md")
	if err != nil {
		t.Fatal(err)
	}
	_, usage, ok := strings.Cut(string(docs), "## Usage")
	usage, _, ok1 := strings.Cut(usage, "\n## ")
	_, block, ok2 := strings.Cut(usage, "```sh\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok1 || !ok2 || !ok3 {
		t.Fatal("docs/import.md's Usage has no sh block")
	}
	t.Chdir("../..")
	ran := 0
	for _, line := range strings.Split(block, "\n") {
		cmd, ok := strings.CutPrefix(line, "kubectl stagehand ")
		cmd, _, _ = strings.Cut(cmd, " | kubectl apply -f -")
		cmd, _, _ = strings.Cut(cmd, " > ")
		if !ok || strings.HasSuffix(cmd, " -") {
			continue
		}
		var args []string
		for _, a := range strings.Fields(cmd) {
			if strings.Contains(a, "*") {
				matches, _ := filepath.Glob(a)
				if len(matches) == 0 {
					t.Errorf("%s: %s matches no file", line, a)
				}
				args = append(args, matches...)
				continue
			}
			args = append(args, a)
		}
		o := runCmd("", args...)
		if o.code != exitOK || o.stdout == "" {
			t.Errorf("%s: exit status %d\n%s", line, o.code, o.stderr)
		}
		ran++
	}
	if ran != 2 {
		t.Errorf("ran %d of the examples, want 2", ran)
	}
	const whole = "`kubectl stagehand import -n auth internal/blueprint/testdata/authentik`"
	if !strings.Contains(usage, whole) {
		t.Fatalf("docs/import.md no longer says %s fails", whole)
	}
	runCmd("", strings.Fields(strings.Trim(whole, "`"))[2:]...).check(t, exitError, nil, []string{
		"flows-login-2fa.yaml: not imported:", "flows-login-conditional-captcha.yaml: not imported:", "default-authentication-flow",
	})
}

// docs/import.md's table of limits gives the flags' defaults.
func TestLimitsDocumented(t *testing.T) {
	docs, err := os.ReadFile("../../docs/import.md")
	if err != nil {
		t.Fatal(err)
	}
	f := importFlags(io.Discard, &importOptions{})
	for _, name := range []string{"max-file-size", "max-total-size", "max-steps", "max-depth"} {
		row := fmt.Sprintf("| `--%s` | `%s` |", name, f.Lookup(name).DefValue)
		if !strings.Contains(string(docs), row) {
			t.Errorf("docs/import.md lacks the row %s", row)
		}
	}
}
