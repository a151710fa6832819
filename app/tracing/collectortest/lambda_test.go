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
// Interface Emulator with a batch delay of ten minutes: only the flush
// before each invocation returns (Lambda freezes the process then) can have
// delivered the invocation's spans by the time RIE answers.
func TestLambdaFlushesEachInvocation(t *testing.T) {
	col := startCollector(t, "")
	emu := bedrocktest.NewServer(t)
	rie := testbin.StartRIE(t, "API_KEY="+testKey, "LOG_FORMAT=json",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+emu.URL, "AWS_ENDPOINT_URL_BEDROCK="+emu.URL,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+col.Endpoint, "OTEL_BSP_SCHEDULE_DELAY=600000",
		"AWS_LAMBDA_FUNCTION_NAME=gateway-test")

	for i, stream := range []bool{false, true} {
		tp, traceID, clientSpan := newTraceparent()
		body := `{"model":"` + model + `","stream":` + map[bool]string{false: "false", true: "true"}[stream] +
			`,"messages":[{"role":"user","content":"` + secret + `"}]}`
		resp := invokeALB(t, rie, events.ALBTargetGroupRequest{
			HTTPMethod: http.MethodPost, Path: "/api/v1/chat/completions", Body: body,
			Headers: map[string]string{"authorization": "Bearer " + testKey, "content-type": "application/json",
				"traceparent": tp, "x-forwarded-for": "203.0.113.9"},
		})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("invocation %d: status %d: %s", i, resp.StatusCode, resp.Body)
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
			t.Errorf("chat span (stream %v) has no output tokens: %v", stream, chat.Attrs)
		}
	}
}

// invokeALB sends an ALB event to the function and decodes its answer.
func invokeALB(tb testing.TB, p *testbin.Process, ev events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	tb.Helper()
	ev.RequestContext.ELB.TargetGroupArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gateway/0123456789abcdef"
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
	var r events.ALBTargetGroupResponse
	if err := json.Unmarshal(out, &r); err != nil {
		tb.Fatalf("decode the ALB response: %v: %s", err, out)
	}
	return r
}
