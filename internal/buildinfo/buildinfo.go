// Package buildinfo tells which keyrot this is: its version, the commit it
// was built from, when, with which Go, and whether the tree had local changes.
//
// The facts come from the Go build information embedded in every binary
// (runtime/debug.ReadBuildInfo: the main module's version, and the vcs.*
// settings that `go build` records inside a Git checkout). A release build
// sets them explicitly, which wins over the embedded ones:
//
//	go build -ldflags "-X github.com/keyrot/keyrot/internal/buildinfo.version=v1.2.3 \
//	  -X github.com/keyrot/keyrot/internal/buildinfo.commit=$(git rev-parse HEAD) \
//	  -X github.com/keyrot/keyrot/internal/buildinfo.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" ./cmd/keyrot
//
// scripts/release.sh and .goreleaser.yaml pass exactly these flags.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
)

// Set with -ldflags -X at release time; empty means "not set, use the build info".
var (
	version string
	commit  string
	date    string
)

// Dev is the version of a build that carries no version: go build or go run
// in a checkout, without release flags.
const Dev = "dev"

// Info describes one build of keyrot.
type Info struct {
	// Version is the release version (v1.2.3), the module version go install
	// recorded, a pseudo-version derived from Git, or Dev.
	Version string `json:"version"`
	// Commit is the full Git revision, or empty when unknown.
	Commit string `json:"commit,omitempty"`
	// Date is when the commit was made (vcs.time) or, for a release, when it
	// was built; RFC 3339 in UTC; empty when unknown.
	Date string `json:"date,omitempty"`
	// Modified is true when the working tree had uncommitted changes.
	Modified bool `json:"modified"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
	// Module is the main module as recorded in the binary.
	Module Module `json:"module"`
}

// Module is the main module's path, version and checksum (the checksum is
// known only for a binary built by go install of a published version).
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"`
	Sum     string `json:"sum,omitempty"`
}

// Overrides are the release values set with -ldflags; empty fields are unset.
type Overrides struct {
	Version, Commit, Date string
}

var (
	once   sync.Once
	cached Info
)

// Get returns this binary's build information.
func Get() Info {
	once.Do(func() {
		bi, _ := debug.ReadBuildInfo()
		cached = From(bi, Overrides{Version: version, Commit: commit, Date: date})
	})
	return cached
}

// From derives Info from Go build information (nil when the binary has
// none) and the release overrides, which win where set.
func From(bi *debug.BuildInfo, o Overrides) Info {
	in := Info{Version: Dev, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
		in.Module = Module{Path: bi.Main.Path, Version: bi.Main.Version, Sum: bi.Main.Sum}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			in.Version = v
		}
		var goos, goarch string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Commit = s.Value
			case "vcs.time":
				in.Date = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
		if goos != "" && goarch != "" {
			in.Platform = goos + "/" + goarch
		}
	}
	if o.Version != "" {
		in.Version = o.Version
	}
	if o.Commit != "" {
		in.Commit = o.Commit
	}
	if o.Date != "" {
		in.Date = o.Date
	}
	return in
}

// ShortCommit is the first 12 characters of the commit, or "unknown".
func (in Info) ShortCommit() string {
	switch {
	case in.Commit == "":
		return "unknown"
	case len(in.Commit) > 12:
		return in.Commit[:12]
	}
	return in.Commit
}

// String is the one-line form: "v1.2.3 (commit 0123456789ab, 2026-11-29T18:00:00Z, go1.26.8 linux/amd64)",
// with "+modified" after the commit of a build from a changed tree.
func (in Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (commit %s", in.Version, in.ShortCommit())
	if in.Modified {
		b.WriteString("+modified")
	}
	if in.Date != "" {
		fmt.Fprintf(&b, ", %s", in.Date)
	}
	fmt.Fprintf(&b, ", %s %s)", in.GoVersion, in.Platform)
	return b.String()
}
