#!/usr/bin/env bash
# Builds the AWS Lambda Runtime Interface Emulator (aws-lambda-rie) from its
# Go module into a cache directory and prints the binary's path. The Lambda
# tests of internal/lambdafn run cmd/keyrot-lambda under it
# (KEYROT_LAMBDA_RIE names the binary; .ci/run sets it).
#
# Usage: scripts/lambda-rie.sh [version]   (default below; env KEYROT_RIE_VERSION)
# Cache:  KEYROT_RIE_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/keyrot/rie)
set -euo pipefail

version=${1:-${KEYROT_RIE_VERSION:-v0.0.0-20261030222936-bef5c4ba774d}}
cache=${KEYROT_RIE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyrot/rie}
out=$cache/$version/aws-lambda-rie
if [ -x "$out" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$(dirname "$out")"
GOBIN=$(dirname "$out") GOFLAGS= GOWORK=off CGO_ENABLED=0 \
  go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$version" >&2
echo "$out"
