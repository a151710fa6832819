package collectortest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/internal/testbin"
)

const (
	testKey = "sk-collector-test-0123456789"
	model   = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
	// secret is in every prompt; no span may carry it.
	secret = "PROMPT-TEXT-MUST-NOT-LEAK"
)

// gateway is the server build running as a process, with its Bedrock
// emulator.
type gateway struct {
	proc *testbin.Process
	base string
}

func startGateway(tb testing.TB, env ...string) *gateway {
	tb.Helper()
	emu := bedrocktest.NewServer(tb)
	addr := testbin.LocalAddr(tb)
	host, port, _ := strings.Cut(addr, ":")
	p := testbin.Start(tb, testbin.Path(tb, testbin.Gateway), nil, addr, append([]string{
		"HOST=" + host, "PORT=" + port, "API_KEY=" + testKey, "LOG_FORMAT=json", "METRICS_ADDR=off",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=" + emu.URL, "AWS_ENDPOINT_URL_BEDROCK=" + emu.URL,
		"AWS_MAX_ATTEMPTS=3", "SHUTDOWN_DRAIN_DELAY=0s",
	}, env...)...)
	return &gateway{proc: p, base: "http://" + addr}
}

// post sends an API request; header is name, value pairs.
func (g *gateway) post(tb testing.TB, path, body string, header ...string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, g.base+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, string(b)
}

// accessLog returns the access log line of the request with id.
func (g *gateway) accessLog(tb testing.TB, requestID string) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sc := bufio.NewScanner(strings.NewReader(g.proc.Output()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "request" && line["request_id"] == requestID {
				return line
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no access log line for request %s; output:\n%s", requestID, g.proc.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTraces runs the gateway with tracing on and checks, in what the
// Collector's receiver decoded, each request's trace: the client's
// traceparent continued by the server span, the Bedrock call's GenAI span
// under it and the SDK's attempts under that.
func TestTraces(t *testing.T) {
	col := startCollector(t, "")
	g := startGateway(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+col.Endpoint, "OTEL_BSP_SCHEDULE_DELAY=50",
		"OTEL_SERVICE_NAME=gateway-under-test", "OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=test,team=ml%20platform")

	t.Run("chat", func(t *testing.T) {
		tp, traceID, clientSpan := newTraceparent()
		resp, body := g.post(t, "/api/v1/chat/completions", `{"model":"`+model+`","max_tokens":200,"temperature":0.5,"messages":[{"role":"user","content":"`+secret+`\n@emulate {\"usage\":{\"input_tokens\":21,\"output_tokens\":8}}"}]}`,
			"traceparent", tp, "tracestate", "vendor=abc", "X-Request-Id", "req-chat-1")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		spans := col.waitSpans(t, 3, inTrace(traceID))
		srv := named(t, spans, "POST /api/v1/chat/completions", 1)[0]
		if srv.Kind != ptrace.SpanKindServer || srv.ParentID != clientSpan || srv.TraceState != "vendor=abc" {
			t.Errorf("server span: kind %s, parent %s, tracestate %q; want server, the client's %s, vendor=abc", srv.Kind, srv.ParentID, srv.TraceState, clientSpan)
		}
		attr(t, srv, "http.route", "/api/v1/chat/completions")
		attr(t, srv, "http.request.method", "POST")
		attr(t, srv, "http.response.status_code", 200)
		attr(t, srv, "gateway.request_id", "req-chat-1")
		attr(t, srv, "gateway.key_name", "default")
		if srv.Scope != "github.com/openbedrock/gateway/app/server" {
			t.Errorf("server span scope %q", srv.Scope)
		}
		for k, want := range map[string]string{"service.name": "gateway-under-test", "service.version": testbin.Version,
			"deployment.environment.name": "test", "team": "ml platform", "cloud.region": "us-east-1", "telemetry.sdk.language": "go"} {
			if got := srv.Resource[k]; got != want {
				t.Errorf("resource %s = %v, want %s", k, got, want)
			}
		}

		chat := named(t, spans, "chat "+model, 1)[0]
		if chat.Kind != ptrace.SpanKindClient || chat.ParentID != srv.SpanID {
			t.Errorf("chat span: kind %s, parent %s; want client, the server span %s", chat.Kind, chat.ParentID, srv.SpanID)
		}
		attr(t, chat, "gen_ai.provider.name", "aws.bedrock")
		attr(t, chat, "gen_ai.operation.name", "chat")
		attr(t, chat, "gen_ai.request.model", model)
		attr(t, chat, "gen_ai.response.model", model)
		attr(t, chat, "gen_ai.request.max_tokens", 200)
		attr(t, chat, "gen_ai.request.temperature", 0.5)
		attr(t, chat, "gen_ai.usage.input_tokens", 21)
		attr(t, chat, "gen_ai.usage.output_tokens", 8)
		attr(t, chat, "cloud.region", "us-east-1")
		attr(t, chat, "gen_ai.response.finish_reasons", []any{"end_turn"})

		attempt := named(t, spans, "BedrockRuntime.Converse", 1)[0]
		if attempt.ParentID != chat.SpanID || attempt.Kind != ptrace.SpanKindClient {
			t.Errorf("attempt span: parent %s, kind %s; want the chat span %s, client", attempt.ParentID, attempt.Kind, chat.SpanID)
		}
		attr(t, attempt, "http.response.status_code", 200)
		if attempt.Start.Before(chat.Start) || attempt.End.After(chat.End) || chat.End.After(srv.End) {
			t.Errorf("spans do not nest in time: server %v..%v, chat %v..%v, attempt %v..%v", srv.Start, srv.End, chat.Start, chat.End, attempt.Start, attempt.End)
		}

		line := g.accessLog(t, "req-chat-1")
		if line["trace_id"] != traceID {
			t.Errorf("access log trace_id = %v, want %s", line["trace_id"], traceID)
		}
	})

	t.Run("stream", func(t *testing.T) {
		tp, traceID, _ := newTraceparent()
		resp, body := g.post(t, "/api/v1/chat/completions", `{"model":"`+model+`","stream":true,"max_tokens":100,"messages":[{"role":"user","content":"`+secret+`\n@emulate {\"text\":[\"a\",\"b\",\"c\"],\"usage\":{\"input_tokens\":13,\"output_tokens\":3}}"}]}`,
			"traceparent", tp)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "[DONE]") {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		spans := col.waitSpans(t, 3, inTrace(traceID))
		srv := named(t, spans, "POST /api/v1/chat/completions", 1)[0]
		chat := named(t, spans, "chat "+model, 1)[0]
		if chat.ParentID != srv.SpanID {
			t.Errorf("chat span's parent %s, want the server span %s", chat.ParentID, srv.SpanID)
		}
		attr(t, chat, "aws.bedrock.operation", "ConverseStream")
		attr(t, chat, "gen_ai.usage.input_tokens", 13)
		attr(t, chat, "gen_ai.usage.output_tokens", 3)
		attr(t, chat, "gen_ai.response.finish_reasons", []any{"end_turn"})
		attr(t, chat, "gen_ai.request.max_tokens", 100)
		named(t, spans, "BedrockRuntime.ConverseStream", 1)
	})

	t.Run("retries", func(t *testing.T) {
		tp, traceID, _ := newTraceparent()
		resp, body := g.post(t, "/api/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"@emulate-error ThrottlingException slow down"}]}`,
			"traceparent", tp)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429: %s", resp.StatusCode, body)
		}
		spans := col.waitSpans(t, 5, inTrace(traceID))
		chat := named(t, spans, "chat "+model, 1)[0]
		if chat.Status != ptrace.StatusCodeError {
			t.Errorf("chat span status %s, want Error", chat.Status)
		}
		attr(t, chat, "error.type", "ThrottlingException")
		attempts := named(t, spans, "BedrockRuntime.Converse", 3)
		resends := map[any]bool{}
		for _, a := range attempts {
			if a.ParentID != chat.SpanID {
				t.Errorf("attempt's parent %s, want the chat span %s", a.ParentID, chat.SpanID)
			}
			attr(t, a, "http.response.status_code", 429)
			attr(t, a, "error.type", "ThrottlingException")
			resends[a.Attrs["http.request.resend_count"]] = true
		}
		if !resends[nil] || !resends[int64(1)] || !resends[int64(2)] {
			t.Errorf("resend counts %v, want none, 1 and 2", resends)
		}
		srv := named(t, spans, "POST /api/v1/chat/completions", 1)[0]
		attr(t, srv, "http.response.status_code", 429)
		if srv.Status == ptrace.StatusCodeError {
			t.Errorf("a 429 marks the server span as an error; only 5xx do")
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		tp, traceID, _ := newTraceparent()
		resp, body := g.post(t, "/api/v1/embeddings", `{"model":"cohere.embed-multilingual-v3","input":["`+secret+`"]}`, "traceparent", tp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		spans := col.waitSpans(t, 3, inTrace(traceID))
		emb := named(t, spans, "embeddings cohere.embed-multilingual-v3", 1)[0]
		attr(t, emb, "gen_ai.operation.name", "embeddings")
		attr(t, emb, "aws.bedrock.operation", "InvokeModel")
		if _, ok := emb.Attrs["gen_ai.usage.input_tokens"]; !ok {
			t.Errorf("embeddings span has no input tokens: %v", emb.Attrs)
		}
	})

	t.Run("anthropic messages", func(t *testing.T) {
		tp, traceID, _ := newTraceparent()
		resp, body := g.post(t, "/api/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":64,"temperature":0.2,"messages":[{"role":"user","content":"`+secret+`"}]}`,
			"traceparent", tp, "anthropic-version", "2023-06-01")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		spans := col.waitSpans(t, 3, inTrace(traceID))
		srv := named(t, spans, "POST /api/v1/messages", 1)[0]
		var chat span
		for _, s := range spans {
			if s.ParentID == srv.SpanID {
				chat = s
			}
		}
		attr(t, chat, "gen_ai.operation.name", "chat")
		attr(t, chat, "gen_ai.request.max_tokens", 64)
		attr(t, chat, "gen_ai.request.temperature", 0.2)
		attr(t, chat, "gen_ai.response.finish_reasons", []any{"end_turn"})
		for _, k := range []string{"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"} {
			if _, ok := chat.Attrs[k]; !ok {
				t.Errorf("%s: no %s: %v", chat.Name, k, chat.Attrs)
			}
		}
	})

	t.Run("refreshes", func(t *testing.T) {
		keys := col.waitSpans(t, 1, func(s span) bool { return s.Name == "refresh API keys" })[0]
		if keys.ParentID != "" || keys.Scope != "github.com/openbedrock/gateway/app/auth" {
			t.Errorf("key refresh span: parent %q, scope %s; want a root span of app/auth", keys.ParentID, keys.Scope)
		}
		attr(t, keys, "gateway.keys.count", 1)
		models := col.waitSpans(t, 1, func(s span) bool { return s.Name == "refresh model catalogue" })[0]
		if models.ParentID != "" || models.Status == ptrace.StatusCodeError {
			t.Errorf("catalogue refresh span: parent %q, status %s; want a root span that succeeded", models.ParentID, models.Status)
		}
		if n, _ := models.Attrs["gateway.models.count"].(int64); n < 10 {
			t.Errorf("catalogue refresh span: gateway.models.count %v, want the emulator's catalogue", models.Attrs["gateway.models.count"])
		}
	})

	// Checked last, over everything every request above sent.
	for _, s := range col.strings() {
		if strings.Contains(s, secret) || strings.Contains(s, testKey) {
			t.Errorf("a span carries the prompt or the key: %.200q", s)
		}
	}
}

// TestTracingOff checks that without the OTEL variables, or with
// OTEL_TRACES_EXPORTER=none, nothing is exported and the access log has no
// trace_id. A collector listens where a gateway that traced by mistake
// would send: the given endpoint, and the default localhost:4318 when it
// is free.
func TestTracingOff(t *testing.T) {
	col := startCollector(t, "")
	cases := []struct {
		name string
		env  []string
		at   *collector
	}{
		{"none", []string{"OTEL_TRACES_EXPORTER=none", "OTEL_EXPORTER_OTLP_ENDPOINT=" + col.Endpoint, "OTEL_BSP_SCHEDULE_DELAY=50"}, col},
		{"no variables", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.at
			if at == nil {
				if ln, err := net.Listen("tcp", "127.0.0.1:4318"); err != nil {
					t.Logf("localhost:4318 is taken (%v): checking the access log only", err)
				} else {
					ln.Close()
					at = startCollector(t, "127.0.0.1:4318")
				}
			}
			g := startGateway(t, tc.env...)
			tp, _, _ := newTraceparent()
			resp, body := g.post(t, "/api/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`,
				"traceparent", tp, "X-Request-Id", "req-off-"+strings.ReplaceAll(tc.name, " ", "-"))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			line := g.accessLog(t, "req-off-"+strings.ReplaceAll(tc.name, " ", "-"))
			if _, ok := line["trace_id"]; ok {
				t.Errorf("the access log has trace_id with tracing off: %v", line)
			}
			if at != nil {
				time.Sleep(300 * time.Millisecond) // six batch delays of the "none" case
				if n := at.sink.SpanCount(); n != 0 {
					t.Errorf("the collector received %d spans with tracing off:\n%s", n, spansText(at.Spans()))
				}
			}
		})
	}
}

// TestTracesWithLogBodies: LOG_BODIES lets the Bedrock spans carry the
// prompt and completion, in the GenAI conventions' message shape, as it
// lets the access log carry the bodies.
func TestTracesWithLogBodies(t *testing.T) {
	col := startCollector(t, "")
	g := startGateway(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+col.Endpoint, "OTEL_BSP_SCHEDULE_DELAY=50", "LOG_BODIES=true")
	for _, stream := range []string{"false", "true"} {
		tp, traceID, _ := newTraceparent()
		resp, body := g.post(t, "/api/v1/chat/completions", `{"model":"`+model+`","stream":`+stream+`,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"`+secret+`\n@emulate {\"text\":[\"Hel\",\"lo\"]}"}]}`,
			"traceparent", tp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %s: status %d: %s", stream, resp.StatusCode, body)
		}
		chat := named(t, col.waitSpans(t, 3, inTrace(traceID)), "chat "+model, 1)[0]
		var in []struct {
			Role  string `json:"role"`
			Parts []struct {
				Type    string `json:"type"`
				Content string `json:"content"`
			} `json:"parts"`
		}
		if err := json.Unmarshal([]byte(fmt.Sprint(chat.Attrs["gen_ai.input.messages"])), &in); err != nil ||
			len(in) != 1 || in[0].Role != "user" || len(in[0].Parts) == 0 || !strings.Contains(in[0].Parts[0].Content, secret) {
			t.Errorf("stream %s: gen_ai.input.messages = %v (%v); want the user's message", stream, chat.Attrs["gen_ai.input.messages"], err)
		}
		if got := fmt.Sprint(chat.Attrs["gen_ai.system_instructions"]); got != `[{"type":"text","content":"Be brief."}]` {
			t.Errorf("stream %s: gen_ai.system_instructions = %s", stream, got)
		}
		want := `[{"role":"assistant","parts":[{"type":"text","content":"Hello"}],"finish_reason":"end_turn"}]`
		if got := fmt.Sprint(chat.Attrs["gen_ai.output.messages"]); got != want {
			t.Errorf("stream %s: gen_ai.output.messages = %s, want %s", stream, got, want)
		}
	}
}
