// Command keyrot audits and rotates long-term AWS credentials across an
// AWS Organization.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/keyrot/keyrot/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
