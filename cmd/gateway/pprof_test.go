//go:build !lambda

package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
)

func TestPprofListener(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	stop, err := startPprof("", log)
	if err != nil {
		t.Fatalf("off: %v", err)
	}
	stop()

	if _, err := startPprof("256.0.0.1:http", log); err == nil {
		t.Error("a bad PPROF_ADDR was accepted")
	}

	addr := "127.0.0.1:" + freePort(t)
	stop, err = startPprof(addr, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Errorf("GET /debug/pprof/cmdline: status %d, %d bytes; want 200 with the command line", resp.StatusCode, len(body))
	}
}
