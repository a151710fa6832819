//go:build !lambda

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// runtimeName is reported in /health.
const runtimeName = "server"

// serve runs the HTTP server until ctx is done, then drains: readiness turns
// false at once, new requests are still accepted for the drain delay (so
// load balancers stop routing), then the listener closes and in-flight
// requests get up to the shutdown timeout to finish. Streams still open just
// before the deadline end with an SSE error event, not a cut connection.
func serve(ctx context.Context, h http.Handler, cfg config, log *slog.Logger, lc *lifecycle) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	stopPprof, err := startPprof(cfg.PprofAddr, log)
	if err != nil {
		return err
	}
	defer stopPprof()
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	redirect, err := enableTLS(srv, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", srv.TLSConfig != nil)
	errc := make(chan error, 1)
	go func() { errc <- serveConns(srv, ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	lc.ready.Store(false)
	log.Info("shutting down", "drain_delay", cfg.ShutdownDrainDelay.String(), "timeout", cfg.ShutdownTimeout.String())
	time.Sleep(cfg.ShutdownDrainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Leave the streams a moment to write their error event and return.
	endStreams := time.AfterFunc(cfg.ShutdownTimeout-min(time.Second, cfg.ShutdownTimeout/5), func() { close(lc.streamsEnd) })
	defer endStreams.Stop()
	if redirect != nil {
		_ = redirect.Close() // redirects are instant: nothing to drain
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
