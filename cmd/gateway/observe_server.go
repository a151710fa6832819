//go:build !lambda

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openbedrock/gateway/app/metrics/prom"
	"github.com/openbedrock/gateway/app/server"
)

// newObservability registers the Prometheus metrics on a registry of their
// own and serves them on METRICS_ADDR (GET /metrics). A listener that
// cannot bind is logged, not fatal: the gateway serves without it.
func newObservability(cfg config, catalogue server.Catalogue, authn server.Authenticator, _ io.Writer, log *slog.Logger) (*observability, error) {
	o, err := metricsOptions(cfg, catalogue, authn)
	if err != nil {
		return nil, err
	}
	reg, p, err := prom.NewRegistry(o)
	if err != nil {
		return nil, err
	}
	log.Info("prices loaded", "prices", o.Prices.String(), "file", cfg.PricesFile)
	obs := &observability{observer: p, started: p.Started, close: func() {}}
	if cfg.MetricsAddr == "off" {
		return obs, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		log.Error("metrics listener failed; serving without /metrics", "addr", cfg.MetricsAddr, "err", fmt.Errorf("METRICS_ADDR: %w", err))
		return obs, nil
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	obs.close = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // a scrape in progress may finish
	}
	return obs, nil
}
