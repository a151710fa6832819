package grafana

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/metrics/prom"
)

type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(tb testing.TB) dashboard {
	tb.Helper()
	b, err := os.ReadFile("gateway-dashboard.json")
	if err != nil {
		tb.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		tb.Fatalf("the dashboard is not JSON: %v", err)
	}
	return d
}

// registered builds the registry as cmd/gateway does and records one
// request of each kind, so every labelled family has a series to gather.
func registered(tb testing.TB) map[string]bool {
	tb.Helper()
	prices, err := cost.DefaultPrices()
	if err != nil {
		tb.Fatal(err)
	}
	const model = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
	reg, obs, err := prom.NewRegistry(metrics.Options{Prices: prices, Region: "us-east-1",
		Catalogue: bedrock.NewStaticCatalogue(model), Version: "test", Runtime: "server"})
	if err != nil {
		tb.Fatal(err)
	}
	obs.Started(time.Now(), time.Second)
	msg := "slow down"
	for _, id := range []string{model, "acme.unpriced-v1"} {
		ex := &metrics.Exchange{Route: "/api/v1/chat/completions", Status: 200, Model: id, Key: "k", Stream: true,
			Usage: cost.Usage{Input: 1, Output: 1}, Duration: time.Second, Upstream: time.Second / 2, TTFT: time.Second / 2,
			Region: "us-west-2", FailedOver: true}
		obs.Begin(ex)
		obs.StreamStarted(ex)
		obs.Upstream(ex, metrics.Call{Operation: "ConverseStream", Duration: time.Second, Attempts: 2, Err: &types.ThrottlingException{Message: &msg}})
		obs.End(ex)
	}
	families, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	names := map[string]bool{}
	// The names series have in Prometheus: a classic histogram's are its
	// _bucket, _sum and _count, never its own name.
	for _, f := range families {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[f.GetName()+"_bucket"], names[f.GetName()+"_sum"], names[f.GetName()+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[f.GetName()], names[f.GetName()+"_sum"], names[f.GetName()+"_count"] = true, true, true
		default:
			names[f.GetName()] = true
		}
	}
	return names
}

// grafanaVars are Grafana's built-in interval variables, which PromQL
// cannot parse; a duration stands in for them.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "6h")

// metricNames parses expr and returns the metric names it selects.
func metricNames(expr string) ([]string, error) {
	e, err := parser.ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		return nil, err
	}
	var names []string
	var unnamed error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			if vs.Name == "" {
				unnamed = errors.New("a selector without a metric name")
			}
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, unnamed
}

func TestDashboardQueriesUseRegisteredMetrics(t *testing.T) {
	d := loadDashboard(t)
	have := registered(t)
	used := map[string]bool{}
	exprs := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		for _, tg := range p.Targets {
			exprs++
			names, err := metricNames(tg.Expr)
			if err != nil {
				t.Errorf("panel %q: %q does not parse: %v", p.Title, tg.Expr, err)
				continue
			}
			if len(names) == 0 {
				t.Errorf("panel %q: %q selects no metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				used[n] = true
				if !have[n] {
					t.Errorf("panel %q: %s is not a metric the gateway registers", p.Title, n)
				}
			}
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((\w+),\s*\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil || !have[m[1]] {
			t.Errorf("variable %s: %q names no registered metric", v.Name, v.Definition)
		}
	}
	if exprs < 20 {
		t.Errorf("%d queries, want the whole dashboard (at least 20)", exprs)
	}
	// What the dashboard is for: traffic, latency, TTFT, tokens, cost by
	// model and key, errors.
	for _, want := range []string{"gateway_requests_total", "gateway_request_duration_seconds_bucket",
		"gateway_time_to_first_token_seconds_bucket", "gateway_upstream_duration_seconds_bucket", "gateway_overhead_seconds_bucket",
		"gateway_tokens_total", "gateway_cost_usd_total", "gateway_unknown_cost_requests_total", "gateway_bedrock_errors_total",
		"gateway_bedrock_retries_total", "gateway_in_flight_requests", "gateway_in_flight_streams", "gateway_key_requests_total", "gateway_failovers_total"} {
		if !used[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
}

func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("uid %q title %q", d.UID, d.Title)
	}
	var ids []int
	for _, p := range d.Panels {
		if slices.Contains(ids, p.ID) {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids = append(ids, p.ID)
	}
}

// TestMetricNamesCatchesMistakes checks the check: an unknown metric, a
// typo and broken syntax are all caught.
func TestMetricNamesCatchesMistakes(t *testing.T) {
	have := registered(t)
	tests := []struct {
		expr    string
		wantErr bool
		unknown string
	}{
		{`sum(rate(gateway_tokens_totl[$__rate_interval]))`, false, "gateway_tokens_totl"},
		{`histogram_quantile(0.9, rate(gateway_request_duration_seconds[5m]))`, false, "gateway_request_duration_seconds"},
		{`sum by (model (rate(gateway_tokens_total[5m]))`, true, ""},
		{`{model="x"}`, true, ""},
	}
	for _, tt := range tests {
		names, err := metricNames(tt.expr)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.expr, err, tt.wantErr)
		}
		if tt.unknown != "" && (len(names) != 1 || names[0] != tt.unknown || have[tt.unknown]) {
			t.Errorf("%q: names %v, want the unregistered %s", tt.expr, names, tt.unknown)
		}
	}
}
