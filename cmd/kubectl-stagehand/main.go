// Command kubectl-stagehand is stagehand's command line tool, and a
// kubectl plugin: on the PATH, it runs as `kubectl stagehand ...` as well
// as on its own.
//
//	kubectl stagehand import [-n NAMESPACE] [--keep-going] FILE|DIR|- ...
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
			importFlags(stdout).Usage()
			return exitOK
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "kubectl-stagehand: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

type importOptions struct {
	namespace string
	keepGoing bool
}

func importFlags(out io.Writer) *pflag.FlagSet {
	f := pflag.NewFlagSet("import", pflag.ContinueOnError)
	f.SetOutput(out)
	f.StringP("namespace", "n", "", "Namespace of the objects. Empty leaves it to kubectl apply -n or kustomize.")
	f.Bool("keep-going", false, "Print the objects of the files that import even when others fail (the exit status is still 1).")
	f.Usage = func() {
		fmt.Fprint(out, importUsage)
		f.PrintDefaults()
	}
	return f
}

func runImport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := importFlags(stderr)
	if err := f.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "kubectl-stagehand import: %v\n", err)
		return exitUsage
	}
	var o importOptions
	o.namespace, _ = f.GetString("namespace")
	o.keepGoing, _ = f.GetBool("keep-going")
	if f.NArg() == 0 {
		fmt.Fprintln(stderr, "kubectl-stagehand import: name at least one blueprint file or directory (or - for standard input)")
		return exitUsage
	}
	files, err := readPaths(f.Args(), stdin)
	if err != nil {
		fmt.Fprintf(stderr, "kubectl-stagehand import: %v\n", err)
		return exitError
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "kubectl-stagehand import: no *.yaml or *.yml file in %s\n", strings.Join(f.Args(), ", "))
		return exitError
	}
	res, err := imports.Import(files, imports.Options{Namespace: o.namespace})
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

// readPaths reads the files named: a file as it is, a directory's *.yaml
// and *.yml files (as authentik discovers blueprints), recursively, in
// lexical order, and - as standard input. A file named twice is read once.
func readPaths(paths []string, stdin io.Reader) ([]imports.File, error) {
	var out []imports.File
	seen := map[string]bool{}
	add := func(name string, read func() ([]byte, error)) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		data, err := read()
		if err != nil {
			return err
		}
		out = append(out, imports.File{Name: name, Data: data})
		return nil
	}
	for _, p := range paths {
		if p == "-" {
			if err := add("<stdin>", func() ([]byte, error) { return io.ReadAll(stdin) }); err != nil {
				return nil, fmt.Errorf("reading standard input: %w", err)
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			if err := add(p, func() ([]byte, error) { return os.ReadFile(p) }); err != nil {
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
			if err := add(path, func() ([]byte, error) { return os.ReadFile(path) }); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
