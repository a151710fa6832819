package bedrock

import (
	"bytes"
	"slices"
	"testing"
)

func TestBedrockBetas(t *testing.T) {
	sonnet := Model{ID: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}
	haiku35 := Model{ID: "us.anthropic.claude-3-5-haiku-20241022-v1:0"}
	claudeCode := []string{"claude-code-20250219,interleaved-thinking-2025-05-14", " context-management-2025-06-27 ,effort-2025-11-24", "interleaved-thinking-2025-05-14"}
	kept, dropped := BedrockBetas(claudeCode, sonnet)
	if want := []string{"interleaved-thinking-2025-05-14", "context-management-2025-06-27", "effort-2025-11-24"}; !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	if want := []string{"claude-code-20250219"}; !slices.Equal(dropped, want) {
		t.Errorf("dropped %v, want %v", dropped, want)
	}
	kept, _ = BedrockBetas(claudeCode, haiku35)
	if len(kept) != 0 {
		t.Errorf("Claude 3.5 Haiku kept %v, want none of the Claude 4 betas", kept)
	}
}

func TestAnthropicInvokeBody(t *testing.T) {
	raw := `{"model":"claude-sonnet-4-5","stream":true,"max_tokens":5,"anthropic_beta":["x"],"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral","ttl":"1h"}}],"messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"u"}}`
	got, err := AnthropicInvokeBody([]byte(raw), []string{"interleaved-thinking-2025-05-14"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"anthropic_beta":["interleaved-thinking-2025-05-14"],"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"u"},"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral","ttl":"1h"}}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	got, _ = AnthropicInvokeBody([]byte(`{"model":"m","max_tokens":1,"messages":[]}`), nil)
	if want := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[]}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, bad := range []string{`[1]`, `nope`, `null`} {
		if _, err := AnthropicInvokeBody([]byte(bad), nil); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestAnthropicInvokeBodyFoldsSystemMessages(t *testing.T) {
	raw := `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"},{"role":"system","content":"agents: x"},{"role":"assistant","content":"ok"},{"role":"system","content":[{"type":"text","text":"s2"}]},{"role":"user","content":[{"type":"text","text":"go"}]}]}`
	got, err := AnthropicInvokeBody([]byte(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[{"content":[{"text":"hi","type":"text"},{"text":"agents: x","type":"text"}],"role":"user"},{"content":"ok","role":"assistant"},{"content":[{"type":"text","text":"s2"},{"type":"text","text":"go"}],"role":"user"}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// With the beta kept (were Bedrock to accept it), they stay.
	got, _ = AnthropicInvokeBody([]byte(raw), []string{"mid-conversation-system-2026-04-07"})
	if !bytes.Contains(got, []byte(`"role":"system"`)) {
		t.Errorf("got %s, want the system messages kept", got)
	}
}
