// Command bedrock-emulator serves the Bedrock emulator of package
// bedrocktest on a TCP address, for the local demo and the benchmark:
//
//	bedrock-emulator -addr 127.0.0.1:4000 [-latency 0] [-chunk-delay 0] [-faults SPEC]
//	export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:4000
//	export AWS_ENDPOINT_URL_BEDROCK=http://127.0.0.1:4000
//
// -faults makes it fail at random the way Bedrock and the network do
// (bedrocktest.Faults): each runtime request draws at most one fault, with
// the probability given per kind; a stall takes its length and a throttle
// its burst (a count of requests or a time window) after a colon, and
// seed=N fixes the draws:
//
//	bedrock-emulator -faults reset=0.05,reset-stream=0.01,truncate=0.02,stall=0.01:2s,throttle=0.1:3,seed=1
//
// It serves until SIGINT or SIGTERM, then prints the faults it injected.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bedrock-emulator:", err)
		os.Exit(1)
	}
}

// run parses args, starts the emulator, prints its URL to stdout and serves
// until ctx is done.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bedrock-emulator", flag.ContinueOnError)
	fs.SetOutput(stdout)
	addr := fs.String("addr", "127.0.0.1:4000", "listen address (host:port; port 0 picks a free one)")
	latency := fs.Duration("latency", 0, "delay before every answer, e.g. 200ms")
	chunkDelay := fs.Duration("chunk-delay", 0, "delay between stream events, e.g. 20ms")
	faultSpec := fs.String("faults", "", "random faults, e.g. reset=0.05,reset-stream=0.01,truncate=0.02,stall=0.01:2s,throttle=0.1:3,seed=1 (throttle=P:N throttles N requests, throttle=P:2s for 2s)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	faults, err := bedrocktest.ParseFaults(*faultSpec)
	if err != nil {
		return fmt.Errorf("parse -faults: %w", err)
	}
	opts := []bedrocktest.Option{bedrocktest.WithLatency(*latency), bedrocktest.WithChunkDelay(*chunkDelay)}
	if *faultSpec != "" {
		opts = append(opts, bedrocktest.WithFaults(faults))
	}
	srv, err := bedrocktest.Start(*addr, opts...)
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	defer srv.Close()
	if _, err := fmt.Fprintf(stdout, "bedrock emulator listening on %s\n", srv.URL); err != nil {
		return fmt.Errorf("print URL: %w", err)
	}
	if *faultSpec != "" {
		fmt.Fprintf(stdout, "injecting faults: %s\n", faults) // best effort, like the report below
	}
	<-ctx.Done()
	if *faultSpec != "" {
		fmt.Fprintf(stdout, "faults injected: %s\n", injected(srv.FaultsInjected()))
	}
	return nil
}

// injected formats the fault counts in a stable order.
func injected(n map[bedrocktest.FaultKind]int) string {
	kinds := slices.Sorted(maps.Keys(n))
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
