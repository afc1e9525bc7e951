#!/usr/bin/env bash
# Cross-compiles keyrot for release and writes SHA256SUMS beside the binaries.
#
#   scripts/release.sh [-o DIR] [GOOS/GOARCH ...]
#   scripts/release.sh --ldflags       print the linker flags and exit
#   scripts/release.sh --targets       print the default targets and exit
#
# Targets default to linux/amd64 linux/arm64 darwin/amd64 darwin/arm64.
# Binaries are static (CGO_ENABLED=0: the SQLite driver is pure Go), built
# with -trimpath, and named DIR/keyrot-GOOS-GOARCH (DIR defaults to dist).
# The version facts that keyrot version prints come from the environment or
# from Git: VERSION (default: git describe --tags --always --dirty, else dev),
# COMMIT (git rev-parse HEAD) and DATE (the commit's time in UTC, so that two
# builds of one commit are identical). The container image and
# .goreleaser.yaml pass the same flags.
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=github.com/keyrot/keyrot/internal/buildinfo
in_git() { git rev-parse --git-dir >/dev/null 2>&1; }
if [ -z "${VERSION:-}" ]; then
  VERSION=dev
  if in_git; then VERSION=$(git describe --tags --always --dirty 2>/dev/null || echo dev); fi
fi
if [ -z "${COMMIT:-}" ] && in_git; then COMMIT=$(git rev-parse HEAD); fi
if [ -z "${DATE:-}" ] && in_git; then DATE=$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd); fi
ldflags="-s -w -X $pkg.version=$VERSION -X $pkg.commit=${COMMIT:-} -X $pkg.date=${DATE:-}"

defaults=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64)
out=dist
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --ldflags) echo "$ldflags"; exit 0 ;;
    --targets) echo "${defaults[*]}"; exit 0 ;;
    -o) out=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    */*) targets+=("$1"); shift ;;
    *) echo "release.sh: unknown argument $1 (want -o DIR, --ldflags or GOOS/GOARCH)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${defaults[@]}")

mkdir -p "$out"
names=()
for t in "${targets[@]}"; do
  goos=${t%/*} goarch=${t#*/}
  name=keyrot-$goos-$goarch
  echo "release.sh: building $name ($VERSION)" >&2
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOFLAGS=-buildvcs=false \
    go build -trimpath -ldflags "$ldflags" -o "$out/$name" ./cmd/keyrot
  names+=("$name")
done
(
  cd "$out"
  if command -v sha256sum >/dev/null; then sha256sum "${names[@]}"; else shasum -a 256 "${names[@]}"; fi
) > "$out/SHA256SUMS"
echo "$out/SHA256SUMS" >&2
