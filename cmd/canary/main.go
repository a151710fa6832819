// Command canary probes a deployed gateway and records what it saw: whether
// it answered, how fast, and whether the instance that answered was cold.
// It keeps one Lambda execution environment warm as a side effect.
//
// Usage:
//
//	canary once   -url https://gw.example.com [-deep] [-timeout 7s] [-out results.jsonl] [-textfile canary.prom]
//	canary loop   -url https://gw.example.com -interval 5m [-count N] [-out results.jsonl] [-textfile canary.prom]
//	canary report -in results.jsonl
//
// -url may be repeated or comma-separated; without it CANARY_TARGETS is
// used. A target is a base URL (https://gw.example.com) or
// lambda://FUNCTION-NAME, which invokes the gateway function directly with
// an ALB event through the Lambda API (AWS credentials from the usual
// environment); the template's scheduled canary uses that, since the ALB
// admits only the allowed CIDRs. once exits 1 when any probe fails (for cron and Kubernetes CronJob
// alerting); loop records failures and keeps going. The deep probe (a chat
// completion with max_tokens 1) costs money and is off by default; its key
// comes from CANARY_API_KEY and is never logged.
//
// When AWS_LAMBDA_RUNTIME_API is set the command is a Lambda function: each
// invocation (an EventBridge schedule) probes CANARY_TARGETS, writes
// CloudWatch Embedded Metric Format lines to stdout and fails the invocation
// when a probe fails. See settings.go for every environment variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/openbedrock/gateway/canary"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "canary:", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks a mistake in the command line or the environment.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode maps run's error to the process status: 1 when a probe failed
// (or anything else went wrong at run time), 2 for a usage mistake.
func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	default:
		return 1
	}
}

const usage = `usage:
  canary once   -url URL [-deep] [-timeout 7s] [-out FILE] [-textfile FILE.prom]
  canary loop   -url URL [-interval 5m] [-count N] [-out FILE] [-textfile FILE.prom]
  canary report -in FILE
Run "canary MODE -h" for the flags of a mode.`

// run picks the mode: Lambda when the runtime API is present, else the
// first argument.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return runLambda(ctx, getenv, stdout, stderr)
	}
	if len(args) < 2 {
		return usageError{errors.New("no mode given\n" + usage)}
	}
	mode, rest := args[1], args[2:]
	switch mode {
	case "once":
		return runOnce(ctx, rest, getenv, stdout, stderr)
	case "loop":
		return runLoop(ctx, rest, getenv, stdout, stderr)
	case "report":
		return runReport(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return usageError{fmt.Errorf("unknown mode %q\n%s", mode, usage)}
	}
}

// parseFlags parses args with fs and turns a flag mistake into a
// usageError; -h is not an error.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, usageError{err}
	}
	if fs.NArg() > 0 {
		return false, usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	return false, nil
}

// newLogger writes one JSON object per line.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}

// newProber builds the prober from settings, reporting bad settings as
// usage mistakes. A Lambda client is built only for lambda:// targets, from
// the standard AWS environment (region, credentials, AWS_ENDPOINT_URL_LAMBDA).
// It does not retry: the canary reports what a single attempt saw.
func newProber(ctx context.Context, s settings) (*canary.Prober, error) {
	cfg := s.config()
	if canary.NeedsLambda(s.targets) {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryMaxAttempts(1))
		if err != nil {
			return nil, fmt.Errorf("load AWS configuration for lambda:// targets: %w", err)
		}
		cfg.Lambda = lambda.NewFromConfig(awsCfg)
	}
	p, err := canary.New(cfg)
	if err != nil {
		return nil, usageError{err}
	}
	return p, nil
}
