package canary

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestMetricsTextfile(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m, err := NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	m.Observe([]Result{
		{Time: at, Target: "https://a", Probe: "health", OK: true, Cold: true, Latency: 250 * time.Millisecond},
		{Time: at, Target: "https://b", Probe: "health", Error: "timeout", Latency: 7 * time.Second},
	})
	m.Observe([]Result{
		{Time: at.Add(time.Minute), Target: "https://a", Probe: "health", OK: true, Latency: 20 * time.Millisecond},
		{Time: at.Add(time.Minute), Target: "https://b", Probe: "health", Error: "timeout", Latency: 7 * time.Second},
	})

	dir := t.TempDir()
	path := filepath.Join(dir, "canary.prom")
	if err := m.WriteTextfile(path); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("got %d files in the textfile directory, want only canary.prom (no temporary left behind)", len(entries))
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("textfile does not parse as Prometheus text: %v", err)
	}

	tests := []struct {
		family string
		target string
		want   float64
	}{
		{"canary_probe_success", "https://a", 1},
		{"canary_probe_success", "https://b", 0},
		{"canary_probe_latency_seconds", "https://a", 0.02},
		{"canary_probe_cold_start", "https://a", 0},
		{"canary_probe_timestamp_seconds", "https://a", float64(at.Add(time.Minute).Unix())},
		{"canary_probes_total", "https://a", 2},
		{"canary_probe_failures_total", "https://a", 0},
		{"canary_probe_failures_total", "https://b", 2},
		{"canary_cold_starts_total", "https://a", 1},
	}
	for _, tt := range tests {
		got, ok := sample(families, tt.family, tt.target)
		if !ok {
			t.Errorf("%s{target=%q}: missing", tt.family, tt.target)
			continue
		}
		if got != tt.want {
			t.Errorf("%s{target=%q}: got %v, want %v", tt.family, tt.target, got, tt.want)
		}
	}
}

// sample returns the value of the family's series with the target label
// and probe="health".
func sample(families map[string]*dto.MetricFamily, family, target string) (float64, bool) {
	mf, ok := families[family]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		if labels["target"] != target || labels["probe"] != "health" {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func TestMetricsTextfileBadDirectory(t *testing.T) {
	m, err := NewMetrics()
	if err != nil {
		t.Fatal(err)
	}
	err = m.WriteTextfile(filepath.Join(t.TempDir(), "missing", "canary.prom"))
	if err == nil {
		t.Error("got nil, want an error for a missing directory")
	}
}
