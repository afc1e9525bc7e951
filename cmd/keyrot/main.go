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
	// A closed stdout or stderr (keyrot apply | head -1) must not kill the
	// process half-way: writes then fail with EPIPE, which the commands
	// report once their run is complete and recorded.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
