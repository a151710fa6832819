// Command bedrock-emulator serves the Bedrock emulator of package
// bedrocktest on a TCP address, for the local demo and the benchmark:
//
//	bedrock-emulator -addr 127.0.0.1:4000 [-latency 0] [-chunk-delay 0]
//	export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:4000
//	export AWS_ENDPOINT_URL_BEDROCK=http://127.0.0.1:4000
//
// It serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
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
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	srv, err := bedrocktest.Start(*addr, bedrocktest.WithLatency(*latency), bedrocktest.WithChunkDelay(*chunkDelay))
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	defer srv.Close()
	if _, err := fmt.Fprintf(stdout, "bedrock emulator listening on %s\n", srv.URL); err != nil {
		return fmt.Errorf("print URL: %w", err)
	}
	<-ctx.Done()
	return nil
}
