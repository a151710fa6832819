package collectortest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/internal/testbin"
)

// TestLambdaFlushesEachInvocation runs the Lambda build under the Runtime
// Interface Emulator, behind an ALB and as a streaming Function URL, with a
// batch delay of ten minutes: only the flush before each invocation returns
// (Lambda freezes the process then) can have delivered the invocation's
// spans by the time RIE has answered.
func TestLambdaFlushesEachInvocation(t *testing.T) {
	col := startCollector(t, "")
	emu := bedrocktest.NewServer(t)
	for _, mode := range []string{"alb", "function-url"} {
		t.Run(mode, func(t *testing.T) {
			rie := testbin.StartRIE(t, "API_KEY="+testKey, "LOG_FORMAT=json", "LAMBDA_MODE="+mode,
				"AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+emu.URL, "AWS_ENDPOINT_URL_BEDROCK="+emu.URL,
				"OTEL_EXPORTER_OTLP_ENDPOINT="+col.Endpoint, "OTEL_BSP_SCHEDULE_DELAY=600000",
				"AWS_LAMBDA_FUNCTION_NAME=gateway-test")
			for _, stream := range []string{"false", "true"} {
				tp, traceID, clientSpan := newTraceparent()
				body := `{"model":"` + model + `","stream":` + stream + `,"messages":[{"role":"user","content":"` + secret + `"}]}`
				header := map[string]string{"authorization": "Bearer " + testKey, "content-type": "application/json",
					"traceparent": tp, "x-forwarded-for": "203.0.113.9"}
				var status int
				var answer string
				if mode == "alb" {
					resp := invokeALB(t, rie, events.ALBTargetGroupRequest{HTTPMethod: http.MethodPost, Path: "/api/v1/chat/completions", Body: body, Headers: header})
					status, answer = resp.StatusCode, resp.Body
				} else {
					status, answer = invokeFunctionURL(t, rie, body, header)
				}
				if status != http.StatusOK {
					t.Fatalf("stream %s: status %d: %s", stream, status, answer)
				}
				// No waiting: the spans must be there when the invocation returns.
				var spans []span
				for _, s := range col.Spans() {
					if s.TraceID == traceID {
						spans = append(spans, s)
					}
				}
				srv := named(t, spans, "POST /api/v1/chat/completions", 1)[0]
				if srv.ParentID != clientSpan {
					t.Errorf("server span's parent %s, want the client's %s", srv.ParentID, clientSpan)
				}
				if got := srv.Resource["faas.name"]; got != "gateway-test" {
					t.Errorf("resource faas.name = %v, want gateway-test", got)
				}
				chat := named(t, spans, "chat "+model, 1)[0]
				if chat.ParentID != srv.SpanID || chat.Kind != ptrace.SpanKindClient {
					t.Errorf("chat span: parent %s, kind %s; want the server span %s, client", chat.ParentID, chat.Kind, srv.SpanID)
				}
				if _, ok := chat.Attrs["gen_ai.usage.output_tokens"]; !ok {
					t.Errorf("chat span (stream %s) has no output tokens: %v", stream, chat.Attrs)
				}
			}
		})
	}
}

// invokeFunctionURL sends a Function URL event to a function in streaming
// mode and reads the whole answer: RIE's streaming prelude, eight zero
// bytes, then the body.
func invokeFunctionURL(tb testing.TB, p *testbin.Process, body string, header map[string]string) (int, string) {
	tb.Helper()
	ev := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/api/v1/chat/completions", Headers: header, Body: body,
		RequestContext: events.LambdaFunctionURLRequestContext{RequestID: "c4b3f2a8-0001-4e55-9d1b-1f0c2a3e4d5f",
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: http.MethodPost, Path: "/api/v1/chat/completions", Protocol: "HTTP/1.1", SourceIP: "203.0.113.9"}}}
	payload := post(tb, p, ev)
	head, rest, ok := bytes.Cut(payload, make([]byte, 8))
	var prelude events.LambdaFunctionURLStreamingResponse
	if !ok || json.Unmarshal(head, &prelude) != nil {
		tb.Fatalf("no streaming prelude in %.500q", payload)
	}
	return prelude.StatusCode, string(rest)
}

// invokeALB sends an ALB event to the function and decodes its answer.
func invokeALB(tb testing.TB, p *testbin.Process, ev events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	tb.Helper()
	ev.RequestContext.ELB.TargetGroupArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gateway/0123456789abcdef"
	out := post(tb, p, ev)
	var r events.ALBTargetGroupResponse
	if err := json.Unmarshal(out, &r); err != nil {
		tb.Fatalf("decode the ALB response: %v: %s", err, out)
	}
	return r
}

// post sends an event to RIE and returns the whole answer.
func post(tb testing.TB, p *testbin.Process, ev any) []byte {
	tb.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.InvokeURL, bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
