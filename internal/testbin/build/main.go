// Command build builds every binary the tests run into one directory, for
// make test to share between packages through $GATEWAY_TEST_BIN_DIR:
//
//	go run ./internal/testbin/build [-race] DIR
//
// With -race they are built as go test -race builds (testbin.Race), else
// with the shipped flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/openbedrock/gateway/internal/testbin"
)

func main() {
	race := flag.Bool("race", false, "build with -race, as go test -race does")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: build [-race] DIR")
		os.Exit(2)
	}
	flags := testbin.Shipped
	if *race {
		flags = testbin.Race
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := testbin.BuildAll(ctx, flag.Arg(0), flags); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}
