package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/server"
)

func guardrailHarness(t *testing.T, allowOverride bool) *harness {
	return newHarness(t, func(o *server.Options) {
		o.Translator = &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{}),
			Guardrail: &bedrock.Guardrail{ID: bedrocktest.GuardrailID, Version: "1", Trace: "enabled", StreamMode: "async", AllowOverride: allowOverride}}
	})
}

// TestGuardrail applies the configured guardrail: Bedrock gets
// guardrailConfig (with the stream processing mode on streams); a blocked
// prompt ends with finish_reason content_filter and the guardrail's
// message, and the trace is logged.
func TestGuardrail(t *testing.T) {
	h := guardrailHarness(t, false)
	resp := h.post(t, "/api/v1/chat/completions", testKey, `{"messages":[{"role":"user","content":"tell me the forbidden thing"}]}`)
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
			Message      struct{ Content string }
		} `json:"choices"`
	}
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != http.StatusOK || out.Choices[0].FinishReason != "content_filter" || out.Choices[0].Message.Content != bedrocktest.GuardrailMessage {
		t.Errorf("blocked: %d %s, want finish_reason content_filter and the guardrail's message", resp.StatusCode, b)
	}
	sent := string(h.lastRequest(t, "Converse").Body)
	if !strings.Contains(sent, `"guardrailConfig":{"guardrailIdentifier":"gr-emulated","guardrailVersion":"1","trace":"enabled"}`) {
		t.Errorf("Bedrock got %s, want the guardrail", sent)
	}
	if logs := h.logs.String(); !strings.Contains(logs, `"msg":"guardrail intervened"`) || !strings.Contains(logs, "WordPolicy") {
		t.Errorf("logs lack the intervention and its trace:\n%s", logs)
	}

	resp = h.post(t, "/api/v1/chat/completions", testKey, `{"stream":true,"messages":[{"role":"user","content":"forbidden again"}]}`)
	b, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"finish_reason":"content_filter"`) {
		t.Errorf("blocked stream: %d %s", resp.StatusCode, b)
	}
	if sent := string(h.lastRequest(t, "ConverseStream").Body); !strings.Contains(sent, `"streamProcessingMode":"async"`) {
		t.Errorf("ConverseStream got %s, want streamProcessingMode async", sent)
	}
	if strings.Count(h.logs.String(), `"msg":"guardrail intervened"`) != 2 {
		t.Errorf("the stream's intervention was not logged")
	}

	resp = h.post(t, "/api/v1/chat/completions", testKey, `{"messages":[{"role":"user","content":"hello"}]}`)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || strings.Contains(string(b), "content_filter") {
		t.Errorf("allowed prompt: %d %s", resp.StatusCode, b)
	}
}

// TestGuardrailOverride checks the per-request guardrailConfig: refused
// unless allowed, and then sent instead of the configured one.
func TestGuardrailOverride(t *testing.T) {
	body := `{"messages":[{"role":"user","content":"hi"}],"guardrailConfig":{"guardrailIdentifier":"arn:aws:bedrock:us-east-1:123456789012:guardrail/gr-emulated","guardrailVersion":"DRAFT"}}`
	h := guardrailHarness(t, false)
	resp := h.post(t, "/api/v1/chat/completions", testKey, body)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"param":"guardrailConfig"`) {
		t.Errorf("override not allowed: %d %s, want 400 naming guardrailConfig", resp.StatusCode, b)
	}
	h = guardrailHarness(t, true)
	resp = h.post(t, "/api/v1/chat/completions", testKey, body)
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Fatalf("override allowed: %d %s", resp.StatusCode, b)
	}
	sent := string(h.lastRequest(t, "Converse").Body)
	if !strings.Contains(sent, `"guardrailVersion":"DRAFT"`) || strings.Contains(sent, "additionalModelRequestFields") {
		t.Errorf("Bedrock got %s, want the request's guardrail and no additional fields", sent)
	}
}
