package sdktest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// claudeCodeBody has the shape Claude Code 2.1 sends for its default model
// (observed with @anthropic-ai/claude-code 2.1.197 against a local listener,
// texts shortened): adaptive thinking with an effort, context management,
// cache_control on system and user blocks, and a mid-conversation system
// message (with the mid-conversation-system beta).
const claudeCodeBody = `{"model":"claude-opus-4-8","max_tokens":32000,"stream":true,
 "system":[{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197"},{"type":"text","text":"You are a Claude agent.","cache_control":{"type":"ephemeral"}}],
 "messages":[{"role":"user","content":[{"type":"text","text":"<system-reminder>context</system-reminder>"},{"type":"text","text":"Say hi","cache_control":{"type":"ephemeral"}}]},
  {"role":"system","content":"Available agent types for the Agent tool: ..."}],
 "tools":[{"name":"Bash","description":"Run a command","input_schema":{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}}],
 "metadata":{"user_id":"{\"device_id\":\"d\",\"session_id\":\"s\"}"},
 "thinking":{"type":"adaptive"},"output_config":{"effort":"high"},
 "context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]}}`

const claudeCodeBetas = "claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,thinking-token-count-2026-05-13,context-management-2025-06-27,prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07,effort-2025-11-24"

func TestClaudeCodeRequest(t *testing.T) {
	h := newHarness(t)
	resp := h.post(t, "/api/v1/messages?beta=true", claudeCodeBody, "anthropic-beta", claudeCodeBetas)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"text":"Emulated reply to: `) {
		t.Fatalf("got %d:\n%s", resp.StatusCode, b)
	}
	if got := resp.Header.Get("X-Gateway-Dropped-Betas"); got != "claude-code-20250219,thinking-token-count-2026-05-13,prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07" {
		t.Errorf("dropped betas %q", got)
	}
	req := h.lastRequest(t, "InvokeModelWithResponseStream")
	if req.ModelID != "us.anthropic.claude-opus-4-8" {
		t.Errorf("model %s, want the US profile of Opus 4.8", req.ModelID)
	}
	var body struct {
		Messages []struct {
			Role string `json:"role"`
		} `json:"messages"`
		Betas []string `json:"anthropic_beta"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Messages) != 1 || body.Messages[0].Role != "user" {
		t.Errorf("got messages %+v, want the system message folded into the user turn", body.Messages)
	}
	if strings.Join(body.Betas, ",") != "context-1m-2025-08-07,interleaved-thinking-2025-05-14,context-management-2025-06-27,effort-2025-11-24" {
		t.Errorf("got betas %v", body.Betas)
	}
}

func TestMessagesBearerAndAccessLog(t *testing.T) {
	h := newHarness(t)
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/v1/messages", strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("request-id") == "" {
		t.Fatalf("bearer: got %d, request-id %q", resp.StatusCode, resp.Header.Get("request-id"))
	}
	var line map[string]any
	for l := range strings.Lines(h.logs.String()) {
		if strings.Contains(l, `"route":"/api/v1/messages"`) {
			_ = json.Unmarshal([]byte(l), &line)
		}
	}
	if line["key"] != "team-a" || line["input_tokens"].(float64) == 0 || line["output_tokens"].(float64) == 0 || line["model"] != sonnetProfile {
		t.Errorf("access log line %v, want the key name, model and tokens", line)
	}
}
