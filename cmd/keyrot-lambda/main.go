// Command keyrot-lambda is keyrot's AWS Lambda function, built as bootstrap
// for the provided.al2023 runtime:
//
//	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap ./cmd/keyrot-lambda
//
// One binary serves every handler; KEYROT_HANDLER chooses which
// (internal/lambdafn, docs/deploy.md).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/lambdafn"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx := context.Background()
	env := lambdafn.EnvFrom(os.Getenv)
	cfg, err := awsconf.Load(ctx, awsconf.Options{})
	if err != nil {
		log.Error("load AWS configuration", "err", err)
		os.Exit(1)
	}
	fns, closeStore, err := lambdafn.Load(ctx, env, cfg, log)
	if err != nil {
		log.Error("start keyrot-lambda", "handler", env.Handler, "err", err)
		os.Exit(1)
	}
	defer closeStore()
	h, err := fns.Handler(env.Handler)
	if err != nil {
		log.Error("start keyrot-lambda", "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
