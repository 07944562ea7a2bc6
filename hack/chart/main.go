// Command chart writes stagehand's Helm chart (dist/chart) and its one-file
// install manifest (dist/install.yaml) from config/, so that kustomize stays
// the one source of truth and neither can drift from it:
//
//	go run ./hack/chart --version=0.1.0 --chart=dist/chart --install=dist/install.yaml
//
// The chart's objects are config/default's, rendered with the kustomize
// library (hack/manifests), turned into templates where a value decides
// something (the image, replicas, resources, the manager's flags, the API's
// TLS, ...); its values.yaml takes its defaults from config/default. A new
// CRD, RBAC rule, environment variable or probe in config/ reaches the chart
// when it is regenerated, with no change here. The Deployment, the API and
// metrics Services (labelled app.kubernetes.io/component api and metrics)
// and the flags the values set are what this generator knows by name.
//
// `make chart` and `make release` run it; `make verify` fails when the
// committed output differs from what it writes.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

func main() {
	version := flag.String("version", "", "The release's version, without the v (0.1.0): the chart's version, and v<version> its appVersion and the image tag install.yaml pins.")
	chartDir := flag.String("chart", "", "Directory to write the Helm chart to (replaced entirely).")
	install := flag.String("install", "", "File to write the one-file install manifest to.")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: chart --version=X.Y.Z [--chart=DIR] [--install=FILE]\n\nWrites stagehand's Helm chart and install manifest from config/.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*version, *chartDir, *install); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

var semver = regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)

func run(version, chartDir, install string) error {
	if !semver.MatchString(version) {
		return fmt.Errorf("--version=%q is not a semantic version such as 0.1.0 (no leading v)", version)
	}
	if chartDir == "" && install == "" {
		return errors.New("nothing to write: give --chart, --install or both")
	}
	// The repository's top directory: make runs the generator there.
	root := "."
	if chartDir != "" {
		files, err := Chart(root, version)
		if err != nil {
			return err
		}
		if err := writeDir(chartDir, files); err != nil {
			return err
		}
	}
	if install != "" {
		b, err := InstallYAML(root, version)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(install), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(install, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeDir replaces dir with files (paths relative to dir): a file that the
// generator no longer writes does not linger.
func writeDir(dir string, files map[string][]byte) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, files[p], 0o644); err != nil {
			return err
		}
	}
	return nil
}
