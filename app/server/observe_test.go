package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/metrics/prom"
	"github.com/openbedrock/gateway/app/server"
)

const (
	modelTitan  = "amazon.titan-embed-text-v2:0"
	modelLlama  = "meta.llama3-1-8b-instruct-v1:0" // served, but neither listed nor priced here
	secretWords = "zebra-quartz-umbrella"          // prompt text that must never reach the logs
)

// observedHarness is a harness whose gateway reports to Prometheus metrics
// served on their own listener, as cmd/gateway's METRICS_ADDR does.
type observedHarness struct {
	*harness
	metricsURL string
}

func newObservedHarness(tb testing.TB, configure ...func(*server.Options)) *observedHarness {
	tb.Helper()
	return newObservedHarnessWith(tb, metrics.Options{}, configure...)
}

// newObservedHarnessWith is newObservedHarness with the key-name options
// of mo (KeyNames, MaxKeyNames).
func newObservedHarnessWith(tb testing.TB, mo metrics.Options, configure ...func(*server.Options)) *observedHarness {
	tb.Helper()
	prices, err := cost.DefaultPrices()
	if err != nil {
		tb.Fatal(err)
	}
	read, write, write1h := 0.3, 3.75, 6.0
	prices.Merge(&cost.Prices{Tokens: cost.TokenTable{Models: map[string]cost.ModelPrice{
		"anthropic.claude-sonnet-4-5-20250929-v1:0": {TokenPrice: cost.TokenPrice{Input: 3, Output: 15, CacheRead: &read, CacheWrite: &write, CacheWrite1h: &write1h}},
		modelTitan: {TokenPrice: cost.TokenPrice{Input: 0.02}},
	}}})
	delete(prices.Tokens.Models, modelLlama)
	catalogue := bedrock.NewStaticCatalogue(modelClaude, modelTitan)
	reg, obs, err := prom.NewRegistry(metrics.Options{Prices: prices, Region: "us-east-1", Catalogue: catalogue, Version: "test", Runtime: "server",
		KeyNames: mo.KeyNames, MaxKeyNames: mo.MaxKeyNames})
	if err != nil {
		tb.Fatal(err)
	}
	ms := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	tb.Cleanup(ms.Close)
	h := newHarness(tb, append([]func(*server.Options){func(o *server.Options) {
		o.Observer = obs
		o.Catalogue = catalogue
	}}, configure...)...)
	return &observedHarness{harness: h, metricsURL: ms.URL}
}

// scrape reads /metrics as the Prometheus server would.
func (h *observedHarness) scrape(tb testing.TB) map[string]*dto.MetricFamily {
	tb.Helper()
	resp, err := http.Get(h.metricsURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// sample returns the value of the series of name with labels (a histogram's
// count); missing is -1.
func sample(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := families[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range labels {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}

// logLines decodes the access log lines.
func logLines(tb testing.TB, logs string) []map[string]any {
	tb.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			tb.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func accessLine(tb testing.TB, logs, requestID string) map[string]any {
	tb.Helper()
	for _, l := range logLines(tb, logs) {
		if l["request_id"] == requestID {
			return l
		}
	}
	tb.Fatalf("no access log line for request %s in:\n%s", requestID, logs)
	return nil
}

func postWithID(tb testing.TB, h *harness, path, id, body string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestMetricsAfterTraffic scripts traffic through the emulator and checks
// the exact token and cost counts /metrics reports.
func TestMetricsAfterTraffic(t *testing.T) {
	h := newObservedHarness(t)
	h.emu.Script(func(r bedrocktest.Request) *bedrocktest.Reply {
		if r.Operation == "ConverseStream" {
			return &bedrocktest.Reply{Text: []string{"a", "b"}, Usage: &bedrocktest.Usage{InputTokens: 7, OutputTokens: 3}}
		}
		return &bedrocktest.Reply{Text: []string{"ok"}, Usage: &bedrocktest.Usage{InputTokens: 10, OutputTokens: 4, CacheReadInputTokens: 3, CacheWriteInputTokens: 2}}
	})
	chat := `{"model":"` + modelClaude + `","messages":[{"role":"user","content":"hi"}]}`
	if r := postWithID(t, h.harness, "/api/v1/chat/completions", "req-plain", chat); r.StatusCode != 200 {
		t.Fatalf("chat status %d", r.StatusCode)
	}
	stream := `{"model":"` + modelClaude + `","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	if r := postWithID(t, h.harness, "/api/v1/chat/completions", "req-stream", stream); r.StatusCode != 200 {
		t.Fatalf("stream status %d", r.StatusCode)
	}
	emb := `{"model":"` + modelTitan + `","input":"hello embeddings"}` // 16 characters: 5 tokens in the emulator
	if r := postWithID(t, h.harness, "/api/v1/embeddings", "req-embed", emb); r.StatusCode != 200 {
		t.Fatalf("embeddings status %d", r.StatusCode)
	}
	unlisted := `{"model":"` + modelLlama + `","messages":[{"role":"user","content":"hi"}]}`
	if r := postWithID(t, h.harness, "/api/v1/chat/completions", "req-unlisted", unlisted); r.StatusCode != 200 {
		t.Fatalf("unlisted model status %d", r.StatusCode)
	}
	throttled := `{"model":"` + modelClaude + `","messages":[{"role":"user","content":"@emulate-error ThrottlingException"}]}`
	h.emu.Script(nil)
	if r := postWithID(t, h.harness, "/api/v1/chat/completions", "req-throttled", throttled); r.StatusCode != 429 {
		t.Fatalf("throttled status %d", r.StatusCode)
	}

	m := h.scrape(t)
	key := map[string]string{"model": modelClaude, "key": "default"}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range key {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gateway_tokens_total", with(map[string]string{"type": "input"}), 17}, // 10 + 7
		{"gateway_tokens_total", with(map[string]string{"type": "output"}), 7}, // 4 + 3
		{"gateway_tokens_total", with(map[string]string{"type": "cache_read"}), 3},
		{"gateway_tokens_total", with(map[string]string{"type": "cache_write"}), 2},
		{"gateway_tokens_total", map[string]string{"model": modelTitan, "type": "input"}, 5},
		{"gateway_tokens_total", map[string]string{"model": metrics.Other, "type": "input"}, 10},
		{"gateway_unknown_cost_requests_total", map[string]string{"model": metrics.Other}, 1},
		{"gateway_requests_total", map[string]string{"route": "/api/v1/chat/completions", "status": "200", "model": modelClaude}, 2},
		{"gateway_requests_total", map[string]string{"route": "/api/v1/chat/completions", "status": "429", "model": modelClaude}, 1},
		{"gateway_requests_total", map[string]string{"route": "/api/v1/embeddings", "status": "200", "model": modelTitan}, 1},
		{"gateway_bedrock_errors_total", map[string]string{"operation": "Converse", "exception": "ThrottlingException"}, 1},
		{"gateway_upstream_duration_seconds", map[string]string{"model": modelClaude, "operation": "Converse"}, 2},
		{"gateway_upstream_duration_seconds", map[string]string{"model": modelClaude, "operation": "ConverseStream"}, 1},
		{"gateway_upstream_duration_seconds", map[string]string{"model": modelTitan, "operation": "InvokeModel"}, 1},
		{"gateway_time_to_first_token_seconds", map[string]string{"model": modelClaude}, 1},
		{"gateway_overhead_seconds", map[string]string{"route": "/api/v1/chat/completions"}, 4},
		{"gateway_in_flight_requests", nil, 0},
		{"gateway_in_flight_streams", nil, 0},
	}
	for _, c := range checks {
		if got := sample(m, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %g, want %g", c.name, c.labels, got, c.want)
		}
	}
	// Claude at 3/15/0.3/3.75 USD per million tokens:
	// (10×3 + 4×15 + 3×0.3 + 2×3.75) + (7×3 + 3×15) = 98.4 + 66 = 164.4 per million.
	if got := sample(m, "gateway_cost_usd_total", key); math.Abs(got-0.0001644) > 1e-15 {
		t.Errorf("Claude cost %.10g USD, want 0.0001644", got)
	}
	// Titan: 5 × 0.02 per million.
	if got := sample(m, "gateway_cost_usd_total", map[string]string{"model": modelTitan}); math.Abs(got-1e-7) > 1e-18 {
		t.Errorf("Titan cost %.10g USD, want 1e-7", got)
	}
	for name, f := range m {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "model" && l.GetValue() == modelLlama {
					t.Errorf("%s has the unlisted model as a label value", name)
				}
			}
		}
	}

	line := accessLine(t, h.logs.String(), "req-plain")
	if line["input_tokens"] != 10.0 || line["output_tokens"] != 4.0 || line["cache_read_tokens"] != 3.0 || line["cache_write_tokens"] != 2.0 {
		t.Errorf("log tokens %v %v %v %v", line["input_tokens"], line["output_tokens"], line["cache_read_tokens"], line["cache_write_tokens"])
	}
	if c, _ := line["cost_usd"].(float64); math.Abs(c-0.0000984) > 1e-15 || line["cost_known"] != true {
		t.Errorf("log cost %v known %v, want 0.0000984 true", line["cost_usd"], line["cost_known"])
	}
	if id, _ := line["bedrock_request_id"].(string); len(id) < 8 {
		t.Errorf("bedrock_request_id %q", id)
	}
	if s := accessLine(t, h.logs.String(), "req-stream"); s["stream"] != true || s["ttft_ms"].(float64) <= 0 || s["input_tokens"] != 7.0 {
		t.Errorf("stream log line %v", s)
	}
	if u := accessLine(t, h.logs.String(), "req-unlisted"); u["cost_known"] != false || u["cost_usd"] != 0.0 {
		t.Errorf("unpriced model: cost %v known %v, want unknown", u["cost_usd"], u["cost_known"])
	}
	if th := accessLine(t, h.logs.String(), "req-throttled"); th["bedrock_error"] != "ThrottlingException" || th["status"] != 429.0 {
		t.Errorf("throttled line %v", th)
	}
}

// TestRequestIDReachesBedrock checks the request id travels in Converse's
// requestMetadata, for Bedrock's invocation logs.
func TestRequestIDReachesBedrock(t *testing.T) {
	h := newObservedHarness(t)
	for _, stream := range []bool{false, true} {
		id := "trace-" + strconv.FormatBool(stream)
		body := `{"model":"` + modelClaude + `","stream":` + strconv.FormatBool(stream) + `,"messages":[{"role":"user","content":"hi"}]}`
		resp := postWithID(t, h.harness, "/api/v1/chat/completions", id, body)
		if resp.Header.Get("X-Request-Id") != id {
			t.Errorf("X-Request-Id %q, want %q echoed", resp.Header.Get("X-Request-Id"), id)
		}
		op := "Converse"
		if stream {
			op = "ConverseStream"
		}
		got := converseBody(t, h.lastRequest(t, op))["requestMetadata"]
		if md, _ := got.(map[string]any); md["gateway_request_id"] != id {
			t.Errorf("%s requestMetadata %v, want gateway_request_id %s", op, got, id)
		}
	}
}

func TestOverheadHeader(t *testing.T) {
	h := newObservedHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"slow"}, Delay: 300 * time.Millisecond}
	})
	for _, stream := range []bool{false, true} {
		id := "overhead-" + strconv.FormatBool(stream)
		body := `{"model":"` + modelClaude + `","stream":` + strconv.FormatBool(stream) + `,"messages":[{"role":"user","content":"hi"}]}`
		resp := postWithID(t, h.harness, "/api/v1/chat/completions", id, body)
		v := resp.Header.Get(server.OverheadHeader)
		header, err := strconv.ParseFloat(v, 64)
		if err != nil || header < 0 {
			t.Fatalf("%s: %q, want milliseconds", server.OverheadHeader, v)
		}
		line := accessLine(t, h.logs.String(), id)
		upstream, latency := line["upstream_ms"].(float64), line["latency_ms"].(float64)
		// Bedrock's 300 ms are subtracted: the overhead is what is left.
		if upstream < 300 || header+upstream > latency+0.001 || line["overhead_ms"] != header {
			t.Errorf("stream %v: overhead %g ms, upstream %g ms, latency %g ms, logged overhead %v", stream, header, upstream, latency, line["overhead_ms"])
		}
	}
}

// retrying makes every call allow 3 attempts with no backoff.
type retrying struct{ bedrock.Runtime }

func (r retrying) opt(o *bedrockruntime.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 3
		so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

func (r retrying) Converse(ctx context.Context, in *bedrockruntime.ConverseInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.ConverseOutput, error) {
	return r.Runtime.Converse(ctx, in, append([]func(*bedrockruntime.Options){r.opt}, opts...)...)
}

func TestRetriesCounted(t *testing.T) {
	h := newObservedHarness(t, func(o *server.Options) { o.Bedrock = retrying{o.Bedrock} })
	var calls atomic.Int32
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		if calls.Add(1) == 1 {
			return &bedrocktest.Reply{Error: &bedrocktest.Error{Type: "ThrottlingException", Message: "slow down"}}
		}
		return &bedrocktest.Reply{Text: []string{"ok"}}
	})
	if r := postWithID(t, h.harness, "/api/v1/chat/completions", "retried", `{"model":"`+modelClaude+`","messages":[{"role":"user","content":"hi"}]}`); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if got := sample(h.scrape(t), "gateway_bedrock_retries_total", map[string]string{"model": modelClaude, "operation": "Converse"}); got != 1 {
		t.Errorf("retries %g, want 1", got)
	}
	if line := accessLine(t, h.logs.String(), "retried"); line["retries"] != 1.0 {
		t.Errorf("logged retries %v, want 1", line["retries"])
	}
}

func TestStreamExceptionCounted(t *testing.T) {
	h := newObservedHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"a", "b", "c"}, StreamError: &bedrocktest.Error{Type: "ModelStreamErrorException", Message: "model broke"}, StreamErrorAfter: 2}
	})
	postWithID(t, h.harness, "/api/v1/chat/completions", "broken", `{"model":"`+modelClaude+`","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if got := sample(h.scrape(t), "gateway_bedrock_errors_total", map[string]string{"operation": "ConverseStream", "exception": "ModelStreamErrorException"}); got != 1 {
		t.Errorf("stream exceptions %g, want 1", got)
	}
	if line := accessLine(t, h.logs.String(), "broken"); line["bedrock_error"] != "ModelStreamErrorException" {
		t.Errorf("logged bedrock_error %v", line["bedrock_error"])
	}
}

// TestLogsHoldNoPromptOrKey: by default neither the prompt, the completion
// nor the key reaches the logs; with LOG_BODIES both bodies do, capped.
func TestLogsHoldNoPromptOrKey(t *testing.T) {
	completion := "answer-" + secretWords
	script := func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{completion}}
	}
	body := `{"model":"` + modelClaude + `","messages":[{"role":"user","content":"tell me about ` + secretWords + `"}]}`
	stream := `{"model":"` + modelClaude + `","stream":true,"messages":[{"role":"user","content":"tell me about ` + secretWords + `"}]}`

	h := newObservedHarness(t)
	h.emu.Script(script)
	postWithID(t, h.harness, "/api/v1/chat/completions", "quiet", body)
	postWithID(t, h.harness, "/api/v1/chat/completions", "quiet-stream", stream)
	postWithID(t, h.harness, "/api/v1/embeddings", "quiet-embed", `{"model":"`+modelTitan+`","input":"`+secretWords+`"}`)
	h.post(t, "/api/v1/chat/completions", "sk-wrong-"+secretWords, body)
	logs := h.logs.String()
	for _, secret := range []string{secretWords, testKey, "sk-wrong"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs contain %q:\n%s", secret, logs)
		}
	}
	if len(logLines(t, logs)) != 4 {
		t.Errorf("want 4 access lines, got:\n%s", logs)
	}

	loud := newObservedHarness(t, func(o *server.Options) { o.LogBodies, o.LogBodiesMaxBytes = true, 64 })
	loud.emu.Script(script)
	postWithID(t, loud.harness, "/api/v1/chat/completions", "loud", body)
	line := accessLine(t, loud.logs.String(), "loud")
	req, resp := line["request_body"].(string), line["response_body"].(string)
	if !strings.Contains(req, `"model":"`+modelClaude) || len(req) != 64 || line["request_body_truncated"] != true {
		t.Errorf("request_body %q (truncated %v), want the first 64 bytes", req, line["request_body_truncated"])
	}
	if len(resp) != 64 || line["response_body_truncated"] != true {
		t.Errorf("response_body %q, want 64 bytes, truncated", resp)
	}
	if strings.Contains(loud.logs.String(), testKey) {
		t.Error("the key reached the logs with LOG_BODIES on")
	}
}

// TestOneHourCacheWritesPriced sends a cache_control breakpoint with a
// 1-hour TTL: the emulator reports the write under cacheDetails with that
// TTL, and the request's cost prices it at the 1-hour write price.
func TestOneHourCacheWritesPriced(t *testing.T) {
	h := newObservedHarness(t)
	long := strings.Repeat("context ", 50) // 400 characters: 100 tokens written
	body := `{"model":"` + modelClaude + `","messages":[{"role":"user","content":[{"type":"text","text":"` + long +
		`","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"text","text":"question"}]}]}`
	if r := postWithID(t, h.harness, "/api/v1/chat/completions", "req-1h", body); r.StatusCode != 200 {
		t.Fatalf("chat status %d", r.StatusCode)
	}
	line := accessLine(t, h.logs.String(), "req-1h")
	in, _ := line["input_tokens"].(float64)
	out, _ := line["output_tokens"].(float64)
	if line["cache_write_tokens"] != 100.0 {
		t.Fatalf("cache_write_tokens %v, want 100", line["cache_write_tokens"])
	}
	// Sonnet 4.5 at 3/15, 1-hour writes at 6 (5-minute ones would be 3.75).
	want := (in*3 + out*15 + 100*6) / 1e6
	if c, _ := line["cost_usd"].(float64); math.Abs(c-want) > 1e-12 {
		t.Errorf("cost %v, want %v (100 tokens written for 1 hour at 6 per million)", c, want)
	}
}

// TestMetricsCoverResponses: POST /responses, plain and streamed, counts in
// the metrics, the access log and the cost as chat does.
func TestMetricsCoverResponses(t *testing.T) {
	h := newObservedHarness(t)
	h.emu.Script(func(r bedrocktest.Request) *bedrocktest.Reply {
		if r.Operation == "ConverseStream" {
			return &bedrocktest.Reply{Text: []string{"a", "b"}, Usage: &bedrocktest.Usage{InputTokens: 7, OutputTokens: 3}}
		}
		return &bedrocktest.Reply{Text: []string{"ok"}, Usage: &bedrocktest.Usage{InputTokens: 10, OutputTokens: 4, CacheReadInputTokens: 3, CacheWriteInputTokens: 2}}
	})
	for id, stream := range map[string]string{"resp-plain": "false", "resp-stream": "true"} {
		body := `{"model":"` + modelClaude + `","stream":` + stream + `,"input":"hi"}`
		if r := postWithID(t, h.harness, "/api/v1/responses", id, body); r.StatusCode != 200 {
			t.Fatalf("%s: status %d", id, r.StatusCode)
		}
	}
	m := h.scrape(t)
	key := map[string]string{"model": modelClaude, "key": "default"}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gateway_tokens_total", map[string]string{"model": modelClaude, "type": "input"}, 17},
		{"gateway_tokens_total", map[string]string{"model": modelClaude, "type": "output"}, 7},
		{"gateway_tokens_total", map[string]string{"model": modelClaude, "type": "cache_read"}, 3},
		{"gateway_requests_total", map[string]string{"route": "/api/v1/responses", "status": "200", "model": modelClaude}, 2},
		{"gateway_upstream_duration_seconds", map[string]string{"model": modelClaude, "operation": "ConverseStream"}, 1},
		{"gateway_time_to_first_token_seconds", map[string]string{"model": modelClaude}, 1},
		{"gateway_overhead_seconds", map[string]string{"route": "/api/v1/responses"}, 2},
		{"gateway_in_flight_streams", nil, 0},
	} {
		if got := sample(m, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %g, want %g", c.name, c.labels, got, c.want)
		}
	}
	// The same traffic as TestMetricsAfterTraffic's chat: 164.4 USD per million.
	if got := sample(m, "gateway_cost_usd_total", key); math.Abs(got-0.0001644) > 1e-15 {
		t.Errorf("cost %.10g USD, want 0.0001644", got)
	}
	if s := accessLine(t, h.logs.String(), "resp-stream"); s["stream"] != true || s["input_tokens"] != 7.0 || s["output_tokens"] != 3.0 {
		t.Errorf("stream log line %v", s)
	}
	if p := accessLine(t, h.logs.String(), "resp-plain"); p["input_tokens"] != 10.0 || p["cache_read_tokens"] != 3.0 || p["cost_known"] != true {
		t.Errorf("plain log line %v", p)
	}
}
