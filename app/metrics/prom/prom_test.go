package prom_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/metrics/prom"
)

const (
	listed   = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	sonnet37 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	unpriced = "acme.unpriced-v1"
)

// testPrices are the embedded prices with round test prices for the models
// the tests use, so an update of prices.json does not break them.
func testPrices(tb testing.TB) *cost.Prices {
	tb.Helper()
	p, err := cost.DefaultPrices()
	if err != nil {
		tb.Fatal(err)
	}
	read, write := 0.3, 3.75
	p.Merge(&cost.Prices{Tokens: cost.TokenTable{Models: map[string]cost.ModelPrice{
		sonnet37: {TokenPrice: cost.TokenPrice{Input: 3, Output: 15, CacheRead: &read, CacheWrite: &write}},
	}}})
	delete(p.Tokens.Models, unpriced)
	return p
}

func testOptions(tb testing.TB) metrics.Options {
	tb.Helper()
	return metrics.Options{
		Prices:       testPrices(tb),
		Region:       "us-east-1",
		Catalogue:    bedrock.NewStaticCatalogue(listed, unpriced),
		KeyRefreshes: func() (int64, int64) { return 7, 2 },
		Version:      "test",
		Runtime:      "server",
	}
}

func chatExchange(model, key string, u cost.Usage) *metrics.Exchange {
	return &metrics.Exchange{
		Route: "/api/v1/chat/completions", Method: "POST", Status: 200,
		Model: model, Foundation: bedrock.FoundationModelOf(model), Key: key, Usage: u,
		Duration: 1500 * time.Millisecond, Upstream: 1400 * time.Millisecond, Overhead: 100 * time.Millisecond,
	}
}

func value(tb testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				switch {
				case m.Counter != nil:
					return m.GetCounter().GetValue()
				case m.Gauge != nil:
					return m.GetGauge().GetValue()
				case m.Histogram != nil:
					return float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
	}
	tb.Fatalf("no %s%v", name, labels)
	return 0
}

func seriesCount(tb testing.TB, reg *prometheus.Registry, name string) int {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

func TestPrometheusRecordsExchanges(t *testing.T) {
	reg, p, err := prom.NewRegistry(testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	p.Started(time.Unix(1767225600, 0), 250*time.Millisecond)

	a := chatExchange(listed, "alice", cost.Usage{Input: 1000, Output: 500, CacheRead: 2000, CacheWrite: 400})
	p.Begin(a)
	if got := value(t, reg, "gateway_in_flight_requests", nil); got != 1 {
		t.Errorf("in flight %g during a request, want 1", got)
	}
	p.Upstream(a, metrics.Call{Operation: "Converse", Duration: time.Second, Attempts: 3})
	p.End(a)
	// 1000×3 + 500×15 + 2000×0.3 + 400×3.75 = 12600 per million
	if !a.CostKnown || math.Abs(a.Cost-0.0126) > 1e-12 {
		t.Errorf("exchange cost %g known %v, want 0.0126 true", a.Cost, a.CostKnown)
	}

	b := chatExchange("us.some.model-nobody-listed", "bob", cost.Usage{Input: 10, Output: 1})
	p.Begin(b)
	p.End(b)
	c := chatExchange(unpriced, "bob", cost.Usage{Input: 5, Output: 5})
	c.Stream, c.TTFT = true, 300*time.Millisecond
	p.Begin(c)
	p.StreamStarted(c)
	if got := value(t, reg, "gateway_in_flight_streams", nil); got != 1 {
		t.Errorf("in-flight streams %g, want 1", got)
	}
	p.Upstream(c, metrics.Call{Operation: "ConverseStream", Duration: time.Second, Err: &types.ThrottlingException{Message: new(string)}})
	p.Upstream(c, metrics.Call{Operation: "ConverseStream", Err: &types.ModelStreamErrorException{Message: new(string)}})
	p.End(c)

	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gateway_requests_total", map[string]string{"route": "/api/v1/chat/completions", "status": "200", "model": listed}, 1},
		{"gateway_requests_total", map[string]string{"model": metrics.Other}, 1},
		{"gateway_tokens_total", map[string]string{"model": listed, "key": "alice", "type": "input"}, 1000},
		{"gateway_tokens_total", map[string]string{"model": listed, "key": "alice", "type": "output"}, 500},
		{"gateway_tokens_total", map[string]string{"model": listed, "key": "alice", "type": "cache_read"}, 2000},
		{"gateway_tokens_total", map[string]string{"model": listed, "key": "alice", "type": "cache_write"}, 400},
		{"gateway_cost_usd_total", map[string]string{"model": listed, "key": "alice"}, 0.0126},
		{"gateway_unknown_cost_requests_total", map[string]string{"model": unpriced, "key": "bob"}, 1},
		{"gateway_unknown_cost_requests_total", map[string]string{"model": listed, "key": "alice"}, 0},
		{"gateway_bedrock_retries_total", map[string]string{"model": listed, "operation": "Converse"}, 2},
		{"gateway_bedrock_errors_total", map[string]string{"operation": "ConverseStream", "exception": "ThrottlingException"}, 1},
		{"gateway_bedrock_errors_total", map[string]string{"operation": "ConverseStream", "exception": "ModelStreamErrorException"}, 1},
		{"gateway_upstream_duration_seconds", map[string]string{"model": listed, "operation": "Converse"}, 1},
		{"gateway_time_to_first_token_seconds", map[string]string{"model": unpriced}, 1},
		{"gateway_request_duration_seconds", map[string]string{"route": "/api/v1/chat/completions", "model": listed}, 1},
		{"gateway_overhead_seconds", map[string]string{"route": "/api/v1/chat/completions"}, 3},
		{"gateway_in_flight_requests", nil, 0},
		{"gateway_in_flight_streams", nil, 0},
		{"gateway_api_key_refreshes_total", nil, 7},
		{"gateway_api_key_refresh_failures_total", nil, 2},
		{"gateway_model_catalogue_refreshes_total", nil, 0},
		{"gateway_init_duration_seconds", nil, 0.25},
		{"gateway_start_time_seconds", nil, 1767225600},
		{"gateway_info", map[string]string{"version": "test", "runtime": "server"}, 1},
	}
	for _, c := range checks {
		if got := value(t, reg, c.name, c.labels); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s%v = %g, want %g", c.name, c.labels, got, c.want)
		}
	}
	// The unlisted id never becomes a label value.
	if n := seriesCount(t, reg, "gateway_tokens_total"); n != 12 { // 4 types × (alice/listed, bob/other, bob/unpriced)
		t.Errorf("%d token series, want 12", n)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range problems {
		if strings.HasPrefix(pr.Metric, "gateway_") {
			t.Errorf("lint: %s: %s", pr.Metric, pr.Text)
		}
	}
}

func TestPrometheusNeverUsesTheGlobalRegistry(t *testing.T) {
	before, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := prom.NewRegistry(testOptions(t)); err != nil {
		t.Fatal(err)
	}
	after, _ := prometheus.DefaultGatherer.Gather()
	for _, f := range after {
		if strings.HasPrefix(f.GetName(), "gateway_") {
			t.Errorf("%s is on the global registry", f.GetName())
		}
	}
	if len(after) != len(before) {
		t.Errorf("the global registry changed: %d families, then %d", len(before), len(after))
	}
}

func TestPrometheusTwiceOnOneRegistryFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := prom.New(reg, testOptions(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := prom.New(reg, testOptions(t)); err == nil {
		t.Error("registering twice must fail, not panic")
	}
}

// TestPrometheusEndAllocs guards the hot path: once a request's series
// exist, recording another costs no allocation.
func TestPrometheusEndAllocs(t *testing.T) {
	_, p, err := prom.NewRegistry(testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	ex := chatExchange(listed, "alice", cost.Usage{Input: 10, Output: 10})
	p.Begin(ex)
	p.End(ex)
	allocs := testing.AllocsPerRun(100, func() {
		p.Begin(ex)
		p.Upstream(ex, metrics.Call{Operation: "Converse", Duration: time.Second, Attempts: 1})
		p.End(ex)
	})
	if allocs != 0 {
		t.Errorf("%g allocations per request, want 0", allocs)
	}
}

func BenchmarkPrometheusRequest(b *testing.B) {
	_, p, err := prom.NewRegistry(testOptions(b))
	if err != nil {
		b.Fatal(err)
	}
	ex := chatExchange(listed, "alice", cost.Usage{Input: 1000, Output: 300})
	b.ReportAllocs()
	for b.Loop() {
		p.Begin(ex)
		p.Upstream(ex, metrics.Call{Operation: "Converse", Duration: time.Second, Attempts: 1})
		p.End(ex)
	}
}

// TestPrometheusPerKey checks requests, tokens and cost by key name, with
// the names past MaxKeyNames sharing "other" and no key as "none".
func TestPrometheusPerKey(t *testing.T) {
	o := testOptions(t)
	o.KeyNames = func() []string { return []string{"alice", "bob", "carol"} }
	o.MaxKeyNames = 2
	reg, p, err := prom.NewRegistry(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range []*metrics.Exchange{
		chatExchange(listed, "alice", cost.Usage{Input: 1000, Output: 100}),
		chatExchange(listed, "alice", cost.Usage{Input: 1000, Output: 100, CacheRead: 10, CacheWrite: 20}),
		chatExchange(listed, "bob", cost.Usage{Input: 10}),
		chatExchange(listed, "carol", cost.Usage{Input: 1}),
		{Route: "/api/v1/models", Method: "GET", Status: 200, Key: "bob"},
		{Route: "/api/v1/chat/completions", Method: "POST", Status: 401},
		chatExchange(listed, "", cost.Usage{Input: 3}), // authentication off
	} {
		p.Begin(ex)
		p.End(ex)
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gateway_key_requests_total", map[string]string{"key": "alice"}, 2},
		{"gateway_key_requests_total", map[string]string{"key": "bob"}, 2},
		{"gateway_key_requests_total", map[string]string{"key": metrics.Other}, 1},
		{"gateway_tokens_total", map[string]string{"model": listed, "key": "alice", "type": "input"}, 2000},
		{"gateway_tokens_total", map[string]string{"model": listed, "key": "alice", "type": "cache_read"}, 10},
		{"gateway_tokens_total", map[string]string{"model": listed, "key": "alice", "type": "cache_write"}, 20},
		{"gateway_tokens_total", map[string]string{"model": listed, "key": metrics.Other, "type": "input"}, 1},
		{"gateway_tokens_total", map[string]string{"model": listed, "key": metrics.NoKey, "type": "input"}, 3},
		// 2 × (1000×3 + 100×15) + 10×0.3 + 20×3.75 = 9078 per million
		{"gateway_cost_usd_total", map[string]string{"model": listed, "key": "alice"}, 0.009078},
		{"gateway_cost_usd_total", map[string]string{"model": listed, "key": "bob"}, 0.00003},
	}
	for _, c := range checks {
		if got := value(t, reg, c.name, c.labels); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s%v = %g, want %g", c.name, c.labels, got, c.want)
		}
	}
	// alice, bob and other; the unauthenticated request and no key have none.
	if n := seriesCount(t, reg, "gateway_key_requests_total"); n != 3 {
		t.Errorf("%d per-key request series, want 3", n)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "key" && l.GetValue() == "carol" {
					t.Errorf("%s has key=carol, a name past the cap", f.GetName())
				}
			}
		}
	}
}

// TestPrometheusFailovers counts the requests a fallback region or model
// served, by where they were served.
func TestPrometheusFailovers(t *testing.T) {
	reg, p, err := prom.NewRegistry(testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, failedOver := range []bool{true, true, false} {
		ex := chatExchange(listed, "alice", cost.Usage{Input: 10})
		ex.Region, ex.FailedOver = "us-west-2", failedOver
		p.Begin(ex)
		p.End(ex)
	}
	if got := value(t, reg, "gateway_failovers_total", map[string]string{"region": "us-west-2", "model": listed}); got != 2 {
		t.Errorf("got %g failovers, want 2", got)
	}
}
