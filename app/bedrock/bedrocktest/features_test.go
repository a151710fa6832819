package bedrocktest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// TestConverseFeatures checks that the emulator accepts the late-2026
// Converse fields on the models that have them and refuses them, as Bedrock
// does, on the others.
func TestConverseFeatures(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	const (
		haiku45  = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
		sonnet46 = "us.anthropic.claude-sonnet-4-6"
		opus47   = "us.anthropic.claude-opus-4-7"
		micro    = "us.amazon.nova-micro-v1:0"
		nova2    = "us.amazon.nova-2-lite-v1:0"
		llama    = "us.meta.llama3-3-70b-instruct-v1:0"
	)
	textFormat := &types.OutputConfig{TextFormat: &types.OutputFormat{Type: types.OutputFormatTypeJsonSchema,
		Structure: &types.OutputFormatStructureMemberJsonSchema{Value: types.JsonSchemaDefinition{Name: aws.String("answer"), Schema: aws.String(`{"type":"object"}`)}}}}
	strictTool := &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("f"), Strict: aws.Bool(true),
		InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{"type": "object"})}}}}}
	fields := func(v map[string]any) document.Interface { return document.NewLazyDocument(v) }
	adaptive := map[string]any{"type": "adaptive"}
	cache1h := []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "context"},
		&types.ContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault, Ttl: types.CacheTTLOneHour}}}}}
	tests := []struct {
		name, model string
		in          bedrockruntime.ConverseInput
		want        string // "" for success
		tier        types.ServiceTierType
	}{
		{name: "structured output on Claude 4.5", model: haiku45, in: bedrockruntime.ConverseInput{OutputConfig: textFormat}},
		{name: "structured output on Nova Micro", model: micro, in: bedrockruntime.ConverseInput{OutputConfig: textFormat}, want: "doesn't support structured output"},
		{name: "strict tool on Claude 4.5", model: haiku45, in: bedrockruntime.ConverseInput{ToolConfig: strictTool}},
		{name: "strict tool on Llama 3.3", model: llama, in: bedrockruntime.ConverseInput{ToolConfig: strictTool}, want: "doesn't support strict tool use"},
		{name: "no tier: default served", model: haiku45, tier: "default"},
		{name: "priority on Claude", model: haiku45, in: bedrockruntime.ConverseInput{ServiceTier: &types.ServiceTier{Type: types.ServiceTierTypePriority}}, tier: "priority"},
		{name: "flex on Claude", model: haiku45, in: bedrockruntime.ConverseInput{ServiceTier: &types.ServiceTier{Type: types.ServiceTierTypeFlex}}, want: "service tier flex is not supported"},
		{name: "flex on Nova 2 Lite", model: nova2, in: bedrockruntime.ConverseInput{ServiceTier: &types.ServiceTier{Type: types.ServiceTierTypeFlex}}, tier: "flex"},
		{name: "unknown tier", model: nova2, in: bedrockruntime.ConverseInput{ServiceTier: &types.ServiceTier{Type: "turbo"}}, want: "Member must satisfy enum value set: [priority, default, flex, reserved]"},
		{name: "effort on Claude 4.6", model: sonnet46, in: bedrockruntime.ConverseInput{OutputConfig: &types.OutputConfig{Effort: aws.String("medium")}}},
		{name: "effort on Haiku 4.5", model: haiku45, in: bedrockruntime.ConverseInput{OutputConfig: &types.OutputConfig{Effort: aws.String("low")}}, want: "does not support the effort parameter"},
		{name: "xhigh effort without thinking", model: sonnet46, in: bedrockruntime.ConverseInput{OutputConfig: &types.OutputConfig{Effort: aws.String("xhigh")}}, want: "requires thinking"},
		{name: "xhigh effort with adaptive thinking", model: sonnet46, in: bedrockruntime.ConverseInput{OutputConfig: &types.OutputConfig{Effort: aws.String("xhigh")},
			AdditionalModelRequestFields: fields(map[string]any{"thinking": adaptive})}},
		{name: "effort in additional fields", model: opus47, in: bedrockruntime.ConverseInput{AdditionalModelRequestFields: fields(map[string]any{"thinking": adaptive, "output_config": map[string]any{"effort": "high"}})}},
		{name: "adaptive thinking on Haiku 4.5", model: haiku45, in: bedrockruntime.ConverseInput{AdditionalModelRequestFields: fields(map[string]any{"thinking": adaptive})}, want: "Input should be 'enabled' or 'disabled'"},
		{name: "budget thinking on Opus 4.7", model: opus47, in: bedrockruntime.ConverseInput{AdditionalModelRequestFields: thinking(2048), InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}},
			want: "'enabled' is not supported for this model"},
		{name: "budget thinking on Sonnet 4.6", model: sonnet46, in: bedrockruntime.ConverseInput{AdditionalModelRequestFields: thinking(2048), InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}}},
		{name: "adaptive thinking with temperature", model: opus47, in: bedrockruntime.ConverseInput{AdditionalModelRequestFields: fields(map[string]any{"thinking": adaptive}),
			InferenceConfig: &types.InferenceConfiguration{Temperature: aws.Float32(0.2)}}, want: "`temperature` may only be set to 1"},
		{name: "1-hour cache on Claude 4.5", model: haiku45, in: bedrockruntime.ConverseInput{Messages: cache1h}},
		{name: "1-hour cache on Nova", model: micro, in: bedrockruntime.ConverseInput{Messages: cache1h}, want: "doesn't support a cache point TTL of 1h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.ModelId = aws.String(tt.model)
			if in.Messages == nil {
				in.Messages = []types.Message{userText("hi")}
			}
			out, err := c.Converse(context.Background(), &in)
			if tt.want != "" {
				var ve *types.ValidationException
				if !errors.As(err, &ve) || !strings.Contains(ve.ErrorMessage(), tt.want) {
					t.Fatalf("error = %v, want ValidationException containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Converse: %v, want success", err)
			}
			if tt.tier != "" && (out.ServiceTier == nil || out.ServiceTier.Type != tt.tier) {
				t.Errorf("serviceTier = %+v, want %s", out.ServiceTier, tt.tier)
			}
		})
	}
}

// TestConverseStreamReportsTier checks the tier in the stream's metadata event.
func TestConverseStreamReportsTier(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	out, err := c.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{ModelId: aws.String("us.amazon.nova-2-lite-v1:0"),
		Messages: []types.Message{userText("hi")}, ServiceTier: &types.ServiceTier{Type: types.ServiceTierTypeFlex}})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var tier types.ServiceTierType
	for ev := range stream.Events() {
		if md, ok := ev.(*types.ConverseStreamOutputMemberMetadata); ok && md.Value.ServiceTier != nil {
			tier = md.Value.ServiceTier.Type
		}
	}
	if tier != types.ServiceTierTypeFlex {
		t.Errorf("metadata serviceTier = %q, want flex", tier)
	}
}
