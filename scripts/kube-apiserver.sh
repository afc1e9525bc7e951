#!/usr/bin/env bash
# Builds kube-apiserver from the k8s.io/kubernetes module into a cache
# directory and prints the binary's path. The tests of internal/kubetest use
# it (KEYROT_KUBE=1) with Debian's etcd-server.
#
# `go install k8s.io/kubernetes/cmd/kube-apiserver@vX` is refused because the
# kubernetes module's go.mod has replace directives (its staging modules live
# in the same repository). So a throwaway module outside the repository
# requires k8s.io/kubernetes and replaces every k8s.io/* staging module with
# its published v0.x twin of the same minor and patch, then builds.
#
# Usage: scripts/kube-apiserver.sh [version]   (default below; env KEYROT_KUBE_VERSION)
# Cache:  KEYROT_KUBE_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/keyrot/kube)
set -euo pipefail

version=${1:-${KEYROT_KUBE_VERSION:-v1.37.2}}
cache=${KEYROT_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyrot/kube}
out=$cache/$version/kube-apiserver
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi

# v1.X.Y -> v0.X.Y, the staging modules' version.
staging=v0.${version#v1.}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

export GOFLAGS=-mod=mod GOWORK=off
go mod init keyrot.local/kube-apiserver-build >/dev/null 2>&1
modfile=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
if [ -z "$modfile" ] || [ ! -f "$modfile" ]; then
  echo "kube-apiserver.sh: cannot download k8s.io/kubernetes@$version" >&2
  exit 1
fi
go mod edit -require="k8s.io/kubernetes@$version"
# Every "k8s.io/NAME => ./staging/src/k8s.io/NAME" becomes "k8s.io/NAME => k8s.io/NAME $staging".
sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*$#\1#p' "$modfile" | sort -u |
  while read -r mod; do
    go mod edit -replace="$mod=$mod@$staging"
  done
if ! grep -q '^replace' go.mod && ! grep -q '=>' go.mod; then
  echo "kube-apiserver.sh: found no staging replace lines in $modfile" >&2
  exit 1
fi
cat > main.go <<'GO'
package main

import _ "k8s.io/kubernetes/cmd/kube-apiserver/app"

func main() {}
GO
go mod tidy >/dev/null
rm main.go
mkdir -p "$(dirname "$out")"
# The version the server reports (/version), as a release build sets it.
minor=${version#v1.}; minor=${minor%%.*}
vpkg=k8s.io/component-base/version
CGO_ENABLED=0 go build -trimpath \
  -ldflags="-s -X $vpkg.gitVersion=$version -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean" \
  -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$out.tmp" "$out"
echo "$out"
