package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

func responsesTranslator(t *testing.T) *ResponsesTranslator {
	return &ResponsesTranslator{Chat: &Translator{Media: NewMediaFetcher(MediaOptions{})}, Sealer: testSealer(t)}
}

func decodeResponseRequest(t *testing.T, body string) *openai.CreateResponseRequest {
	t.Helper()
	var req openai.CreateResponseRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return &req
}

var sonnet45 = Model{ID: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}

func TestTranslateResponses(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // describe() of the Converse input
	}{
		{"string input", `{"input":"hi","instructions":"Be brief."}`, `system:"Be brief." | user: text(hi)`},
		{"codex-like", `{"input":[
			{"type":"message","role":"developer","content":[{"type":"input_text","text":"rules"}]},
			{"type":"message","role":"user","content":[{"type":"input_text","text":"list files"}]}],
			"tools":[{"type":"function","name":"shell","parameters":{"type":"object"}},
			{"type":"namespace","name":"mcp","description":"d","tools":[{"type":"function","name":"read","parameters":{"type":"object"}}]},
			{"type":"web_search","external_web_access":false}],
			"tool_choice":"auto","parallel_tool_calls":true,"store":false,"client_metadata":{"x":"y"},"prompt_cache_key":"k"}`,
			`system:"rules" | user: text(list files)`},
		{"tool loop", `{"input":[
			{"role":"user","content":"weather?"},
			{"type":"function_call","call_id":"c1","name":"read","namespace":"mcp","arguments":"{\"f\":1}"},
			{"type":"function_call_output","call_id":"c1","output":"sunny"},
			{"type":"custom_tool_call","call_id":"c2","name":"patch","input":"*** Begin"},
			{"type":"custom_tool_call_output","call_id":"c2","output":[{"type":"input_text","text":"done"}]}],
			"tools":[{"type":"namespace","name":"mcp","description":"d","tools":[{"type":"function","name":"read"}]},{"type":"custom","name":"patch"}]}`,
			`| user: text(weather?) | assistant: use(c1,mcp__read,{"f":1}) | user: result(c1) | assistant: use(c2,patch,{"input":"*** Begin"}) | user: result(c2)`},
		{"assistant history", `{"input":[{"role":"user","content":"a"},{"type":"message","role":"assistant","content":[{"type":"output_text","text":"b"}]},{"role":"user","content":"c"}]}`,
			`| user: text(a) | assistant: text(b) | user: text(c)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := responsesTranslator(t).Translate(context.Background(), decodeResponseRequest(t, tt.body), sonnet45)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(t, rc.Call); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestTranslateResponsesTools(t *testing.T) {
	req := decodeResponseRequest(t, `{"input":"x","tools":[
		{"type":"function","name":"shell","parameters":{"type":"object","properties":{"cmd":{"type":"string"}}},"strict":true},
		{"type":"namespace","name":"mcp","description":"d","tools":[{"type":"function","name":"read"},{"type":"custom","name":"note"}]},
		{"type":"custom","name":"apply_patch","format":{"type":"grammar","syntax":"lark","definition":"start: /.+/"}},
		{"type":"web_search"},{"type":"file_search","vector_store_ids":["v"]}],
		"tool_choice":{"type":"function","name":"read"}}`)
	rc, err := responsesTranslator(t).Translate(context.Background(), req, sonnet45)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rc.Dropped, ","), "web_search,file_search"; got != want {
		t.Errorf("dropped: got %s, want %s", got, want)
	}
	var names []string
	for _, tl := range rc.Input.ToolConfig.Tools {
		names = append(names, aws.ToString(tl.(*types.ToolMemberToolSpec).Value.Name))
	}
	if got, want := strings.Join(names, ","), "shell,mcp__read,mcp__note,apply_patch"; got != want {
		t.Errorf("tools: got %s, want %s", got, want)
	}
	if ref := rc.Tools["mcp__note"]; ref != (ToolRef{Namespace: "mcp", Name: "note", Custom: true}) {
		t.Errorf("mcp__note: got %+v", ref)
	}
	choice, ok := rc.Input.ToolConfig.ToolChoice.(*types.ToolChoiceMemberTool)
	if !ok || aws.ToString(choice.Value.Name) != "mcp__read" {
		t.Errorf("tool_choice: got %#v, want the tool mcp__read", rc.Input.ToolConfig.ToolChoice)
	}
	patch := rc.Input.ToolConfig.Tools[3].(*types.ToolMemberToolSpec).Value
	if !strings.Contains(aws.ToString(patch.Description), "start: /.+/") {
		t.Errorf("custom tool description: got %q, want the grammar in it", aws.ToString(patch.Description))
	}
}

// TestTranslateResponsesReasoning round-trips encrypted_content: what the
// encoder seals comes back as the signed thinking block leading the
// assistant's tool turn; a tampered or foreign blob is dropped with a warning.
func TestTranslateResponsesReasoning(t *testing.T) {
	tr := responsesTranslator(t)
	sealed := tr.Sealer.Seal([]openai.ThinkingBlock{{Type: "thinking", Thinking: "plan", Signature: "sig"}})
	other := NewReasoningSealer([]byte("another secret, another gateway"))
	foreign := other.Seal([]openai.ThinkingBlock{{Type: "thinking", Thinking: "plan", Signature: "sig"}})
	tampered := sealed[:len(sealed)-2] + "AA"
	if tampered == sealed {
		tampered = sealed[:len(sealed)-2] + "BB"
	}
	body := func(blob string) string {
		return `{"input":[{"role":"user","content":"q"},
			{"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"` + blob + `"},
			{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
			{"type":"function_call_output","call_id":"c1","output":"r"}],
			"tools":[{"type":"function","name":"f"}],"reasoning":{"effort":"low"},"store":false,"include":["reasoning.encrypted_content"]}`
	}
	rc, err := tr.Translate(context.Background(), decodeResponseRequest(t, body(sealed)), sonnet45)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describe(t, rc.Call), `| user: text(q) | assistant: reasoning(plan,sig) use(c1,f,{}) | user: result(c1)`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if len(rc.Warnings) != 0 || !rc.Encrypted {
		t.Errorf("warnings %v, encrypted %v: want none, true", rc.Warnings, rc.Encrypted)
	}
	for name, blob := range map[string]string{"tampered": tampered, "foreign": foreign, "garbage": "not a blob"} {
		t.Run(name, func(t *testing.T) {
			rc, err := tr.Translate(context.Background(), decodeResponseRequest(t, body(blob)), sonnet45)
			if err != nil {
				t.Fatal(err)
			}
			if len(rc.Warnings) != 1 {
				t.Errorf("warnings: got %v, want one", rc.Warnings)
			}
			// Without its reasoning block the tool turn runs with thinking off.
			if got, want := describe(t, rc.Call), `| user: text(q) | assistant: use(c1,f,{}) | user: result(c1)`; got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestTranslateResponsesRejects(t *testing.T) {
	tests := []struct{ name, body, param string }{
		{"empty input", `{"input":""}`, "input"},
		{"bad role", `{"input":[{"role":"tool","content":"x"}]}`, "input[0].role"},
		{"bad part", `{"input":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "input[0].content[0].type"},
		{"image by file id", `{"input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}`, "input[0].content[0].image_url"},
		{"item reference", `{"input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].id"},
		{"unknown item", `{"input":[{"type":"compaction"}]}`, "input[0].type"},
		{"output without call", `{"input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id"},
		{"bad tool name", `{"input":"x","tools":[{"type":"function","name":"a b"}]}`, "tools[0].name"},
		{"unknown tool choice", `{"input":"x","tools":[{"type":"function","name":"a"}],"tool_choice":{"type":"function","name":"b"}}`, "tool_choice"},
		{"bad effort", `{"input":"x","reasoning":{"effort":"max"}}`, "reasoning.effort"},
		{"zero max tokens", `{"input":"x","max_output_tokens":0}`, "max_output_tokens"},
		{"bad format", `{"input":"x","text":{"format":{"type":"yaml"}}}`, "text.format.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := responsesTranslator(t).Translate(context.Background(), decodeResponseRequest(t, tt.body), sonnet45)
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a RequestError", err)
			}
			if re.Param != tt.param {
				t.Errorf("param: got %q, want %q (%s)", re.Param, tt.param, re.Message)
			}
		})
	}
}

func TestReasoningSealer(t *testing.T) {
	s := testSealer(t)
	blocks := []openai.ThinkingBlock{{Type: "thinking", Thinking: "secret plan", Signature: "sig"}, {Type: "redacted_thinking", Data: "AAEC"}}
	sealed := s.Seal(blocks)
	if strings.Contains(sealed, "secret plan") || strings.Contains(sealed, "sig") {
		t.Errorf("sealed content shows its plaintext: %s", sealed)
	}
	if s.Seal(blocks) == sealed {
		t.Error("two seals of the same blocks are equal; want fresh nonces")
	}
	got, err := s.Open(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != blocks[0] || got[1] != blocks[1] {
		t.Errorf("opened %+v, want %+v", got, blocks)
	}
	if _, err := NewReasoningSealer(nil).Open(sealed); err == nil {
		t.Error("a sealer with a random secret opened another's blob")
	}
}
