package version

import (
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	built := func(mainVersion string, settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/stagehand-dev/stagehand", Version: mainVersion}}
		for i := 0; i+1 < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	for _, tc := range []struct {
		name            string
		version, commit string
		info            *debug.BuildInfo
		want            Info
	}{
		{"the linker's values win", "v0.1.0", "abc123", built("(devel)", "vcs.revision", "def456"), Info{"v0.1.0", "abc123"}},
		{"a go build in a clone: Go's vcs.revision", "", "", built("(devel)", "vcs.revision", "def456", "vcs.modified", "false"), Info{"dev", "def456"}},
		{"a changed tree is dirty", "", "", built("(devel)", "vcs.revision", "def456", "vcs.modified", "true"), Info{"dev", "def456-dirty"}},
		{"go install of a tag: the module's version", "", "", built("v0.2.0"), Info{"v0.2.0", "unknown"}},
		{"a version but no commit from the linker", "v0.1.0", "", built("(devel)", "vcs.revision", "def456"), Info{"v0.1.0", "def456"}},
		{"nothing recorded", "", "", nil, Info{"dev", "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolve(tc.version, tc.commit, tc.info); got != tc.want {
				t.Errorf("resolve = %+v, want %+v", got, tc.want)
			}
		})
	}
	if got, want := (Info{"v0.1.0", "abc123"}).String(), "v0.1.0 (commit abc123)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
