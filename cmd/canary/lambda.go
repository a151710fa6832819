package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/openbedrock/gateway/canary"
)

// runLambda serves scheduled invocations until the runtime stops the
// process. Everything is built once, before the first event.
func runLambda(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	handler, err := newLambdaHandler(ctx, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	lambda.StartWithOptions(handler, lambda.WithContext(ctx))
	return errors.New("lambda runtime loop returned")
}

// newLambdaHandler reads the settings and returns the invocation handler:
// log lines on stderr, EMF metric lines on stdout.
func newLambdaHandler(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) (func(context.Context, json.RawMessage) error, error) {
	s, err := loadSettings(getenv)
	if err != nil {
		return nil, usageError{err}
	}
	if len(s.targets) == 0 {
		return nil, usageError{errors.New("CANARY_TARGETS is empty")}
	}
	p, err := newProber(ctx, s)
	if err != nil {
		return nil, err
	}
	return canary.LambdaHandler(p, s.targets, newLogger(stderr), canary.NewEMF(stdout, s.namespace)), nil
}
