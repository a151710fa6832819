package bedrocktest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/anthropic"
)

func invokeClaude(tb testing.TB, c *bedrockruntime.Client, model, body string) (*bedrockruntime.InvokeModelOutput, error) {
	tb.Helper()
	return c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(model), Body: []byte(body), ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
	})
}

// sonnet45p is Claude Sonnet 4.5 through its US profile, as Claude Code calls it.
const sonnet45p = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

// decodeMessage decodes an Anthropic message strictly.
func decodeMessage(tb testing.TB, b []byte) anthropic.Response {
	tb.Helper()
	var msg anthropic.Response
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&msg); err != nil {
		tb.Fatalf("decode message %s: %v", b, err)
	}
	return msg
}

func TestInvokeAnthropicMessage(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	out, err := invokeClaude(t, c, sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,
		"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral","ttl":"1h"}}],
		"messages":[{"role":"user","content":"Hello there"}],"metadata":{"user_id":"u1"}}`)
	if err != nil {
		t.Fatalf("InvokeModel: %v", err)
	}
	msg := decodeMessage(t, out.Body)
	if msg.Type != "message" || msg.Role != "assistant" || msg.Model != "claude-sonnet-4-5-20250929" || !strings.HasPrefix(msg.ID, "msg_bdrk_") {
		t.Errorf("got envelope %+v", msg)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "Emulated reply to: Hello there" {
		t.Errorf("got content %+v, want the echo", msg.Content)
	}
	if msg.StopReason == nil || *msg.StopReason != "end_turn" {
		t.Errorf("got stop reason %v, want end_turn", msg.StopReason)
	}
	if msg.Usage.CacheCreationInputTokens == 0 || msg.Usage.InputTokens == 0 || msg.Usage.OutputTokens == 0 {
		t.Errorf("got usage %+v, want a cache write and input/output tokens", msg.Usage)
	}
	// The same prefix again is a cache read.
	out, err = invokeClaude(t, c, sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,
		"system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
		"messages":[{"role":"user","content":"Hello again"}]}`)
	if err != nil {
		t.Fatalf("InvokeModel: %v", err)
	}
	if u := decodeMessage(t, out.Body).Usage; u.CacheReadInputTokens == 0 || u.CacheCreationInputTokens != 0 {
		t.Errorf("got usage %+v, want a cache read", u)
	}
}

func TestInvokeAnthropicToolsAndThinking(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	tools := `"tools":[{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]`
	out, err := invokeClaude(t, c, sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2000},`+tools+`,
		"messages":[{"role":"user","content":"@emulate {\"tool_calls\":[{\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}]}"}]}`)
	if err != nil {
		t.Fatalf("InvokeModel: %v", err)
	}
	msg := decodeMessage(t, out.Body)
	if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[0].Signature == "" || msg.Content[1].Type != "tool_use" {
		t.Fatalf("got content %+v, want a signed thinking block and a tool_use", msg.Content)
	}
	if *msg.StopReason != "tool_use" || string(msg.Content[1].Input) != `{"city":"Paris"}` {
		t.Errorf("got stop %s, input %s", *msg.StopReason, msg.Content[1].Input)
	}
	// Second turn: the thinking block goes back with the tool result.
	asst, _ := json.Marshal(msg.Content)
	_, err = invokeClaude(t, c, sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2000},`+tools+`,
		"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":`+string(asst)+`},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"}]}]}`)
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	// Dropping the thinking block is refused, as Anthropic does.
	_, err = invokeClaude(t, c, sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2000},`+tools+`,
		"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}]},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"sunny"}]}]}`)
	var ve *types.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "must start with a thinking block") {
		t.Errorf("got %v, want the thinking-history ValidationException", err)
	}
}

func TestInvokeAnthropicRejects(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	for _, tc := range []struct {
		name, model, body, want string
	}{
		{"model member", sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"model":"x","messages":[{"role":"user","content":"hi"}]}`, "extraneous key [model]"},
		{"stream member", sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "extraneous key [stream]"},
		{"no version", sonnet45p, `{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, "required key [anthropic_version]"},
		{"wrong version", sonnet45p, `{"anthropic_version":"2023-06-01","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, "Invalid API version"},
		{"no max_tokens", sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","messages":[{"role":"user","content":"hi"}]}`, "required key [max_tokens]"},
		{"unknown beta", sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["claude-code-20250219"],"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, "invalid beta flag"},
		{"url image", sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}`, "base64"},
		{"unknown model", "anthropic.claude-nope", `{}`, "model identifier is invalid"},
		{"nova", "amazon.nova-micro-v1:0", `{}`, "Anthropic and embedding models only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := invokeClaude(t, c, tc.model, tc.body)
			var ve *types.ValidationException
			if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), tc.want) {
				t.Errorf("got %v, want a ValidationException containing %q", err, tc.want)
			}
		})
	}
	// A retired model is at its end of life.
	_, err := invokeClaude(t, c, "anthropic.claude-3-5-haiku-20241022-v1:0", `{}`)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("retired model: got %v, want ResourceNotFoundException", err)
	}
	// The betas Bedrock knows pass.
	if _, err := invokeClaude(t, c, sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"],"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`); err != nil {
		t.Errorf("a known beta: %v", err)
	}
}

// streamEvents reads an InvokeModelWithResponseStream answer as the
// Anthropic events its chunks carry.
func streamEvents(tb testing.TB, c *bedrockruntime.Client, model, body string) ([]map[string]any, error) {
	tb.Helper()
	out, err := c.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
		ModelId: aws.String(model), Body: []byte(body), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return nil, err
	}
	stream := out.GetStream()
	defer stream.Close()
	var evs []map[string]any
	for ev := range stream.Events() {
		chunk, ok := ev.(*types.ResponseStreamMemberChunk)
		if !ok {
			tb.Fatalf("got event %T, want a chunk", ev)
		}
		var m map[string]any
		if err := json.Unmarshal(chunk.Value.Bytes, &m); err != nil {
			tb.Fatalf("chunk bytes %q: %v", chunk.Value.Bytes, err)
		}
		evs = append(evs, m)
	}
	return evs, stream.Err()
}

func TestInvokeAnthropicStream(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	evs, err := streamEvents(t, c, sonnet45p, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":1024},
		"tools":[{"name":"f","input_schema":{"type":"object"}}],
		"messages":[{"role":"user","content":"@emulate {\"text\":[\"Hel\",\"lo\"],\"tool_calls\":[{\"name\":\"f\",\"input\":{\"a\":1}}]}"}]}`)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	var kinds []string
	var text, thinking, sig, input string
	for _, ev := range evs {
		kind := ev["type"].(string)
		if kind == "content_block_delta" {
			d := ev["delta"].(map[string]any)
			kind += "/" + d["type"].(string)
			switch d["type"] {
			case "text_delta":
				text += d["text"].(string)
			case "thinking_delta":
				thinking += d["thinking"].(string)
			case "signature_delta":
				sig += d["signature"].(string)
			case "input_json_delta":
				input += d["partial_json"].(string)
			}
		}
		if kind == "message_stop" {
			if _, ok := ev["amazon-bedrock-invocationMetrics"]; !ok {
				t.Errorf("message_stop without amazon-bedrock-invocationMetrics: %v", ev)
			}
		}
		kinds = append(kinds, kind)
	}
	want := []string{"message_start",
		"content_block_start", "content_block_delta/thinking_delta", "content_block_delta/thinking_delta", "content_block_delta/signature_delta", "content_block_stop",
		"content_block_start", "content_block_delta/text_delta", "content_block_delta/text_delta", "content_block_stop",
		"content_block_start", "content_block_delta/input_json_delta", "content_block_delta/input_json_delta", "content_block_delta/input_json_delta", "content_block_stop",
		"message_delta", "message_stop"}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Errorf("got events\n%v\nwant\n%v", kinds, want)
	}
	if text != "Hello" || input != `{"a":1}` || sig == "" || !strings.HasPrefix(thinking, "Emulated reasoning") {
		t.Errorf("got text %q, input %q, signature %q, thinking %q", text, input, sig, thinking)
	}
	if d := evs[len(evs)-2]["delta"].(map[string]any); d["stop_reason"] != "tool_use" {
		t.Errorf("got message_delta %v, want stop_reason tool_use", evs[len(evs)-2])
	}
}

func TestInvokeAnthropicStreamErrors(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	body := func(directive string) string {
		d, _ := json.Marshal(directive)
		return `{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":` + string(d) + `}]}`
	}
	evs, err := streamEvents(t, c, sonnet45, body(`@emulate {"stream_error":{"type":"ThrottlingException","message":"slow"},"stream_error_after":2}`))
	var te *types.ThrottlingException
	if !errors.As(err, &te) || len(evs) != 2 {
		t.Errorf("got %d events and %v, want 2 events then a ThrottlingException", len(evs), err)
	}
	_, err = streamEvents(t, c, sonnet45, body(`@emulate-error ServiceUnavailableException`))
	var su *types.ServiceUnavailableException
	if !errors.As(err, &su) {
		t.Errorf("got %v, want a ServiceUnavailableException before the stream", err)
	}
	_, err = streamEvents(t, c, "cohere.embed-english-v3", `{"texts":["a"],"input_type":"search_document"}`)
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Errorf("embedding model streamed: got %v, want a ValidationException", err)
	}
}

func TestCountTokens(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	body := `{"anthropic_version":"bedrock-2023-05-31","max_tokens":10,"messages":[{"role":"user","content":"` + strings.Repeat("a", 400) + `"}]}`
	out, err := c.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String("anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Input:   &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(body)}},
	})
	if err != nil {
		t.Fatalf("CountTokens (InvokeModel body): %v", err)
	}
	if got := aws.ToInt32(out.InputTokens); got != 101 {
		t.Errorf("got %d input tokens, want 101", got)
	}
	out, err = c.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
		Input:   &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: []types.Message{userText(strings.Repeat("b", 40))}}},
	})
	if err != nil {
		t.Fatalf("CountTokens (Converse): %v", err)
	}
	if got := aws.ToInt32(out.InputTokens); got != 11 {
		t.Errorf("got %d input tokens, want 11", got)
	}
	_, err = c.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String("amazon.nova-micro-v1:0"),
		Input:   &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: []types.Message{userText("b")}}},
	})
	var ve *types.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "doesn't support counting tokens") {
		t.Errorf("Nova: got %v, want the unsupported-model ValidationException", err)
	}
}
