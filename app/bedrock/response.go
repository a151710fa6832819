package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// FinishReason maps a Bedrock stop reason to OpenAI's finish_reason.
func FinishReason(r types.StopReason) string {
	switch r {
	case types.StopReasonToolUse:
		return "tool_calls"
	case types.StopReasonMaxTokens, types.StopReasonModelContextWindowExceeded:
		return "length"
	case types.StopReasonGuardrailIntervened, types.StopReasonContentFiltered:
		return "content_filter"
	}
	return "stop"
}

// Usage maps Bedrock token usage to OpenAI's. Prompt tokens include the
// tokens read from and written to the prompt cache, as OpenAI counts them.
func Usage(u *types.TokenUsage) *openai.Usage {
	if u == nil {
		return nil
	}
	in, out := int(aws.ToInt32(u.InputTokens)), int(aws.ToInt32(u.OutputTokens))
	read, write := int(aws.ToInt32(u.CacheReadInputTokens)), int(aws.ToInt32(u.CacheWriteInputTokens))
	details := &openai.PromptTokensDetails{CachedTokens: read, CacheWriteTokens: write}
	for _, d := range u.CacheDetails { // writes by TTL: 1-hour ones are priced apart
		if d.Ttl == types.CacheTTLOneHour {
			details.CacheWrite1hTokens += int(aws.ToInt32(d.InputTokens))
		}
	}
	return &openai.Usage{
		PromptTokens:        in + read + write,
		CompletionTokens:    out,
		TotalTokens:         in + read + write + out,
		PromptTokensDetails: details,
	}
}

// AddReasoningTokens sets completion_tokens_details.reasoning_tokens.
// Bedrock reports no reasoning count, so it is estimated from the reasoning
// text the answer carried (about four characters a token), at most the
// completion tokens.
func AddReasoningTokens(u *openai.Usage, reasoningChars int) {
	if u == nil || reasoningChars == 0 {
		return
	}
	u.CompletionTokensDetails = &openai.CompletionTokensDetails{ReasoningTokens: reasoningTokens(reasoningChars, u.CompletionTokens)}
}

// reasoningTokens is the estimate of AddReasoningTokens, shared with the
// Responses usage so both APIs report the same count for the same answer.
func reasoningTokens(reasoningChars, outputTokens int) int {
	return min((reasoningChars+3)/4, outputTokens)
}

// AddUsage adds b to a (for n > 1 choices).
func AddUsage(a, b *openai.Usage) *openai.Usage {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	s := &openai.Usage{
		PromptTokens:     a.PromptTokens + b.PromptTokens,
		CompletionTokens: a.CompletionTokens + b.CompletionTokens,
		TotalTokens:      a.TotalTokens + b.TotalTokens,
	}
	if a.CompletionTokensDetails != nil || b.CompletionTokensDetails != nil {
		s.CompletionTokensDetails = &openai.CompletionTokensDetails{}
		for _, d := range []*openai.CompletionTokensDetails{a.CompletionTokensDetails, b.CompletionTokensDetails} {
			if d != nil {
				s.CompletionTokensDetails.ReasoningTokens += d.ReasoningTokens
			}
		}
	}
	if a.PromptTokensDetails != nil && b.PromptTokensDetails != nil {
		s.PromptTokensDetails = &openai.PromptTokensDetails{
			CachedTokens:       a.PromptTokensDetails.CachedTokens + b.PromptTokensDetails.CachedTokens,
			CacheWriteTokens:   a.PromptTokensDetails.CacheWriteTokens + b.PromptTokensDetails.CacheWriteTokens,
			CacheWrite1hTokens: a.PromptTokensDetails.CacheWrite1hTokens + b.PromptTokensDetails.CacheWrite1hTokens,
		}
	}
	return s
}

// Choice converts one Converse answer into an OpenAI choice. All text blocks
// are kept, including text written before a tool call.
func (c *Call) Choice(out *bedrockruntime.ConverseOutput, index int) openai.Choice {
	msg := openai.ResponseMessage{Role: "assistant"}
	var text, reasoning strings.Builder
	jsonAnswer := false
	if m, ok := out.Output.(*types.ConverseOutputMemberMessage); ok {
		for _, b := range m.Value.Content {
			switch v := b.(type) {
			case *types.ContentBlockMemberText:
				text.WriteString(v.Value)
			case *types.ContentBlockMemberReasoningContent:
				switch r := v.Value.(type) {
				case *types.ReasoningContentBlockMemberReasoningText:
					reasoning.WriteString(aws.ToString(r.Value.Text))
					if sig := aws.ToString(r.Value.Signature); sig != "" {
						msg.ThinkingBlocks = append(msg.ThinkingBlocks, openai.ThinkingBlock{Type: "thinking", Thinking: aws.ToString(r.Value.Text), Signature: sig})
					}
				case *types.ReasoningContentBlockMemberRedactedContent:
					msg.ThinkingBlocks = append(msg.ThinkingBlocks, openai.ThinkingBlock{Type: "redacted_thinking", Data: base64.StdEncoding.EncodeToString(r.Value)})
				}
			case *types.ContentBlockMemberToolUse:
				args := toolInputJSON(v.Value.Input)
				if name := aws.ToString(v.Value.Name); name == c.JSONTool && c.JSONTool != "" {
					text.Reset()
					text.WriteString(c.unwrapJSON(args))
					jsonAnswer = true
					continue
				}
				msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: aws.ToString(v.Value.ToolUseId), Type: "function",
					Function: openai.FunctionCall{Name: aws.ToString(v.Value.Name), Arguments: args}})
			}
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	msg.ReasoningContent = reasoning.String()
	finish := FinishReason(out.StopReason)
	if jsonAnswer && len(msg.ToolCalls) == 0 && finish == "tool_calls" {
		finish = "stop"
	}
	return openai.Choice{Index: index, Message: msg, FinishReason: finish}
}

// unwrapJSON undoes the {"value": ...} wrapping of non-object schemas.
func (c *Call) unwrapJSON(args string) string {
	if !c.JSONWrapped {
		return args
	}
	var w struct {
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal([]byte(args), &w) == nil && len(w.Value) > 0 {
		return string(w.Value)
	}
	return args
}

func toolInputJSON(d document.Interface) string {
	if d == nil {
		return "{}"
	}
	b, err := d.MarshalSmithyDocument()
	if err != nil || len(b) == 0 || string(b) == "null" {
		return "{}"
	}
	return string(b)
}
