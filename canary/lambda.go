package canary

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
)

// LambdaHandler returns the handler of the canary's Lambda function, for
// lambda.Start. The event (an EventBridge schedule) is ignored. Each
// invocation probes every target, logs each result, writes EMF metrics to
// emf, and returns an error when any probe failed, so the function's Errors
// metric (and any alarm on it) sees the failure.
func LambdaHandler(p *Prober, targets []string, logger *slog.Logger, emf *EMF) func(context.Context, json.RawMessage) error {
	return func(ctx context.Context, _ json.RawMessage) error {
		results := p.Run(ctx, targets)
		Log(ctx, logger, results)
		if err := emf.Write(results); err != nil {
			return errors.Join(err, Failure(results))
		}
		return Failure(results)
	}
}
