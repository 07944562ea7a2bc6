// Package version says which build of stagehand is running: the version and
// the commit it was built from, for the manager's --version and
// `kubectl stagehand version`.
//
// `make build` (and `make dev`, and the container image) set both with
//
//	-ldflags "-X github.com/stagehand-dev/stagehand/internal/version.version=v0.1.0 -X github.com/stagehand-dev/stagehand/internal/version.commit=<sha>"
//
// A plain `go build` or `go install` sets neither: the commit is then the
// one Go recorded in the binary (vcs.revision, with vcs.modified when the
// tree had changes), and the version the module's, or "dev".
package version

import (
	"runtime/debug"
)

// Set at link time (-ldflags -X); empty in a plain go build.
var (
	version string
	commit  string
)

// Info is a build's version and commit.
type Info struct {
	// Version is the release (v0.1.0), what `git describe` said of the
	// tree it was built from, or "dev".
	Version string
	// Commit is the full commit hash, with "-dirty" when the tree had
	// changes; "unknown" when nothing recorded it.
	Commit string
}

// Get returns the running build's version and commit.
func Get() Info {
	info, _ := debug.ReadBuildInfo()
	return resolve(version, commit, info)
}

// String is "v0.1.0 (commit 4fc13a4…)".
func (i Info) String() string {
	return i.Version + " (commit " + i.Commit + ")"
}

// resolve prefers what the linker was given, then what Go recorded in the
// binary.
func resolve(version, commit string, info *debug.BuildInfo) Info {
	out := Info{Version: version, Commit: commit}
	if info != nil {
		if out.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			out.Version = info.Main.Version
		}
		if out.Commit == "" {
			var revision, modified string
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					revision = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if revision != "" {
				out.Commit = revision
				if modified == "true" {
					out.Commit += "-dirty"
				}
			}
		}
	}
	if out.Version == "" {
		out.Version = "dev"
	}
	if out.Commit == "" {
		out.Commit = "unknown"
	}
	return out
}
