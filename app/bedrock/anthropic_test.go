package bedrock

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/anthropic"
)

const novaPro = "us.amazon.nova-pro-v1:0"

func anthropicCall(t *testing.T, model, body string) (*Call, error) {
	t.Helper()
	var req anthropic.MessagesRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("decode: %v", err)
	}
	chat, err := AnthropicToChat(&req)
	if err != nil {
		return nil, err
	}
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	return tr.Translate(context.Background(), chat, Model{ID: model, InputModalities: []string{"TEXT", "IMAGE"}})
}

func TestAnthropicToConverse(t *testing.T) {
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
	for _, tc := range []struct {
		name, body, want string
	}{
		{"system, string content", `{"max_tokens":10,"system":"Be brief.","messages":[{"role":"user","content":"hi"}]}`,
			`system:"Be brief." | user: text(hi)`},
		{"mid-conversation system message", `{"max_tokens":10,"messages":[{"role":"user","content":"hi"},{"role":"system","content":"agents"}]}`,
			`system:"agents" | user: text(hi)`},
		{"cache_control on system and text", `{"max_tokens":10,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],
			"messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]}`,
			`system:"s" system:cache | user: text(a) cache`},
		{"tools over two turns", `{"max_tokens":10,"tools":[{"name":"f","input_schema":{"type":"object"}}],"messages":[
			{"role":"user","content":"go"},
			{"role":"assistant","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"done"},{"type":"text","text":"next"}]}]}`,
			`| user: text(go) | assistant: text(ok) use(t1,f,{"a":1}) | user: result(t1) text(next)`},
		{"image", `{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + png + `"}},{"type":"text","text":"what?"}]}]}`,
			`| user: image(png) text(what?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call, err := anthropicCall(t, novaPro, tc.body)
			if err != nil {
				t.Fatalf("translate: %v", err)
			}
			if got := describe(t, call); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestAnthropicToConverseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, body, param string
	}{
		{"no max_tokens", `{"messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		{"bad role", `{"max_tokens":1,"messages":[{"role":"tool","content":"hi"}]}`, "messages.0.role"},
		{"server tool", `{"max_tokens":1,"tools":[{"type":"bash_20250124","name":"bash"}],"messages":[{"role":"user","content":"hi"}]}`, "tools.0.type"},
		{"unknown block", `{"max_tokens":1,"messages":[{"role":"user","content":[{"type":"server_tool_use","id":"x","name":"web_search","input":{}}]}]}`, "messages.0.content.0.type"},
		{"bad tool_choice", `{"max_tokens":1,"tool_choice":{"type":"maybe"},"messages":[{"role":"user","content":"hi"}]}`, "tool_choice.type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := anthropicCall(t, novaPro, tc.body)
			re, ok := err.(*RequestError)
			if !ok || re.Param != tc.param {
				t.Errorf("got %v, want a RequestError on %s", err, tc.param)
			}
		})
	}
}

func TestAnthropicMessage(t *testing.T) {
	out := &bedrockruntime.ConverseOutput{
		StopReason: types.StopReasonToolUse,
		Usage:      &types.TokenUsage{InputTokens: aws.Int32(7), OutputTokens: aws.Int32(3), CacheWriteInputTokens: aws.Int32(4)},
		Output: &types.ConverseOutputMemberMessage{Value: types.Message{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{
			&types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{Value: types.ReasoningTextBlock{Text: aws.String("hmm")}}},
			&types.ContentBlockMemberText{Value: "hi"},
			&types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: aws.String("t"), Name: aws.String("f"), Input: document.NewLazyDocument(map[string]any{"a": 1})}},
		}}},
	}
	b, err := json.Marshal(AnthropicMessage(out, "msg_1", "amazon.nova-pro-v1:0"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"msg_1","type":"message","role":"assistant","model":"amazon.nova-pro-v1:0","content":[{"type":"thinking","thinking":"hmm","signature":""},{"type":"text","text":"hi"},{"type":"tool_use","id":"t","name":"f","input":{"a":1}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":7,"output_tokens":3,"cache_creation_input_tokens":4,"cache_read_input_tokens":0}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if !strings.Contains(string(b), `"stop_sequence":null`) {
		t.Error("stop_sequence must be present as null")
	}
}
