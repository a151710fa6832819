package canary

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the canary's Prometheus metrics for the CLI and loop modes.
// They are written to a text file for node_exporter's textfile collector
// (--collector.textfile.directory) rather than served or pushed: the canary
// may be a CronJob that lives for a second, and a file outlives it.
//
// Gauges describe the latest run; counters accumulate over a loop's life.
type Metrics struct {
	reg      *prometheus.Registry
	success  *prometheus.GaugeVec
	latency  *prometheus.GaugeVec
	cold     *prometheus.GaugeVec
	lastRun  *prometheus.GaugeVec
	probes   *prometheus.CounterVec
	failures *prometheus.CounterVec
	colds    *prometheus.CounterVec
}

// NewMetrics returns Metrics registered in a registry of their own.
func NewMetrics() (*Metrics, error) {
	labels := []string{"target", "probe"}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		success: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "canary_probe_success", Help: "Whether the latest probe passed (1) or failed (0).",
		}, labels),
		latency: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "canary_probe_latency_seconds", Help: "Latency of the latest probe, to the whole body or to failure.",
		}, labels),
		cold: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "canary_probe_cold_start", Help: "Whether the latest probe hit a cold instance (1) or a warm one (0).",
		}, labels),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "canary_probe_timestamp_seconds", Help: "Unix time of the latest probe.",
		}, labels),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canary_probes_total", Help: "Probes run.",
		}, labels),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canary_probe_failures_total", Help: "Probes that failed.",
		}, labels),
		colds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "canary_cold_starts_total", Help: "Probes that hit a cold instance.",
		}, labels),
	}
	for _, c := range []prometheus.Collector{m.success, m.latency, m.cold, m.lastRun, m.probes, m.failures, m.colds} {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("register canary metrics: %w", err)
		}
	}
	return m, nil
}

// Observe records results.
func (m *Metrics) Observe(results []Result) {
	for _, r := range results {
		l := prometheus.Labels{"target": r.Target, "probe": r.Probe}
		m.success.With(l).Set(float64(b2i(r.OK)))
		m.latency.With(l).Set(r.Latency.Seconds())
		m.cold.With(l).Set(float64(b2i(r.Cold)))
		m.lastRun.With(l).Set(float64(r.Time.UnixNano()) / 1e9)
		m.probes.With(l).Inc()
		// Touch the counters so they exist (at 0) from the first run.
		m.failures.With(l).Add(float64(b2i(!r.OK)))
		m.colds.With(l).Add(float64(b2i(r.Cold)))
	}
}

// WriteTextfile writes the metrics in the Prometheus text format to path
// atomically (a temporary file in the same directory, then a rename), so the
// collector never reads half a file. Name it *.prom.
func (m *Metrics) WriteTextfile(path string) error {
	if err := prometheus.WriteToTextfile(path, m.reg); err != nil {
		return fmt.Errorf("write metrics to %s: %w", path, err)
	}
	return nil
}
