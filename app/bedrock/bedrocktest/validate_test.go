package bedrocktest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

const (
	sonnet45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	sonnet37 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0" // budget thinking, images
	pngBytes = "\x89PNG\r\n\x1a\n"
)

func toolUseMsg(ids ...string) types.Message {
	m := types.Message{Role: types.ConversationRoleAssistant}
	for _, id := range ids {
		m.Content = append(m.Content, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
			ToolUseId: aws.String(id), Name: aws.String("get_weather"), Input: document.NewLazyDocument(map[string]any{"city": "Paris"}),
		}})
	}
	return m
}

func toolResultMsg(ids ...string) types.Message {
	m := types.Message{Role: types.ConversationRoleUser}
	for _, id := range ids {
		m.Content = append(m.Content, &types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
			ToolUseId: aws.String(id), Content: []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "18C"}},
		}})
	}
	return m
}

func reasoningBlock(sig string) types.ContentBlock {
	return &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{
		Value: types.ReasoningTextBlock{Text: aws.String("thinking"), Signature: aws.String(sig)}}}
}

func thinking(budget int) document.Interface {
	return document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": budget}})
}

func imageMsg(format types.ImageFormat, data string) types.Message {
	return types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
		&types.ContentBlockMemberText{Value: "what is this?"},
		&types.ContentBlockMemberImage{Value: types.ImageBlock{Format: format, Source: &types.ImageSourceMemberBytes{Value: []byte(data)}}},
	}}
}

func documentMsg(format types.DocumentFormat, name string) types.Message {
	return types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
		&types.ContentBlockMemberText{Value: "summarise"},
		&types.ContentBlockMemberDocument{Value: types.DocumentBlock{Format: format, Name: aws.String(name), Source: &types.DocumentSourceMemberBytes{Value: []byte("hello")}}},
	}}
}

// TestConverseValidation sends each request Bedrock refuses (and a few it
// accepts) through the real SDK client, or raw where the SDK refuses to build
// it, and checks the ValidationException and its message.
func TestConverseValidation(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	temp := func(v float32) *types.InferenceConfiguration {
		return &types.InferenceConfiguration{Temperature: aws.Float32(v)}
	}
	tests := []struct {
		name string
		in   *bedrockruntime.ConverseInput // ModelId defaults to haiku
		raw  string                        // sent as is to haiku when in is nil
		want string                        // message substring; "" means the call must succeed
	}{
		{name: "unknown model", in: &bedrockruntime.ConverseInput{ModelId: aws.String("anthropic.claude-0"), Messages: []types.Message{userText("hi")}},
			want: "The provided model identifier is invalid."},
		{name: "embedding model", in: &bedrockruntime.ConverseInput{ModelId: aws.String("amazon.titan-embed-text-v2:0"), Messages: []types.Message{userText("hi")}},
			want: "doesn't support the model that you provided"},
		{name: "no messages", in: &bedrockruntime.ConverseInput{Messages: []types.Message{}},
			want: "The messages field is empty"},
		{name: "first message from assistant", in: &bedrockruntime.ConverseInput{Messages: []types.Message{assistantText("hi"), userText("hi")}},
			want: "A conversation must start with a user message."},
		{name: "roles do not alternate", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("a"), userText("b")}},
			want: "A conversation must alternate between user and assistant roles."},
		{name: "system role in messages", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("a"), {Role: "system", Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "x"}}}}},
			want: "Value 'system' at 'messages.1.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"},
		{name: "blank text", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText(" \n\t ")}},
			want: "The text field in the ContentBlock object at messages.0.content.0 is blank."},
		{name: "empty content", in: &bedrockruntime.ConverseInput{Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{}}}},
			want: "The content field in the Message object at messages.0 is empty."},
		{name: "blank system text", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("hi")}, System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: " "}}},
			want: "The text field in the SystemContentBlock object at system.0 is blank."},
		{name: "tool blocks without toolConfig", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("w?"), toolUseMsg("t1"), toolResultMsg("t1")}},
			want: "The toolConfig field must be defined when using toolUse and toolResult content blocks."},
		{name: "tool result for an unknown tool use", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("w?"), toolUseMsg("t1"), toolResultMsg("t2")}, ToolConfig: weatherTools()},
			want: "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: t2."},
		{name: "fewer tool results than tool uses", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("w?"), toolUseMsg("t1", "t2"), toolResultMsg("t1")}, ToolConfig: weatherTools()},
			want: "Expected toolResult blocks at messages.2.content for the following Ids: t2"},
		{name: "more tool results than tool uses", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("w?"), toolUseMsg("t1"), toolResultMsg("t1", "t1")}, ToolConfig: weatherTools()},
			want: "The number of toolResult blocks at messages.2.content exceeds the number of toolUse blocks of previous turn."},
		{name: "matching tool round trip", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("w?"), toolUseMsg("t1", "t2"), toolResultMsg("t2", "t1")}, ToolConfig: weatherTools()}},
		{name: "tool spec without name", raw: `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"toolConfig":{"tools":[{"toolSpec":{"inputSchema":{"json":{}}}}]}}`,
			want: "Value null at 'toolConfig.tools.0.member.toolSpec.name' failed to satisfy constraint: Member must not be null"},
		{name: "tool spec without input schema", raw: `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f"}}]}}`,
			want: "Value null at 'toolConfig.tools.0.member.toolSpec.inputSchema'"},
		{name: "tool choice without tools", raw: `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"toolConfig":{"toolChoice":{"auto":{}}}}`,
			want: "Value '[]' at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{name: "image format", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), Messages: []types.Message{imageMsg("bmp", pngBytes)}},
			want: "Value 'bmp' at 'messages.0.member.content.1.member.image.format' failed to satisfy constraint: Member must satisfy enum value set: [png, jpeg, gif, webp]"},
		{name: "empty image bytes", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), Messages: []types.Message{imageMsg(types.ImageFormatPng, "")}},
			want: "The image bytes at messages.0.content.1.image.source.bytes are empty."},
		{name: "image to a text-only model", in: &bedrockruntime.ConverseInput{ModelId: aws.String("us.amazon.nova-micro-v1:0"), Messages: []types.Message{imageMsg(types.ImageFormatPng, pngBytes)}},
			want: "This model doesn't support images."},
		{name: "image accepted", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), Messages: []types.Message{imageMsg(types.ImageFormatPng, pngBytes)}}},
		{name: "document format", in: &bedrockruntime.ConverseInput{Messages: []types.Message{documentMsg("exe", "report")}},
			want: "Value 'exe' at 'messages.0.member.content.1.member.document.format'"},
		{name: "document without name", raw: `{"messages":[{"role":"user","content":[{"document":{"format":"txt","source":{"bytes":"aGk="}}}]}]}`,
			want: "Value null at 'messages.0.member.content.0.member.document.name' failed to satisfy constraint: Member must not be null"},
		{name: "document name characters", in: &bedrockruntime.ConverseInput{Messages: []types.Message{documentMsg(types.DocumentFormatTxt, "report.txt")}},
			want: "The document file name at messages.0.content.1.document.name can only contain"},
		{name: "document accepted", in: &bedrockruntime.ConverseInput{Messages: []types.Message{documentMsg(types.DocumentFormatTxt, "Q3 report (final)")}}},
		{name: "temperature above 1", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("hi")}, InferenceConfig: temp(1.5)},
			want: "Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"},
		{name: "temperature below 0", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("hi")}, InferenceConfig: temp(-0.5)},
			want: "Member must have value greater than or equal to 0"},
		{name: "topP above 1", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("hi")}, InferenceConfig: &types.InferenceConfiguration{TopP: aws.Float32(2)}},
			want: "at 'inferenceConfig.topP'"},
		{name: "maxTokens 0", in: &bedrockruntime.ConverseInput{Messages: []types.Message{userText("hi")}, InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(0)}},
			want: "Value '0' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{name: "temperature and topP on Sonnet 4.5", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{userText("hi")},
			InferenceConfig: &types.InferenceConfiguration{Temperature: aws.Float32(0.5), TopP: aws.Float32(0.9)}},
			want: "`temperature` and `top_p` cannot both be specified for this model."},
		{name: "temperature and topP on Sonnet 4.5 via its profile ARN", in: &bedrockruntime.ConverseInput{ModelId: aws.String("arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + sonnet45), Messages: []types.Message{userText("hi")},
			InferenceConfig: &types.InferenceConfiguration{Temperature: aws.Float32(0.5), TopP: aws.Float32(0.9)}},
			want: "cannot both be specified"},
		{name: "temperature and topP on Nova 2 Lite", in: &bedrockruntime.ConverseInput{ModelId: aws.String("us.amazon.nova-2-lite-v1:0"), Messages: []types.Message{userText("hi")},
			InferenceConfig: &types.InferenceConfiguration{Temperature: aws.Float32(0.5), TopP: aws.Float32(0.9)}}},
		{name: "thinking budget below 1024", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), Messages: []types.Message{userText("hi")}, AdditionalModelRequestFields: thinking(512)},
			want: "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"},
		{name: "thinking budget not below maxTokens", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), Messages: []types.Message{userText("hi")}, AdditionalModelRequestFields: thinking(2048),
			InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(2048)}},
			want: "`max_tokens` must be greater than `thinking.budget_tokens`"},
		{name: "thinking with temperature", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), Messages: []types.Message{userText("hi")}, AdditionalModelRequestFields: thinking(2048), InferenceConfig: temp(0.5)},
			want: "`temperature` may only be set to 1 when thinking is enabled"},
		{name: "thinking with temperature 1", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), Messages: []types.Message{userText("hi")}, AdditionalModelRequestFields: thinking(2048), InferenceConfig: temp(1)}},
		{name: "thinking with topP", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), Messages: []types.Message{userText("hi")}, AdditionalModelRequestFields: thinking(2048),
			InferenceConfig: &types.InferenceConfiguration{TopP: aws.Float32(0.9)}},
			want: "`top_p` must be unset when thinking is enabled"},
		{name: "thinking on a non-Anthropic model", in: &bedrockruntime.ConverseInput{ModelId: aws.String("amazon.nova-pro-v1:0"), Messages: []types.Message{userText("hi")}, AdditionalModelRequestFields: thinking(2048)},
			want: "extraneous key [thinking] is not permitted"},
		{name: "thinking with forced tool choice", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), Messages: []types.Message{userText("hi")}, AdditionalModelRequestFields: thinking(2048),
			ToolConfig: &types.ToolConfiguration{Tools: weatherTools().Tools, ToolChoice: &types.ToolChoiceMemberAny{}}},
			want: "Thinking may not be enabled when tool_choice forces tool use."},
		{name: "thinking and a tool turn without reasoning", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), AdditionalModelRequestFields: thinking(2048), ToolConfig: weatherTools(),
			Messages: []types.Message{userText("w?"), toolUseMsg("t1"), toolResultMsg("t1")}},
			want: "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`."},
		{name: "thinking and a tool turn led by reasoning", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37), AdditionalModelRequestFields: thinking(2048), ToolConfig: weatherTools(),
			Messages: []types.Message{userText("w?"), {Role: types.ConversationRoleAssistant, Content: append([]types.ContentBlock{reasoningBlock("sig")}, toolUseMsg("t1").Content...)}, toolResultMsg("t1")}}},
		{name: "reasoning without signature", in: &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet37),
			Messages: []types.Message{userText("a"), {Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{reasoningBlock(""), &types.ContentBlockMemberText{Value: "b"}}}, userText("c")}},
			want: "messages.1.content.0.thinking.signature: Field required"},
		{name: "cache points accepted", in: &bedrockruntime.ConverseInput{Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
			&types.ContentBlockMemberText{Value: "long context"}, &types.ContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}}}}}}},
		{name: "cache point on a model without caching", in: &bedrockruntime.ConverseInput{ModelId: aws.String("mistral.mistral-large-3-675b-instruct"), Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{
			&types.ContentBlockMemberText{Value: "long context"}, &types.ContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}}}}}},
			want: "You invoked an unsupported model or your request did not allow prompt caching."},
		{name: "unknown member", raw: `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"temperature":0.5}`,
			want: "Malformed input request: extraneous key [temperature] is not permitted"},
		{name: "every documented member accepted", raw: `{"messages":[{"role":"user","content":[{"text":"hi"},{"cachePoint":{"type":"default","ttl":"5m"}}]}],
			"system":[{"text":"be brief"},{"cachePoint":{"type":"default"}}],
			"inferenceConfig":{"maxTokens":512,"topP":0.9,"stopSequences":["\n\nHuman:"]},
			"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"d","inputSchema":{"json":{"type":"object"}},"strict":true}},{"cachePoint":{"type":"default"}}],"toolChoice":{"tool":{"name":"get_weather"}}},
			"guardrailConfig":{"guardrailIdentifier":"gr-emulated","guardrailVersion":"1","trace":"enabled"},
			"additionalModelRequestFields":{"top_k":200},"additionalModelResponseFieldPaths":["/stop_sequence"],
			"promptVariables":{"v":{"text":"x"}},"requestMetadata":{"k":"v"},"performanceConfig":{"latency":"standard"},
			"serviceTier":{"type":"default"},"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"name":"n","schema":"{}"}}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code, msg string
			if tt.in != nil {
				if tt.in.ModelId == nil {
					tt.in.ModelId = aws.String(haiku)
				}
				_, err := c.Converse(context.Background(), tt.in)
				if tt.want == "" {
					if err != nil {
						t.Fatalf("Converse: %v, want success", err)
					}
					return
				}
				var ve *types.ValidationException
				if !errors.As(err, &ve) {
					t.Fatalf("error = %v (%T), want *types.ValidationException", err, err)
				}
				code, msg = ve.ErrorCode(), ve.ErrorMessage()
			} else {
				resp, body := postRaw(t, srv, "/model/"+url.PathEscape(haiku)+"/converse", tt.raw)
				if tt.want == "" {
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("status %d %s, want 200", resp.StatusCode, body)
					}
					return
				}
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("status = %d, want 400", resp.StatusCode)
				}
				code, _, _ = strings.Cut(resp.Header.Get("X-Amzn-ErrorType"), ":")
				msg = body
			}
			if code != "ValidationException" || !strings.Contains(msg, tt.want) {
				t.Errorf("got %s %q, want ValidationException containing %q", code, msg, tt.want)
			}
		})
	}
}

func TestConverseStreamValidation(t *testing.T) {
	srv := NewServer(t, WithModels(Model{ID: "acme.batch-v1", Name: "Batch", Provider: "Acme",
		InputModalities: []string{"TEXT"}, OutputModalities: []string{"TEXT"}, Streaming: false}))
	c := runtimeClient(t, srv)
	_, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("acme.batch-v1"), Messages: []types.Message{userText("hi")}})
	var ve *types.ValidationException
	if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), "unsupported for streaming") {
		t.Errorf("ConverseStream on a non-streaming model: %v, want a ValidationException", err)
	}
	_, err = c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("acme.batch-v1"), Messages: []types.Message{userText("a"), userText("b")}})
	if !errors.As(err, &ve) {
		t.Errorf("ConverseStream with bad messages: %v, want a ValidationException", err)
	}
	if _, err := converse(t, c, "acme.batch-v1", "hi"); err != nil {
		t.Errorf("Converse on the non-streaming model: %v", err)
	}
}
