package server_test

import (
	"context"
	"encoding/json"
	"testing"

	openaigo "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

// TestChatResponseFormatNative sends a json_schema response format to a
// model with native structured output: Bedrock gets outputConfig.textFormat
// and no tool, and the answer (JSON the emulator makes fit the schema) is
// the message content, streamed or not.
func TestChatResponseFormatNative(t *testing.T) {
	h := newHarness(t)
	p := userParams("weather as JSON")
	p.ResponseFormat = openaigo.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "weather", Strict: openaigo.Bool(true), Schema: map[string]any{
			"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}, "temp": map[string]any{"type": "number"}},
			"required": []string{"city", "temp"}, "additionalProperties": false}},
	}}
	resp, err := h.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		ToolConfig   json.RawMessage `json:"toolConfig"`
		OutputConfig struct {
			TextFormat struct {
				Type      string `json:"type"`
				Structure struct {
					JSONSchema struct{ Name, Schema string } `json:"jsonSchema"`
				} `json:"structure"`
			} `json:"textFormat"`
		} `json:"outputConfig"`
	}
	if err := json.Unmarshal(h.lastRequest(t, "Converse").Body, &sent); err != nil {
		t.Fatal(err)
	}
	tf := sent.OutputConfig.TextFormat
	if tf.Type != "json_schema" || tf.Structure.JSONSchema.Name != "weather" || sent.ToolConfig != nil {
		t.Errorf("Bedrock got textFormat %+v, toolConfig %s; want the schema natively and no tool", tf, sent.ToolConfig)
	}
	var answer struct {
		City string   `json:"city"`
		Temp *float64 `json:"temp"`
	}
	c := resp.Choices[0]
	if err := json.Unmarshal([]byte(c.Message.Content), &answer); err != nil || answer.City == "" || answer.Temp == nil || c.FinishReason != "stop" {
		t.Errorf("content %q (%v) finish %q, want JSON in the schema", c.Message.Content, err, c.FinishReason)
	}
	var acc openaigo.ChatCompletionAccumulator
	stream := h.client.Chat.Completions.NewStreaming(context.Background(), p)
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || acc.Choices[0].Message.Content != c.Message.Content {
		t.Errorf("stream: content %q err %v, want %q", acc.Choices[0].Message.Content, err, c.Message.Content)
	}
}

// TestChatStrictTools sends a strict function tool: Claude 4.5 gets
// toolSpec.strict, a model without strict tool use gets the tool without it
// (the emulator refuses strict there, as Bedrock does).
func TestChatStrictTools(t *testing.T) {
	h := newHarness(t)
	for model, want := range map[string]bool{modelClaude: true, "us.meta.llama3-3-70b-instruct-v1:0": false} {
		p := userParams("weather?")
		p.Model = model
		p.Tools = []openaigo.ChatCompletionToolUnionParam{openaigo.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather", Strict: openaigo.Bool(true),
			Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{}, "additionalProperties": false}})}
		if _, err := h.client.Chat.Completions.New(context.Background(), p); err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		var sent struct {
			ToolConfig struct {
				Tools []struct {
					ToolSpec struct{ Strict *bool } `json:"toolSpec"`
				} `json:"tools"`
			} `json:"toolConfig"`
		}
		_ = json.Unmarshal(h.lastRequest(t, "Converse").Body, &sent)
		if got := sent.ToolConfig.Tools[0].ToolSpec.Strict != nil && *sent.ToolConfig.Tools[0].ToolSpec.Strict; got != want {
			t.Errorf("%s: strict %v, want %v", model, got, want)
		}
	}
}
