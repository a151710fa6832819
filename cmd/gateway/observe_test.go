//go:build !lambda

package main

import (
	"math"
	"net"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunServesMetrics runs the gateway with METRICS_ADDR and PRICES_FILE
// and checks /metrics, on its own listener, prices a request with the
// file's price.
func TestRunServesMetrics(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"ok"}, Usage: &bedrocktest.Usage{InputTokens: 100, OutputTokens: 20}}
	})
	addr := freeAddr(t)
	url := runGateway(t, emu.URL, map[string]string{"METRICS_ADDR": addr, "PRICES_FILE": "testdata/prices-override.json"})
	modelsHealth(t, url, func(m map[string]any) bool { return m["source"] == "bedrock" })

	const modelID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/chat/completions",
		strings.NewReader(`{"model":"`+modelID+`","messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer run-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Gateway-Overhead-Ms") == "" {
		t.Fatalf("status %d, overhead header %q", resp.StatusCode, resp.Header.Get("X-Gateway-Overhead-Ms"))
	}
	if r, err := http.Get(url + "/metrics"); err == nil {
		r.Body.Close()
		if r.StatusCode == http.StatusOK {
			t.Error("/metrics is served on the API listener; it belongs on METRICS_ADDR only")
		}
	}

	mr, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer mr.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(mr.Body)
	if err != nil {
		t.Fatal(err)
	}
	find := func(name string, labels ...string) float64 {
		for _, m := range families[name].GetMetric() {
			if hasLabels(m, labels...) {
				if m.Counter != nil {
					return m.GetCounter().GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
		t.Errorf("no %s%v", name, labels)
		return math.NaN()
	}
	if got := find("gateway_tokens_total", "model", modelID, "type", "input"); got != 100 {
		t.Errorf("input tokens %g, want 100", got)
	}
	// PRICES_FILE: 100 × 2 + 20 × 10 = 400 per million.
	if got := find("gateway_cost_usd_total", "model", modelID, "key", "default"); math.Abs(got-0.0004) > 1e-15 {
		t.Errorf("cost %g, want 0.0004 from PRICES_FILE", got)
	}
	if got := find("gateway_model_catalogue_refreshes_total"); got < 1 {
		t.Errorf("catalogue refreshes %g, want at least 1", got)
	}
	if got := find("gateway_init_duration_seconds"); !(got > 0) {
		t.Errorf("init duration %g, want > 0", got)
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Error("the Go runtime collector is missing")
	}
}

func hasLabels(m *dto.Metric, kv ...string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == kv[i] && l.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestObserveConfig(t *testing.T) {
	base := map[string]string{"API_KEY": "k"}
	get := func(extra ...string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := loadConfig(get())
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "127.0.0.1:9090" || c.LogBodies || c.LogBodiesMaxBytes != 4096 || c.PricesFile != "" || c.MaxKeyNames != 100 {
		t.Errorf("defaults: %+v", c.observeConfig)
	}
	c, err = loadConfig(get("LOG_BODIES", "yes", "LOG_BODIES_MAX_BYTES", "100", "METRICS_ADDR", ":9100", "METRICS_MAX_KEY_NAMES", "5"))
	if err != nil || !c.LogBodies || c.LogBodiesMaxBytes != 100 || c.MetricsAddr != ":9100" || c.MaxKeyNames != 5 {
		t.Errorf("got %+v, %v", c.observeConfig, err)
	}
	for _, bad := range [][]string{{"LOG_BODIES_MAX_BYTES", "0"}, {"LOG_BODIES", "maybe"}, {"LOG_BODIES_MAX_BYTES", "lots"}, {"METRICS_MAX_KEY_NAMES", "0"}} {
		if _, err := loadConfig(get(bad...)); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s=%s: got %v, want an error naming it", bad[0], bad[1], err)
		}
	}
}

func TestBadPricesFile(t *testing.T) {
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"API_KEY": "k", "PRICES_FILE": "testdata/none.json"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metricsOptions(cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "PRICES_FILE") {
		t.Errorf("got %v, want a PRICES_FILE error", err)
	}
}
