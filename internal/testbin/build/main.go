// Command build builds every binary the tests run into one directory, for
// make test to share between packages through $GATEWAY_TEST_BIN_DIR:
//
//	go run ./internal/testbin/build DIR
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/openbedrock/gateway/internal/testbin"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: build DIR")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := testbin.BuildAll(ctx, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}
