package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/openbedrock/gateway/app/server"
)

// tracedHarness is a harness whose spans end up in memory.
func tracedHarness(t *testing.T) (*harness, *tracetest.InMemoryExporter) {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	return newHarness(t, func(o *server.Options) { o.Tracing = tp }), spans
}

func spanAttr(s tracetest.SpanStub, key string) attribute.Value {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// TestTracedChoices: n choices are n concurrent Bedrock calls, each its
// own span under the request's, each with its attempt under it.
func TestTracedChoices(t *testing.T) {
	h, spans := tracedHarness(t)
	resp := h.post(t, "/api/v1/chat/completions", testKey, `{"n":3,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	waitFor(t, "7 spans", func() bool { return len(spans.GetSpans()) >= 7 })
	byID := map[string]tracetest.SpanStub{}
	var server tracetest.SpanStub
	for _, s := range spans.GetSpans() {
		byID[s.SpanContext.SpanID().String()] = s
		if s.Name == "POST /api/v1/chat/completions" {
			server = s
		}
	}
	var calls, attempts int
	for _, s := range spans.GetSpans() {
		switch s.Name {
		case "chat " + modelClaude:
			calls++
			if s.Parent.SpanID() != server.SpanContext.SpanID() {
				t.Errorf("chat span's parent %s, want the server span", byID[s.Parent.SpanID().String()].Name)
			}
			if spanAttr(s, "gen_ai.usage.output_tokens").AsInt64() == 0 {
				t.Errorf("chat span without output tokens: %v", s.Attributes)
			}
		case "BedrockRuntime.Converse":
			attempts++
			if p := byID[s.Parent.SpanID().String()]; p.Name != "chat "+modelClaude {
				t.Errorf("attempt's parent %q, want a chat span", p.Name)
			}
		}
	}
	if calls != 3 || attempts != 3 {
		t.Errorf("got %d calls and %d attempts, want 3 and 3", calls, attempts)
	}
	if !strings.Contains(h.logs.String(), `"trace_id":"`+server.SpanContext.TraceID().String()+`"`) {
		t.Errorf("the access log has no trace_id %s:\n%s", server.SpanContext.TraceID(), h.logs.String())
	}
}

// TestTracedBedrockAPI: Bedrock's own API passed through is traced too,
// its tokens read from the relayed answer and stream frames.
func TestTracedBedrockAPI(t *testing.T) {
	h, spans := tracedHarness(t)
	for _, op := range []string{"converse", "converse-stream"} {
		resp := h.post(t, "/bedrock/model/"+modelClaude+"/"+op, testKey,
			`{"messages":[{"role":"user","content":[{"text":"hi\n@emulate {\"usage\":{\"input_tokens\":7,\"output_tokens\":4}}"}]}],"inferenceConfig":{"maxTokens":50}}`)
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, %v", op, resp.StatusCode, err)
		}
	}
	waitFor(t, "both calls' spans", func() bool {
		n := 0
		for _, s := range spans.GetSpans() {
			if s.Name == "chat "+modelClaude {
				n++
			}
		}
		return n == 2
	})
	for _, s := range spans.GetSpans() {
		if s.Name != "chat "+modelClaude {
			continue
		}
		op := spanAttr(s, "aws.bedrock.operation").AsString()
		if in, out := spanAttr(s, "gen_ai.usage.input_tokens").AsInt64(), spanAttr(s, "gen_ai.usage.output_tokens").AsInt64(); in != 7 || out != 4 {
			t.Errorf("%s: tokens %d in, %d out; want 7, 4", op, in, out)
		}
		if got := spanAttr(s, "gen_ai.response.finish_reasons").AsStringSlice(); len(got) != 1 || got[0] != "end_turn" {
			t.Errorf("%s: finish reasons %v, want [end_turn]", op, got)
		}
	}
}

// TestUntracedLogHasNoTraceID: with tracing off the access log has no
// trace_id field.
func TestUntracedLogHasNoTraceID(t *testing.T) {
	h := newHarness(t)
	resp := h.post(t, "/api/v1/chat/completions", testKey, `{"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitFor(t, "the access log", func() bool { return strings.Contains(h.logs.String(), `"msg":"request"`) })
	if strings.Contains(h.logs.String(), "trace_id") {
		t.Errorf("trace_id in the access log with tracing off:\n%s", h.logs.String())
	}
}
