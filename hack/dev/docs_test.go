//go:build linux && e2e

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// TestDocs runs the command lines of README.md and docs/ as a person pastes
// them, in order, from the clone's root, in a second terminal beside `make
// dev`, with the API on another port than the default (as DEV_API_ADDR
// puts it): once against a `make dev` serving plain HTTP, and the HTTPS
// walkthrough of docs/api.md against `DEV_API_TLS=self-signed make dev`.
//
// Each file's lines run in one shell, so that what one line sets (export
// KUBECONFIG=..., STAGE=$(...)) the next reads. A line passes when it exits
// 0, or fails as the doc shows it failing (curl: (60) ..., "is invalid"),
// and, where the doc shows what it prints, when the first line printed is
// the doc's, but for numbers, UUIDs and spacing.
//
// What is checked: every `$ ` line of a console block and every line of an
// sh block of README.md, docs/api.md and docs/status.md, except the ones
// skipped below (skip says why for each), which need what a test does not
// have: another `make` (make dev is the session itself), a real cluster or
// the internet, or the import example's files (its own test is
// cmd/kubectl-stagehand's); and the bin/helm lines when there is no
// bin/helm (`make helm`).
func TestDocs(t *testing.T) {
	// The docs ask for kubectl and curl beside Go (README, Quickstart).
	for _, tool := range []string{"kubectl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s on the PATH: the docs' lines need it (%v)", tool, err)
		}
	}
	assets, manager, dev := devBinaries(t)
	plain := startDev(t, assets, manager, dev, tlsNone)
	secure := startDev(t, assets, manager, dev, tlsSelfSigned)

	var checked, skipped int
	for _, file := range []string{"README.md", "docs/api.md", "docs/status.md", "docs/deploy.md"} {
		for _, s := range []*devSession{plain, secure} {
			cmds := docCommands(t, file, s.tls == tlsSelfSigned)
			var run []docCommand
			for _, c := range cmds {
				if why := skip(c.text, s.helm); why != "" {
					t.Logf("%s:%d: not checked (%s): %s", file, c.line, why, firstLine(c.text))
					skipped++
					continue
				}
				run = append(run, c)
			}
			if len(run) == 0 {
				continue
			}
			checked += len(run)
			s.run(t, file, run)
		}
	}
	// The lines make dev prints work as printed too.
	for _, s := range []*devSession{plain, secure} {
		s.run(t, "make dev's output", []docCommand{{line: 0, text: s.curl, output: []string{`{"pk":"`}}})
	}
	t.Logf("%d lines checked, %d not", checked, skipped)
	if checked < 30 {
		t.Errorf("only %d lines checked: the extraction no longer finds the docs' commands", checked)
	}
}

// skip says why a command line is not checked, or "" when it is. bin/helm
// lines are checked when the clone has a bin/helm (`make helm`).
func skip(cmd string, haveHelm bool) string {
	switch {
	case strings.HasPrefix(cmd, "openssl ") && !haveOpenSSL():
		return "no openssl on the PATH"
	case strings.HasPrefix(cmd, "make "):
		return "make: make dev is the running session"
	case strings.HasPrefix(cmd, "bin/helm ") && !haveHelm:
		return "no bin/helm: run `make helm` first to check these"
	case strings.Contains(cmd, "app.kubernetes.io/instance=try") && !haveHelm:
		return "reads what the bin/helm install above made: run `make helm` first to check it"
	case strings.HasPrefix(cmd, "git clone"), strings.Contains(cmd, "./stagehand/dist/chart"):
		return "no release is tagged yet"
	case strings.Contains(cmd, "port-forward"), strings.Contains(cmd, ".svc:9000"):
		return "needs the manager's pods, in a real cluster"
	case strings.Contains(cmd, "authentik-reader"):
		return "needs a namespace of authentik's, in a real cluster"
	case strings.Contains(cmd, "kubectl stagehand"):
		return "the import example: its own test is cmd/kubectl-stagehand's"
	case strings.Contains(cmd, "https://github.com/"), strings.Contains(cmd, "example.com"):
		return "reaches the internet"
	case strings.HasPrefix(cmd, "kubectl create namespace stagehand-system"), strings.HasPrefix(cmd, "kubectl label namespace stagehand-system"):
		return "installs in a real cluster"
	case strings.Contains(cmd, "-n authentik"):
		return "needs a namespace of authentik's, in a real cluster"
	}
	return ""
}

func haveOpenSSL() bool {
	_, err := exec.LookPath("openssl")
	return err == nil
}

// A docCommand is one command line of a doc, with what the doc shows it
// printing (console blocks only).
type docCommand struct {
	line   int
	text   string
	output []string
}

// tlsMarker, on a line of its own in a doc, says that the commands after
// it in its section need `DEV_API_TLS=self-signed make dev`.
const tlsMarker = "<!-- checked with DEV_API_TLS=self-signed make dev -->"

var heredoc = regexp.MustCompile(`<<-?'?([A-Za-z_]+)'?\s*$`)

// docCommands extracts the command lines of a markdown file: `$ ` lines of
// console blocks (with the lines after them, up to the next `$ ` line, as
// their output) and every line of sh blocks; a line ending in a backslash
// goes on on the next, a heredoc up to its terminator. tls selects the
// lines after a tlsMarker, or the others.
func docCommands(t *testing.T, file string, tls bool) []docCommand {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Root(), file))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	// The lines after the marker, to the end of its section (## heading),
	// are for `DEV_API_TLS=self-signed make dev`.
	tlsLine := make([]bool, len(lines))
	on := false
	for i, l := range lines {
		if strings.HasPrefix(l, "## ") || strings.HasPrefix(l, "# ") {
			on = false
		}
		if strings.TrimSpace(l) == tlsMarker {
			on = true
		}
		tlsLine[i] = on
	}

	var out []docCommand
	block := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "```") {
			if block == "" {
				block = strings.TrimSpace(strings.TrimPrefix(l, "```"))
				if block == "" {
					block = "text"
				}
			} else {
				block = ""
			}
			continue
		}
		var cmd string
		switch {
		case block == "console" && strings.HasPrefix(l, "$ "):
			cmd = strings.TrimPrefix(l, "$ ")
		case block == "sh" && strings.TrimSpace(l) != "" && !strings.HasPrefix(strings.TrimSpace(l), "#"):
			cmd = l
		default:
			continue
		}
		c := docCommand{line: i + 1}
		for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
			i++
			cmd += "\n" + lines[i]
		}
		if m := heredoc.FindStringSubmatch(cmd); m != nil {
			for i+1 < len(lines) {
				i++
				cmd += "\n" + lines[i]
				if strings.TrimSpace(lines[i]) == m[1] {
					break
				}
			}
		}
		c.text = cmd
		if block == "console" {
			for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "$ ") && !strings.HasPrefix(lines[i+1], "```") {
				i++
				c.output = append(c.output, lines[i])
			}
		}
		if tlsLine[c.line-1] == tls {
			out = append(out, c)
		}
	}
	return out
}

// A devSession is `make dev`'s program running for a test, its --dir at
// bin/dev of a directory that stands for the clone.
type devSession struct {
	tls   string
	clone string // the clone's root, as the docs' lines see it
	helm  bool   // whether the clone has a bin/helm
	curl  string // the curl line make dev printed
}

// startDev runs make dev's program (dev, running manager, with the control
// plane in assets) on a free port (never the default 9000), with --dir the
// clone's bin/dev, where clone is a directory of links to the repository's
// files; it stops at the test's end.
func startDev(t *testing.T, assets, manager, dev, tls string) *devSession {
	t.Helper()
	root := testenv.Root()
	clone := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "bin" || e.Name() == ".git" {
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(clone, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(clone, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(root, "bin", "helm"))
	haveHelm := err == nil
	if haveHelm {
		if err := os.Symlink(filepath.Join(root, "bin", "helm"), filepath.Join(bin, "helm")); err != nil {
			t.Fatal(err)
		}
	}
	addr := testenv.FreeAddr(t)
	for strings.HasSuffix(addr, ":9000") {
		addr = testenv.FreeAddr(t)
	}
	run := runDev(t, dev, root, "--manager="+manager, "--assets="+assets, "--dir="+filepath.Join(bin, "dev"),
		"--samples=config/samples", "--config=config", "--api-bind-address="+addr, "--api-auth=kubernetes",
		"--api-tls="+tls, "--timeout=2m")
	t.Logf("make dev --api-tls=%s on %s printed:\n%s", tls, addr, strings.Join(run.printed, "\n"))
	return &devSession{tls: tls, clone: clone, curl: run.curl, helm: haveHelm}
}

// mutating matches the lines that change the cluster: run once each, where
// a line that only reads is run again until it passes or 15 seconds have
// gone by (a person pasting lines gives the controllers that long; a test
// is quicker).
var mutating = regexp.MustCompile(`^(kubectl (-n \S+ )?(apply|delete|label|create (namespace|configmap|serviceaccount|clusterrolebinding|rolebinding))|bin/helm (install|uninstall|upgrade))\b`)

// run runs cmds in order, in the clone's root, as in one terminal: each in
// a bash that starts with the variables the previous lines left (export
// KUBECONFIG=..., STAGE=$(...)), in a new terminal's environment (no
// KUBECONFIG until a line exports it). It checks each.
func (s *devSession) run(t *testing.T, file string, cmds []docCommand) {
	t.Helper()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	home := t.TempDir()
	for _, c := range cmds {
		where := fmt.Sprintf("%s:%d (--api-tls=%s)", file, c.line, s.tls)
		deadline := time.Now().Add(15 * time.Second)
		for {
			rc, got := s.runOne(t, c.text, state, home)
			msg := check(c, rc, got)
			if msg == "" {
				t.Logf("%s: ok: %s", where, firstLine(c.text))
				break
			}
			if mutating.MatchString(c.text) || time.Now().After(deadline) {
				t.Errorf("%s: %s\n  $ %s\n%s", where, msg, c.text, indent(got))
				break
			}
			time.Sleep(250 * time.Millisecond) // polling: the controllers catch up
		}
	}
}

// runOne runs one line in bash with the variables of state, and saves them
// back; it returns its exit status and what it printed: its standard
// output, or its standard error when it printed nothing else.
func (s *devSession) runOne(t *testing.T, line, state, home string) (int, string) {
	t.Helper()
	script := fmt.Sprintf("[ -f %[1]s ] && . %[1]s 2>/dev/null\n{\n%[2]s\n} </dev/null\nrc=$?\n"+
		"declare -p | grep -Ev '^declare -[a-zA-Z]*r' > %[1]s.new 2>/dev/null; mv %[1]s.new %[1]s\nexit $rc\n", state, line)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-c", script)
	sh.Dir = s.clone
	sh.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "PWD=" + s.clone}
	var stderr strings.Builder
	sh.Stderr = &stderr
	out, err := sh.Output()
	if len(out) == 0 {
		// What a terminal shows: curl's errors, kubectl's refusals. (Not
		// otherwise: curl prints its progress there, away from a terminal.)
		out = []byte(stderr.String())
	}
	rc := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("bash: %v", err)
		}
		rc = exit.ExitCode()
	}
	return rc, string(out)
}

// check compares what a line did with what its doc shows.
func check(c docCommand, rc int, got string) string {
	var want string
	for _, l := range c.output {
		if strings.TrimSpace(l) != "" {
			want = l
			break
		}
	}
	fails := strings.HasPrefix(want, "curl: (") || strings.Contains(want, " is invalid: ") || strings.HasPrefix(want, "Error from server")
	switch {
	case fails && rc == 0:
		return "the doc shows it failing; it exited 0"
	case !fails && rc != 0:
		return fmt.Sprintf("exited %d", rc)
	}
	if want == "" || want == "..." {
		return ""
	}
	first := strings.SplitN(strings.TrimLeft(got, "\n"), "\n", 2)[0]
	if normalize(first) != normalize(want) && !(strings.HasPrefix(want, `{"pk":"`) && strings.HasPrefix(first, want)) {
		return fmt.Sprintf("printed %q first, the doc shows %q", first, want)
	}
	return ""
}

var (
	uuids  = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	digits = regexp.MustCompile(`[0-9]+`)
	months = regexp.MustCompile(`\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b`)
)

// normalize drops what differs from run to run: UUIDs, numbers (ages,
// times, counts), month names, spacing.
func normalize(s string) string {
	s = uuids.ReplaceAllString(s, "U")
	s = digits.ReplaceAllString(s, "N")
	s = months.ReplaceAllString(s, "M")
	return strings.Join(strings.Fields(s), " ")
}

func firstLine(s string) string { return strings.SplitN(s, "\n", 2)[0] }

func indent(s string) string {
	if s == "" {
		return "  (nothing)"
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
