package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestReasoningEffortPerFamily sends reasoning_effort to each Claude family
// through the emulator, which refuses a budget on Opus 4.7 and later and
// adaptive thinking before Claude 4.6: the answer carries the reasoning,
// and usage counts its tokens.
func TestReasoningEffortPerFamily(t *testing.T) {
	h := newHarness(t)
	for _, model := range []string{"us.anthropic.claude-opus-4-7", "us.anthropic.claude-sonnet-4-6", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "global.anthropic.claude-sonnet-5"} {
		for _, effort := range []string{"minimal", "high", "xhigh"} {
			body := `{"model":"` + model + `","reasoning_effort":"` + effort + `","messages":[{"role":"user","content":"think"}]}`
			resp := h.post(t, "/api/v1/chat/completions", testKey, body)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s %s: %d %s", model, effort, resp.StatusCode, b)
				continue
			}
			var out struct {
				Choices []struct {
					Message struct {
						ReasoningContent string `json:"reasoning_content"`
					} `json:"message"`
				} `json:"choices"`
				Usage struct {
					CompletionTokensDetails struct {
						ReasoningTokens int `json:"reasoning_tokens"`
					} `json:"completion_tokens_details"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(b, &out); err != nil || out.Choices[0].Message.ReasoningContent == "" || out.Usage.CompletionTokensDetails.ReasoningTokens <= 0 {
				t.Errorf("%s %s: %s, want reasoning and its tokens in usage", model, effort, b)
			}
		}
	}
}

// TestReasoningStreamUsage checks the reasoning tokens on a stream's usage chunk.
func TestReasoningStreamUsage(t *testing.T) {
	h := newHarness(t)
	resp := h.post(t, "/api/v1/chat/completions", testKey, `{"model":"us.anthropic.claude-opus-4-7","stream":true,"stream_options":{"include_usage":true},"reasoning_effort":"low","messages":[{"role":"user","content":"think"}]}`)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"reasoning_content"`) || !strings.Contains(string(b), `"reasoning_tokens":`) {
		t.Errorf("stream %d:\n%s\nwant reasoning deltas and reasoning_tokens in usage", resp.StatusCode, b)
	}
}
