//go:build lambda

package main

import (
	"io"
	"log/slog"

	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/server"
)

// newObservability writes the metrics as CloudWatch EMF lines on stdout,
// one per request and one at init: no PutMetricData, no listener.
func newObservability(cfg config, catalogue server.Catalogue, authn server.Authenticator, stdout io.Writer, log *slog.Logger) (*observability, error) {
	o, err := metricsOptions(cfg, catalogue, authn)
	if err != nil {
		return nil, err
	}
	log.Info("prices loaded", "prices", o.Prices.String(), "file", cfg.PricesFile)
	emf := metrics.NewEMF(stdout, "", o)
	return &observability{observer: emf, started: emf.Started, close: func() {}}, nil
}
