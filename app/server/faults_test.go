package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/server"
)

// The gateway through its real routes against an emulator that fails the
// way Bedrock and the network do (bedrocktest faults): each failure must
// end in the wire protocol's own error, never a hang, a panic or a 500.

// faultBody is a request of route whose prompt asks for fault.
func faultBody(route string, stream bool, fault string) string {
	prompt, _ := json.Marshal(`@emulate {"text":["one ","two ","three ","four"],"fault":` + fault + `}`)
	s := "false"
	if stream {
		s = "true"
	}
	switch route {
	case "/api/v1/responses":
		return `{"model":"` + modelClaude + `","stream":` + s + `,"input":` + string(prompt) + `}`
	case "/api/v1/messages":
		return `{"model":"` + modelClaude + `","max_tokens":100,"stream":` + s + `,"messages":[{"role":"user","content":` + string(prompt) + `}]}`
	}
	return `{"model":"` + modelClaude + `","stream":` + s + `,"messages":[{"role":"user","content":` + string(prompt) + `}]}`
}

// send posts body to the gateway and reads the whole answer, failing the
// test if that takes longer than a generous bound (a hang).
func (h *harness) send(tb testing.TB, path, body string) (*http.Response, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	if strings.HasSuffix(path, "/messages") {
		req.Header.Set("anthropic-version", "2023-06-01")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read the answer of POST %s: %v (got so far: %q)", path, err, b)
	}
	return resp, string(b)
}

// errorOf decodes an error body of either envelope: OpenAI's
// {"error":{"type","code"}} or Anthropic's {"type":"error","error":{"type"}}.
func errorOf(tb testing.TB, body string) (typ, code string) {
	tb.Helper()
	var e struct {
		Error struct {
			Type string `json:"type"`
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Type == "" {
		tb.Fatalf("body %q is not an error envelope (%v)", body, err)
	}
	return e.Error.Type, e.Error.Code
}

func TestFaultResetBeforeFirstByte(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		path     string
		stream   bool
		status   int
		typ      string
		wantCode string
	}{
		{"/api/v1/chat/completions", false, http.StatusBadGateway, "server_error", "bedrock_connection_error"},
		{"/api/v1/chat/completions", true, http.StatusBadGateway, "server_error", "bedrock_connection_error"},
		{"/api/v1/responses", false, http.StatusBadGateway, "server_error", "bedrock_connection_error"},
		{"/api/v1/responses", true, http.StatusBadGateway, "server_error", "bedrock_connection_error"},
		{"/api/v1/messages", false, http.StatusInternalServerError, "api_error", ""},
		{"/api/v1/messages", true, http.StatusInternalServerError, "api_error", ""},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/api/v1/")+map[bool]string{true: " stream"}[tt.stream], func(t *testing.T) {
			resp, body := h.send(t, tt.path, faultBody(tt.path, tt.stream, `{"kind":"reset"}`))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.status, body)
			}
			if typ, code := errorOf(t, body); typ != tt.typ || code != tt.wantCode {
				t.Errorf("error type %q code %q, want %q %q; body %s", typ, code, tt.typ, tt.wantCode, body)
			}
		})
	}
	if strings.Contains(h.logs.String(), "internal error") {
		t.Errorf("a reset was logged as the gateway's internal error:\n%s", h.logs)
	}
}

// TestFaultResetRetried: the SDK's retries (on in production) and the
// stream reopening make a reset before the answer invisible to the client.
func TestFaultResetRetried(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	var calls atomic.Int64
	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		if calls.Add(1)%2 == 1 { // every first attempt
			return &bedrocktest.Reply{Text: []string{"ok"}, Fault: &bedrocktest.Fault{Kind: bedrocktest.FaultReset}}
		}
		return &bedrocktest.Reply{Text: []string{"ok"}}
	})
	h := newHarnessOn(t, emu, emu.RuntimeClient(t, func(o *bedrockruntime.Options) { o.RetryMaxAttempts = 3 }))
	for _, stream := range []bool{false, true} {
		resp, body := h.send(t, "/api/v1/chat/completions", faultBody("", stream, "null"))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"ok"`) {
			t.Errorf("stream %v: status %d body %s, want 200 with the answer of the retry", stream, resp.StatusCode, body)
		}
	}

	// A stream reset after its headers, before its first event, is opened again.
	emu2 := bedrocktest.NewServer(t)
	calls.Store(0)
	emu2.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		if calls.Add(1) == 1 {
			return &bedrocktest.Reply{Text: []string{"ok"}, Fault: &bedrocktest.Fault{Kind: bedrocktest.FaultResetStream, After: -1}}
		}
		return &bedrocktest.Reply{Text: []string{"ok"}}
	})
	h2 := newHarnessOn(t, emu2, emu2.RuntimeClient(t))
	resp, body := h2.send(t, "/api/v1/chat/completions", faultBody("", true, "null"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"ok"`) || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Errorf("status %d body %s, want the reopened stream's answer", resp.StatusCode, body)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the emulator saw %d ConverseStream calls, want 2", n)
	}
}

func TestFaultMidStream(t *testing.T) {
	h := newHarness(t)
	for _, kind := range []string{"truncate", "reset-stream"} {
		fault := `{"kind":"` + kind + `","after":3}`
		t.Run(kind+" chat", func(t *testing.T) {
			resp, body := h.send(t, "/api/v1/chat/completions", faultBody("", true, fault))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200 (the stream had started); body %s", resp.StatusCode, body)
			}
			events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
			last := strings.TrimPrefix(events[len(events)-1], "data: ")
			if typ, code := errorOf(t, last); typ != "server_error" || code != "bedrock_connection_error" {
				t.Errorf("last event %s, want a server_error bedrock_connection_error", last)
			}
			if strings.Contains(body, "[DONE]") || strings.Contains(body, `"finish_reason":"stop"`) {
				t.Errorf("a cut stream reads as complete:\n%s", body)
			}
			if !strings.Contains(body, `"content":"one "`) {
				t.Errorf("the events before the fault are missing:\n%s", body)
			}
		})
		t.Run(kind+" responses", func(t *testing.T) {
			_, body := h.send(t, "/api/v1/responses", faultBody("/api/v1/responses", true, fault))
			if !strings.Contains(body, "event: response.failed") || strings.Contains(body, "event: response.completed") {
				t.Errorf("want the stream to end in response.failed, not completed:\n%s", body)
			}
		})
		t.Run(kind+" messages", func(t *testing.T) {
			_, body := h.send(t, "/api/v1/messages", faultBody("/api/v1/messages", true, fault))
			if !strings.Contains(body, "event: error") || strings.Contains(body, "event: message_stop") {
				t.Errorf("want the stream to end in an error event, not message_stop:\n%s", body)
			}
		})
	}
	if strings.Contains(h.logs.String(), "internal error") {
		t.Errorf("a cut stream was logged as the gateway's internal error:\n%s", h.logs)
	}
}

func TestFaultStallMeetsTheDeadline(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.RequestTimeout = 500 * time.Millisecond })
	stall := `{"kind":"stall","stall_ms":60000}`
	resp, body := h.send(t, "/api/v1/chat/completions", faultBody("", false, stall))
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("plain chat: status %d, want 504; body %s", resp.StatusCode, body)
	}
	if typ, code := errorOf(t, body); typ != "server_error" || code != "timeout" {
		t.Errorf("plain chat: error %q %q, want server_error timeout", typ, code)
	}

	resp, body = h.send(t, "/api/v1/chat/completions", faultBody("", true, stall))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"code":"timeout"`) || strings.Contains(body, "[DONE]") {
		t.Errorf("stream: status %d body %s, want a started stream ending in a timeout error", resp.StatusCode, body)
	}
	waitFor(t, "the stalled calls to be cancelled", func() bool { return h.emu.Cancellations() >= 2 })
}

func TestFaultThrottlingBurst(t *testing.T) {
	h := newHarness(t)
	h.emu.Throttle(100, 0)
	for _, tt := range []struct {
		path   string
		stream bool
	}{{"/api/v1/chat/completions", false}, {"/api/v1/chat/completions", true}, {"/api/v1/responses", true}} {
		resp, body := h.send(t, tt.path, faultBody(tt.path, tt.stream, "null"))
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
			t.Errorf("%s stream %v: status %d Retry-After %q, want 429 and 2; body %s", tt.path, tt.stream, resp.StatusCode, resp.Header.Get("Retry-After"), body)
			continue
		}
		if typ, code := errorOf(t, body); typ != "rate_limit_error" && typ != "tokens" || code != "rate_limit_exceeded" {
			t.Errorf("%s: error %q %q, want rate_limit_exceeded", tt.path, typ, code)
		}
	}
	// Each was one call: a throttle before the stream opens is the SDK's
	// to retry (off here), not the reopening's.
	if got := h.emu.FaultsInjected()[bedrocktest.FaultThrottle]; got != 3 {
		t.Errorf("throttled calls = %d, want 3", got)
	}
}

// TestFaultBedrockAPI: Bedrock's own API, relayed frame by frame, tells
// its SDK clients of a broken upstream in Bedrock's words.
func TestFaultBedrockAPI(t *testing.T) {
	h := newBedrockHarness(t)
	c := h.bedrockClient(testKey)
	input := func(fault string) *bedrockruntime.ConverseStreamInput {
		return &bedrockruntime.ConverseStreamInput{ModelId: aws.String(modelClaude), Messages: []types.Message{{Role: types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: `@emulate {"text":["a","b","c"],"fault":` + fault + `}`}}}}}
	}

	_, err := c.ConverseStream(context.Background(), input(`{"kind":"reset"}`))
	var ise *types.InternalServerException
	var re *awshttp.ResponseError
	if !errors.As(err, &ise) || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadGateway {
		t.Errorf("reset before the first byte: error %v, want a 502 InternalServerException", err)
	}

	for _, kind := range []string{"truncate", "reset-stream"} {
		out, err := c.ConverseStream(context.Background(), input(`{"kind":"`+kind+`","after":3}`))
		if err != nil {
			t.Fatalf("%s: ConverseStream: %v", kind, err)
		}
		stream := out.GetStream()
		n := 0
		for range stream.Events() {
			n++
		}
		stream.Close()
		if !errors.As(stream.Err(), &ise) || n != 3 {
			t.Errorf("%s: %d events, then error %v; want the 3 sent before the fault, then InternalServerException", kind, n, stream.Err())
		}
	}
}
