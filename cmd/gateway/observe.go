package main

import (
	"fmt"
	"time"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/server"
)

// observeConfig is the metrics, request-log and price settings of config.
type observeConfig struct {
	// MetricsAddr (METRICS_ADDR) is the Prometheus listener of the server
	// build, apart from the API so the public ingress never routes to it;
	// "off" disables it. The Lambda build writes EMF lines instead.
	MetricsAddr string
	// LogBodies (LOG_BODIES) logs request and response bodies, cut at
	// LogBodiesMaxBytes (LOG_BODIES_MAX_BYTES).
	LogBodies         bool
	LogBodiesMaxBytes int
	// PricesFile (PRICES_FILE) replaces entries of the embedded price table.
	PricesFile string
	// MaxKeyNames (METRICS_MAX_KEY_NAMES) is how many key names get a
	// metric label or EMF dimension value of their own; the rest share "other".
	MaxKeyNames int
}

// loadObserveConfig reads the observability variables; loadConfig calls it.
func loadObserveConfig(p *parser) observeConfig {
	c := observeConfig{
		MetricsAddr:       p.str("METRICS_ADDR", "127.0.0.1:9090"),
		LogBodies:         p.bool("LOG_BODIES", false),
		LogBodiesMaxBytes: p.int("LOG_BODIES_MAX_BYTES", 4096),
		PricesFile:        p.str("PRICES_FILE", ""),
		MaxKeyNames:       p.int("METRICS_MAX_KEY_NAMES", metrics.DefaultMaxKeyNames),
	}
	if c.MaxKeyNames <= 0 {
		p.errs = append(p.errs, fmt.Errorf("METRICS_MAX_KEY_NAMES: %d must be positive", c.MaxKeyNames))
	}
	if c.LogBodiesMaxBytes <= 0 {
		p.errs = append(p.errs, fmt.Errorf("LOG_BODIES_MAX_BYTES: %d must be positive", c.LogBodiesMaxBytes))
	}
	return c
}

// observability is the build's metrics: the Observer the server reports to,
// what to call once ready, and what to close at exit.
type observability struct {
	observer server.Observer
	started  func(start time.Time, init time.Duration)
	close    func()
}

// metricsOptions gathers what both builds' observers read.
func metricsOptions(cfg config, catalogue server.Catalogue, authn server.Authenticator) (metrics.Options, error) {
	prices, err := cost.LoadPrices(cfg.PricesFile)
	if err != nil {
		return metrics.Options{}, fmt.Errorf("PRICES_FILE: %w", err)
	}
	o := metrics.Options{Prices: prices, Region: cfg.Region, Catalogue: catalogue, MaxKeyNames: cfg.MaxKeyNames,
		Version: version, Runtime: runtimeName}
	if n, ok := authn.(interface{ Names() []string }); ok {
		o.KeyNames = n.Names
	}
	if st, ok := authn.(interface{ Status() auth.Status }); ok {
		o.KeyRefreshes = func() (int64, int64) {
			s := st.Status()
			return s.Refreshes, s.Failures
		}
	}
	return o, nil
}
