// Command loadgen drives a bounded, closed-loop load against the gateway's
// OpenAI API or against a Bedrock endpoint (the emulator itself or a proxy in
// front of it) and prints one JSON result: requests, errors, req/s and the
// latency and time-to-first-token percentiles.
//
//	loadgen -api openai  -url http://127.0.0.1:8080/api/v1 -key K -scenario chat   -c 16 -d 3s
//	loadgen -api bedrock -url http://127.0.0.1:4000              -scenario stream -c 16 -d 3s
//
// Each of the -c workers sends one request at a time and waits for the whole
// answer, so concurrency is fixed; the run ends after -d or -max requests,
// whichever comes first. Requests that start during -warmup are sent but not
// measured. Bedrock requests are the Bedrock-shaped equivalents of the OpenAI
// ones (Converse JSON, InvokeModel bodies), sent unsigned over plain HTTP
// with the same HTTP client, so the two APIs differ only in who answers.
// cmd/bench runs it once per measurement.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// run parses args, drives the load and writes the Result as JSON to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	res, err := drive(ctx, cfg)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// config is one load run.
type config struct {
	API         string // openai or bedrock
	Scenario    string // one of scenarios
	URL         string // base URL: .../api/v1 for openai, the endpoint root for bedrock
	Key         string // bearer key (openai only)
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
	Max         int // bound on measured requests
	Timeout     time.Duration
	Model       string
	EmbedModel  string
	Prompt      string
	MaxTokens   int
}

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&c.API, "api", "openai", "API to call: openai (the gateway) or bedrock (the emulator or a proxy in front of it)")
	fs.StringVar(&c.Scenario, "scenario", "chat", strings.Join(scenarios, ", "))
	fs.StringVar(&c.URL, "url", "", "base URL (openai: http://host:port/api/v1; bedrock: http://host:port)")
	fs.StringVar(&c.Key, "key", "", "API key sent as a bearer token (openai)")
	fs.IntVar(&c.Concurrency, "c", 1, "concurrent workers, each with one request in flight")
	fs.DurationVar(&c.Duration, "d", 3*time.Second, "measured duration")
	fs.DurationVar(&c.Warmup, "warmup", 300*time.Millisecond, "unmeasured warm-up before the measured duration")
	fs.IntVar(&c.Max, "max", 200000, "stop after this many measured requests")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "per-request timeout")
	fs.StringVar(&c.Model, "model", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "chat model id")
	fs.StringVar(&c.EmbedModel, "embed-model", "cohere.embed-multilingual-v3", "embedding model id (Cohere Embed v3 or Titan Text v2)")
	fs.StringVar(&c.Prompt, "prompt", "Hello from the benchmark. Say something short.", "user message (may carry an @emulate directive)")
	fs.IntVar(&c.MaxTokens, "max-tokens", 64, "max_tokens / maxTokens of chat requests")
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("parse flags: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case c.URL == "":
		return config{}, fmt.Errorf("-url is required")
	case c.API != "openai" && c.API != "bedrock":
		return config{}, fmt.Errorf("-api: %q is not openai or bedrock", c.API)
	case !slices.Contains(scenarios, c.Scenario):
		return config{}, fmt.Errorf("-scenario: %q is not one of %s", c.Scenario, strings.Join(scenarios, ", "))
	case c.Concurrency < 1 || c.Concurrency > 4096:
		return config{}, fmt.Errorf("-c: %d is not between 1 and 4096", c.Concurrency)
	case c.Duration <= 0 || c.Max < 1:
		return config{}, fmt.Errorf("-d and -max must be positive")
	}
	return c, nil
}
