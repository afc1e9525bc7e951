# The README's test command is `make test`; .ci/run calls it too.
.PHONY: test demo bench fuzz

test:
	go test -race -count=1 -timeout 12m ./...

demo:
	go run ./cmd/keyrot demo

bench:
	go test -run '^$$' -bench . -benchtime 2s ./...
