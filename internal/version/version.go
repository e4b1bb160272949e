// Package version holds the build's version, set by the Makefile through
// -ldflags, with the module's build info as a fallback.
package version

import "runtime/debug"

// Version is set at link time (-X .../internal/version.Version=...).
var Version = ""

// String returns the version of this build.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
		if bi.Main.Version != "" {
			return bi.Main.Version
		}
	}
	return "dev"
}
