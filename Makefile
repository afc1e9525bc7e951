# The README's test command is `make test`; .ci/run calls it too.
.PHONY: test demo bench fuzz release

test:
	go test -race -count=1 -timeout 16m ./...

demo:
	go run ./cmd/keyrot demo

bench:
	go test -run '^$$' -bench . -benchtime 2s ./...

# Binaries for linux/darwin on amd64/arm64 and their SHA256SUMS in dist/
# (VERSION=v1.2.3 make release; docs/release.md).
release:
	scripts/release.sh -o dist
