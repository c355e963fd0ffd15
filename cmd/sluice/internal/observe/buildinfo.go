package observe

import (
	"runtime"
	"runtime/debug"
)

// BuildInfo describes a build of sluice for sluice_build_info, as sluice
// version prints it.
type BuildInfo struct {
	Version   string // module version, "(devel)" from a working tree
	Revision  string // VCS revision, with "-modified" when the tree had changes
	GoVersion string
}

// ReadBuildInfo returns the build information embedded in this binary;
// what is unknown is "unknown".
func ReadBuildInfo() BuildInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return buildInfoOf(info)
}

// buildInfoOf converts info (nil when the binary has none).
func buildInfoOf(info *debug.BuildInfo) BuildInfo {
	b := BuildInfo{Version: "unknown", Revision: "unknown", GoVersion: runtime.Version()}
	if info == nil {
		return b
	}
	if info.Main.Version != "" {
		b.Version = info.Main.Version
	}
	if info.GoVersion != "" {
		b.GoVersion = info.GoVersion
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Revision != "unknown" {
		b.Revision += "-modified"
	}
	return b
}
