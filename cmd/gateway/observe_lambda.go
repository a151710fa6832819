//go:build lambda

package main

import (
	"io"
	"log/slog"

	"github.com/openbedrock/gateway/app/metrics/emf"
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
	e := emf.New(stdout, "", o)
	return &observability{observer: e, started: e.Started, close: func() {}}, nil
}
