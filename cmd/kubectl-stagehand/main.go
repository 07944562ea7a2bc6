// Command kubectl-stagehand is stagehand's command line tool, and a
// kubectl plugin: on the PATH, it runs as `kubectl stagehand ...` as well
// as on its own.
//
//	kubectl stagehand import [-n NAMESPACE] [--keep-going] [--max-file-size SIZE] [--max-total-size SIZE] [--max-steps N] [--max-depth N] FILE|DIR|- ...
//
// import reads authentik blueprints (files, directories of *.yaml and
// *.yml files, or - for standard input) and prints stagehand manifests
// for kubectl apply or kustomize on standard output, and on standard
// error a report of what each file gave and what it held that the
// manifests do not carry. The conversion is package
// internal/blueprint/imports; docs/import.md describes it.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/stagehand-dev/stagehand/internal/blueprint/imports"
	"github.com/stagehand-dev/stagehand/internal/version"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // a file failed
	exitUsage = 2 // the command line is wrong
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `kubectl-stagehand: stagehand's command line tool (also run as "kubectl stagehand").

Usage:
  kubectl stagehand import [flags] FILE|DIR|- ...

Commands:
  import    Convert authentik blueprints to stagehand manifests.
  version   Print the version and the commit this tool was built from.
  help      Show this help, or a command's: kubectl stagehand help import.
`

const importUsage = `Convert authentik blueprints to stagehand manifests.

Reads blueprint files, directories (every *.yaml and *.yml file in them,
recursively, in order) or - (standard input), and prints the stagehand
objects they declare on standard output, ready for kubectl apply -f - or a
kustomization. Flows, bindings, identification, password, authenticator
validation, captcha and user login stages, and sources are carried; what is
not (other models, policies, state: absent, conditions, !Env and !File
values, permissions, ...) is reported on standard error, with the file and
line, as is what to do (a captcha's private key is never printed: create the
Secret the report names).

Files that authentik applies together import together: a !Find or a pk in
one file that names an object another declares resolves to it.

A file that cannot be imported (invalid YAML, an unknown tag, a !KeyOf to a
missing id, a version other than 1, two files declaring one object
differently) is an error naming the file and line; then nothing is printed,
unless --keep-going, which prints the objects of the other files. Either
way the exit status is 1.

Limits keep a large or hostile input from exhausting memory or time: a file
larger than --max-file-size, or files larger together than
--max-total-size, are not read (the command fails before reading past the
limit); a file whose values take more than --max-steps values to compute,
or nest deeper than --max-depth, fails, naming the entries the limit
stopped. Each is an error (exit status 1): a limit never drops entries
quietly. Raise the limit the error names to import such a file.

Examples:
  kubectl stagehand import blueprints/ > flows.yaml
  kubectl stagehand import -n auth flow-default-authentication-flow.yaml flow-password-change.yaml | kubectl apply -f -
  curl -H "Authorization: Bearer $TOKEN" https://authentik.example.com/api/v3/flows/instances/my-login/export/ | kubectl stagehand import -

Flags:
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "import":
		return runImport(args[1:], stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "kubectl-stagehand "+version.Get().String())
		return exitOK
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "import" {
			importFlags(stdout, &importOptions{}).Usage()
			return exitOK
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "kubectl-stagehand: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// The default input size limits. authentik's own blueprints are a few
// kilobytes to some tens; a megabyte of YAML of small values takes about a
// hundred megabytes of memory to read.
const (
	defaultMaxFileSize  = "1Mi"
	defaultMaxTotalSize = "16Mi"
)

type importOptions struct {
	namespace    string
	keepGoing    bool
	limits       readLimits
	steps, depth int
}

// sizeFlag is a size in bytes, written as a Kubernetes quantity (1Mi,
// 500k, 1048576).
type sizeFlag struct {
	n    *int64
	text string
}

func newSizeFlag(n *int64, def string) *sizeFlag {
	s := &sizeFlag{n: n}
	if err := s.Set(def); err != nil {
		panic(err)
	}
	return s
}

func (s *sizeFlag) String() string { return s.text }
func (s *sizeFlag) Type() string   { return "size" }
func (s *sizeFlag) Set(v string) error {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return fmt.Errorf("want a size in bytes, such as 1Mi, 500k or 1048576: %w", err)
	}
	n, ok := q.AsInt64()
	if !ok || n <= 0 {
		return fmt.Errorf("want a size of at least one byte, not %s", v)
	}
	*s.n, s.text = n, v
	return nil
}

func importFlags(out io.Writer, o *importOptions) *pflag.FlagSet {
	f := pflag.NewFlagSet("import", pflag.ContinueOnError)
	f.SetOutput(out)
	f.StringVarP(&o.namespace, "namespace", "n", "", "Namespace of the objects. Empty leaves it to kubectl apply -n or kustomize.")
	f.BoolVar(&o.keepGoing, "keep-going", false, "Print the objects of the files that import even when others fail (the exit status is still 1).")
	f.Var(newSizeFlag(&o.limits.file, defaultMaxFileSize), "max-file-size", "Refuse a file (or standard input) larger than this, before reading past it.")
	f.Var(newSizeFlag(&o.limits.total, defaultMaxTotalSize), "max-total-size", "Refuse files larger than this together, before reading past it.")
	f.IntVar(&o.steps, "max-steps", imports.DefaultMaxSteps, "Fail a file whose values (!Context, !Find, ...) take more than this many values to compute.")
	f.IntVar(&o.depth, "max-depth", imports.DefaultMaxDepth, "Fail a file whose values nest deeper than this (through its context too).")
	f.Usage = func() {
		fmt.Fprint(out, importUsage)
		f.PrintDefaults()
	}
	return f
}

func runImport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o importOptions
	f := importFlags(stderr, &o)
	if err := f.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "kubectl-stagehand import: %v\n", err)
		return exitUsage
	}
	if o.steps <= 0 || o.depth <= 0 {
		fmt.Fprintln(stderr, "kubectl-stagehand import: --max-steps and --max-depth must be at least 1")
		return exitUsage
	}
	if f.NArg() == 0 {
		fmt.Fprintln(stderr, "kubectl-stagehand import: name at least one blueprint file or directory (or - for standard input)")
		return exitUsage
	}
	files, err := readPaths(f.Args(), stdin, o.limits)
	if err != nil {
		fmt.Fprintf(stderr, "kubectl-stagehand import: %v\n", err)
		return exitError
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "kubectl-stagehand import: no *.yaml or *.yml file in %s\n", strings.Join(f.Args(), ", "))
		return exitError
	}
	res, err := imports.Import(files, imports.Options{Namespace: o.namespace, MaxSteps: o.steps, MaxDepth: o.depth})
	if err != nil {
		fmt.Fprintf(stderr, "kubectl-stagehand import: %v\n", err)
		return exitUsage
	}
	imports.WriteReport(stderr, res)
	failed := res.Err() != nil
	if failed && !o.keepGoing {
		fmt.Fprintln(stderr, "nothing printed: a file failed (--keep-going prints the objects of the others)")
		return exitError
	}
	out, err := imports.Manifests(res.Objects())
	if err != nil {
		fmt.Fprintf(stderr, "kubectl-stagehand import: %v\n", err)
		return exitError
	}
	if len(out) > 0 {
		if _, err := stdout.Write(out); err != nil {
			fmt.Fprintf(stderr, "kubectl-stagehand import: writing the manifests: %v\n", err)
			return exitError
		}
	}
	if failed {
		return exitError
	}
	return exitOK
}

// readLimits bound what readPaths reads, in bytes: each file, and all of
// them.
type readLimits struct{ file, total int64 }

// readPaths reads the files named: a file as it is, a directory's *.yaml
// and *.yml files (as authentik discovers blueprints), recursively, in
// lexical order, and - as standard input. A file named twice is read once.
// Each is read through a limit, so that a file larger than the limits is
// refused having read at most one byte past them.
func readPaths(paths []string, stdin io.Reader, limits readLimits) ([]imports.File, error) {
	var out []imports.File
	seen := map[string]bool{}
	var total int64
	add := func(name string, open func() (io.ReadCloser, error)) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		r, err := open()
		if err != nil {
			return err
		}
		defer r.Close()
		limit := min(limits.file, limits.total-total)
		data, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if int64(len(data)) > limit {
			if limit == limits.file {
				return fmt.Errorf("%s: larger than %d bytes, the limit for one file (--max-file-size=%s): not read; raise --max-file-size to import it", name, limits.file, quantity(limits.file))
			}
			return fmt.Errorf("%s: the files come to more than %d bytes, the limit for all of them (--max-total-size=%s): not read; raise --max-total-size, or import fewer files at once", name, limits.total, quantity(limits.total))
		}
		total += int64(len(data))
		out = append(out, imports.File{Name: name, Data: data})
		return nil
	}
	openFile := func(path string) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return os.Open(path) }
	}
	for _, p := range paths {
		if p == "-" {
			if err := add("<stdin>", func() (io.ReadCloser, error) { return io.NopCloser(stdin), nil }); err != nil {
				return nil, err
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if err := add(p, openFile(p)); err != nil {
				return nil, err
			}
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Sort(found)
		for _, path := range found {
			if err := add(path, openFile(path)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// quantity writes a size as the flags take it: 1Mi.
func quantity(n int64) string { return resource.NewQuantity(n, resource.BinarySI).String() }
