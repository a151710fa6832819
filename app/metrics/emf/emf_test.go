package emf_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/metrics/emf"
)

// The test model ids and helpers are those of package prom's tests.
const (
	listed   = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	sonnet45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
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
		sonnet45: {TokenPrice: cost.TokenPrice{Input: 3, Output: 15, CacheRead: &read, CacheWrite: &write}},
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

// emfLine is an EMF log event, decoded loosely.
type emfLine map[string]any

// parseEMF decodes JSON lines and checks each against the EMF
// specification: an _aws member with a millisecond Timestamp and
// CloudWatchMetrics directives, whose dimension members are non-empty
// strings and whose metrics are numbers in the line.
func parseEMF(tb testing.TB, out string) []emfLine {
	tb.Helper()
	var lines []emfLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l emfLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			tb.Fatalf("EMF line is not JSON: %v: %s", err, sc.Text())
		}
		var meta struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		}
		raw, _ := json.Marshal(l["_aws"])
		if err := json.Unmarshal(raw, &meta); err != nil || meta.Timestamp < 1e12 || len(meta.CloudWatchMetrics) == 0 {
			tb.Fatalf("bad _aws member %s (%v)", raw, err)
		}
		for _, d := range meta.CloudWatchMetrics {
			if d.Namespace != emf.DefaultNamespace || len(d.Dimensions) != 1 || len(d.Metrics) == 0 || len(d.Metrics) > 100 {
				tb.Errorf("bad directive %+v", d)
			}
			if dims := strings.Join(d.Dimensions[0], ","); strings.Contains(dims, "Model") && strings.Contains(dims, "KeyName") {
				tb.Errorf("dimension set %s crosses model with key: a billed metric per pair", dims)
			}
			for _, dim := range d.Dimensions[0] {
				if s, ok := l[dim].(string); !ok || s == "" {
					tb.Errorf("dimension %s is %v, want a non-empty string", dim, l[dim])
				}
			}
			for _, m := range d.Metrics {
				if _, ok := l[m.Name].(float64); !ok {
					tb.Errorf("metric %s is %v, want a number", m.Name, l[m.Name])
				}
				switch m.Unit {
				case "Count", "Milliseconds", "None":
				default:
					tb.Errorf("metric %s has unit %q", m.Name, m.Unit)
				}
			}
		}
		lines = append(lines, l)
	}
	return lines
}

func TestEMFLines(t *testing.T) {
	var out bytes.Buffer
	reads := int64(1)
	o := testOptions(t)
	o.KeyRefreshes = func() (int64, int64) { return reads, 0 }
	e := emf.New(&out, "", o)
	e.Started(time.Now(), 180*time.Millisecond)

	a := chatExchange(listed, "alice", cost.Usage{Input: 1000, Output: 500, CacheRead: 2000, CacheWrite: 400})
	a.RequestID = "req-1"
	a.AddCall(metrics.Call{Operation: "Converse", Attempts: 2, RequestID: "bedrock-1"})
	e.Begin(a)
	e.End(a)

	h := &metrics.Exchange{Route: "", Status: 404, Duration: time.Millisecond}
	e.End(h)

	reads = 3
	s := chatExchange(unpriced, "", cost.Usage{Input: 5, Output: 5})
	s.Stream, s.TTFT = true, 250*time.Millisecond
	s.AddCall(metrics.Call{Operation: "ConverseStream", Err: &types.ModelStreamErrorException{Message: new(string)}})
	e.End(s)

	lines := parseEMF(t, out.String())
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want init + 3:\n%s", len(lines), out.String())
	}
	checks := []struct {
		line int
		key  string
		want any
	}{
		{0, "ColdStart", 1.0}, {0, "InitDuration", 180.0},
		{1, "Route", "/api/v1/chat/completions"}, {1, "Status", "200"}, {1, "Model", listed}, {1, "KeyName", "alice"},
		{1, "Requests", 1.0}, {1, "Latency", 1500.0}, {1, "Overhead", 100.0}, {1, "UpstreamLatency", 1400.0},
		{1, "InputTokens", 1000.0}, {1, "OutputTokens", 500.0}, {1, "CacheReadTokens", 2000.0}, {1, "CacheWriteTokens", 400.0},
		{1, "UnknownCost", 0.0}, {1, "BedrockRetries", 1.0}, {1, "RequestId", "req-1"}, {1, "BedrockRequestId", "bedrock-1"},
		{1, "KeyRefreshes", 1.0}, // the first load, counted on the first line
		{2, "Route", "unmatched"}, {2, "Status", "404"}, {2, "Model", nil}, {2, "InputTokens", nil}, {2, "KeyRefreshes", nil},
		{3, "Model", unpriced}, {3, "KeyName", "none"}, {3, "UnknownCost", 1.0}, {3, "TimeToFirstToken", 250.0},
		{3, "ExceptionType", "ModelStreamErrorException"}, {3, "BedrockErrors", 1.0}, {3, "KeyRefreshes", 2.0}, {3, "Stream", true},
	}
	for _, c := range checks {
		if got := lines[c.line][c.key]; got != c.want {
			t.Errorf("line %d %s = %v, want %v", c.line, c.key, got, c.want)
		}
	}
	if got := lines[1]["CostUSD"].(float64); math.Abs(got-0.0126) > 1e-12 {
		t.Errorf("CostUSD %g, want 0.0126", got)
	}
	if strings.Contains(out.String(), "sk-") {
		t.Error("an EMF line holds something like a key")
	}
}

// TestEMFOtherModel checks that an id the catalogue does not list is never
// a dimension value.
func TestEMFOtherModel(t *testing.T) {
	var out bytes.Buffer
	e := emf.New(&out, "", testOptions(t))
	e.End(chatExchange("arn:aws:bedrock:us-east-1:123456789012:custom-model/secret-name", "k", cost.Usage{Input: 1}))
	lines := parseEMF(t, out.String())
	if got := lines[0]["Model"]; got != metrics.Other {
		t.Errorf("Model %v, want %q", got, metrics.Other)
	}
	if strings.Contains(out.String(), "secret-name") {
		t.Error("the unlisted id leaked into the line")
	}
}

// directives returns a line's dimension sets, each with its metric names.
func directives(tb testing.TB, l emfLine) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	for _, d := range l["_aws"].(map[string]any)["CloudWatchMetrics"].([]any) {
		dir := d.(map[string]any)
		var dims []string
		for _, dim := range dir["Dimensions"].([]any)[0].([]any) {
			dims = append(dims, dim.(string))
		}
		var names []string
		for _, m := range dir["Metrics"].([]any) {
			names = append(names, m.(map[string]any)["Name"].(string))
		}
		out[strings.Join(dims, ",")] = names
	}
	return out
}

// TestEMFPerKey checks the KeyName metric set: requests of every
// authenticated request, tokens and cost with usage, names past the cap as
// "other".
func TestEMFPerKey(t *testing.T) {
	var out bytes.Buffer
	o := testOptions(t)
	o.KeyNames = func() []string { return []string{"alice", "bob"} }
	o.MaxKeyNames = 1
	e := emf.New(&out, "", o)
	e.End(chatExchange(listed, "alice", cost.Usage{Input: 1000, Output: 100, CacheRead: 10, CacheWrite: 20}))
	e.End(&metrics.Exchange{Route: "/api/v1/models", Status: 200, Key: "bob"})
	e.End(&metrics.Exchange{Route: "/api/v1/models", Status: 401})

	lines := parseEMF(t, out.String())
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out.String())
	}
	want := "Requests,InputTokens,OutputTokens,CacheReadTokens,CacheWriteTokens,CostUSD"
	if got := strings.Join(directives(t, lines[0])["KeyName"], ","); got != want {
		t.Errorf("KeyName metrics %s, want %s", got, want)
	}
	checks := []struct {
		line int
		key  string
		want any
	}{
		{0, "KeyName", "alice"}, {0, "Requests", 1.0}, {0, "CacheReadTokens", 10.0}, {0, "CacheWriteTokens", 20.0},
		{1, "KeyName", metrics.Other}, {1, "Requests", 1.0}, {1, "InputTokens", nil},
		{2, "KeyName", nil},
	}
	for _, c := range checks {
		if got := lines[c.line][c.key]; got != c.want {
			t.Errorf("line %d %s = %v, want %v", c.line, c.key, got, c.want)
		}
	}
	if got := strings.Join(directives(t, lines[1])["KeyName"], ","); got != "Requests" {
		t.Errorf("KeyName metrics without usage %s, want Requests", got)
	}
	if _, ok := directives(t, lines[2])["KeyName"]; ok {
		t.Error("an unauthenticated request has a KeyName metric set")
	}
}

// TestEMFFailovers: a request a fallback served counts in Failovers, with
// the region as a property, not a dimension (a billed metric per region).
func TestEMFFailovers(t *testing.T) {
	var out bytes.Buffer
	e := emf.New(&out, "", testOptions(t))
	ex := chatExchange(listed, "k", cost.Usage{Input: 1})
	ex.Region, ex.FailedOver = "us-west-2", true
	e.End(ex)
	ex = chatExchange(listed, "k", cost.Usage{Input: 1})
	ex.Region = "us-east-1"
	e.End(ex)
	lines := parseEMF(t, out.String())
	if lines[0]["Failovers"] != float64(1) || lines[0]["Region"] != "us-west-2" || !strings.Contains(strings.Join(directives(t, lines[0])[""], ","), "Failovers") {
		t.Errorf("failed-over line: Failovers %v, Region %v, totals %v", lines[0]["Failovers"], lines[0]["Region"], directives(t, lines[0])[""])
	}
	if _, ok := lines[1]["Failovers"]; ok || lines[1]["Region"] != "us-east-1" {
		t.Errorf("line served in the gateway's region: Failovers %v, Region %v", lines[1]["Failovers"], lines[1]["Region"])
	}
}
