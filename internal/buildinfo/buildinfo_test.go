package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parse reads build information in the text form of go version -m.
func parse(t *testing.T, s string) *debug.BuildInfo {
	t.Helper()
	bi, err := debug.ParseBuildInfo(s)
	if err != nil {
		t.Fatalf("ParseBuildInfo: %v", err)
	}
	return bi
}

func TestFrom(t *testing.T) {
	const checkout = "go\tgo1.26.8\npath\tgithub.com/keyrot/keyrot/cmd/keyrot\nmod\tgithub.com/keyrot/keyrot\t(devel)\t\n" +
		"build\tGOARCH=arm64\nbuild\tGOOS=darwin\n" +
		"build\tvcs=git\nbuild\tvcs.revision=7f43d10fb4c1b16becb6fb5d66131a66c9406fde\nbuild\tvcs.time=2026-11-29T18:47:17Z\nbuild\tvcs.modified=true\n"
	const installed = "go\tgo1.26.8\npath\tgithub.com/keyrot/keyrot/cmd/keyrot\nmod\tgithub.com/keyrot/keyrot\tv1.4.0\th1:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG=\n" +
		"build\tGOARCH=amd64\nbuild\tGOOS=linux\n"
	host := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name string
		bi   string
		o    Overrides
		want Info
	}{
		{
			name: "no build info",
			want: Info{Version: Dev, GoVersion: runtime.Version(), Platform: host},
		},
		{
			name: "checkout with local changes",
			bi:   checkout,
			want: Info{Version: Dev, Commit: "7f43d10fb4c1b16becb6fb5d66131a66c9406fde", Date: "2026-11-29T18:47:17Z", Modified: true,
				GoVersion: "go1.26.8", Platform: "darwin/arm64", Module: Module{Path: "github.com/keyrot/keyrot", Version: "(devel)"}},
		},
		{
			name: "go install of a published version",
			bi:   installed,
			want: Info{Version: "v1.4.0", GoVersion: "go1.26.8", Platform: "linux/amd64",
				Module: Module{Path: "github.com/keyrot/keyrot", Version: "v1.4.0", Sum: "h1:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG="}},
		},
		{
			name: "release flags win over the build info",
			bi:   checkout,
			o:    Overrides{Version: "v2.0.0", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-01T00:00:00Z"},
			want: Info{Version: "v2.0.0", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-12-01T00:00:00Z", Modified: true,
				GoVersion: "go1.26.8", Platform: "darwin/arm64", Module: Module{Path: "github.com/keyrot/keyrot", Version: "(devel)"}},
		},
		{
			name: "partial flags keep the rest",
			bi:   checkout,
			o:    Overrides{Version: "v2.0.0"},
			want: Info{Version: "v2.0.0", Commit: "7f43d10fb4c1b16becb6fb5d66131a66c9406fde", Date: "2026-11-29T18:47:17Z", Modified: true,
				GoVersion: "go1.26.8", Platform: "darwin/arm64", Module: Module{Path: "github.com/keyrot/keyrot", Version: "(devel)"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bi *debug.BuildInfo
			if tt.bi != "" {
				bi = parse(t, tt.bi)
			}
			if diff := cmp.Diff(tt.want, From(bi, tt.o)); diff != "" {
				t.Errorf("From (-want +got):\n%s", diff)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name string
		in   Info
		want string
	}{
		{"release", Info{Version: "v1.2.3", Commit: "0123456789abcdef0123", Date: "2026-01-02T03:04:05Z", GoVersion: "go1.26.8", Platform: "linux/amd64"},
			"v1.2.3 (commit 0123456789ab, 2026-01-02T03:04:05Z, go1.26.8 linux/amd64)"},
		{"modified tree", Info{Version: Dev, Commit: "abc", Modified: true, GoVersion: "go1.26.8", Platform: "linux/arm64"},
			"dev (commit abc+modified, go1.26.8 linux/arm64)"},
		{"nothing known", Info{Version: Dev, GoVersion: "go1.26.8", Platform: "darwin/amd64"},
			"dev (commit unknown, go1.26.8 darwin/amd64)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestGet reads this test binary's own build information: go test records
// the module and the Go version.
func TestGet(t *testing.T) {
	in := Get()
	if in.GoVersion != runtime.Version() {
		t.Errorf("GoVersion = %q, want %q", in.GoVersion, runtime.Version())
	}
	if in.Version == "" {
		t.Error("Version is empty")
	}
	if in.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("Platform = %q", in.Platform)
	}
}
