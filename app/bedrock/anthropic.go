package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/anthropic"
	"github.com/openbedrock/gateway/app/openai"
)

// Anthropic Messages requests for models other than Claude are mapped onto
// the chat request Translate takes, so they share its history repair,
// model quirks, reasoning, caching and media handling; answers come back
// from Converse as Anthropic messages (AnthropicMessage) or stream events
// (AnthropicStream). Claude models take the Anthropic body natively
// (InvokeModel), through Service.InvokeAnthropic.

// AnthropicToChat maps an Anthropic Messages request onto a chat request.
// Blocks and tools that only Claude understands are refused with a
// *RequestError naming them; top_k is dropped (Converse has no portable
// field for it).
func AnthropicToChat(req *anthropic.MessagesRequest) (*openai.ChatCompletionRequest, error) {
	if req.MaxTokens < 1 {
		return nil, badRequest("max_tokens", "max_tokens: Field required (a positive integer)")
	}
	out := &openai.ChatCompletionRequest{
		Model:       req.Model,
		MaxTokens:   &req.MaxTokens,
		Stop:        openai.StringList(req.StopSequences),
		Temperature: req.Temperature,
		TopP:        req.TopP,
		Stream:      req.Stream,
	}
	if req.Metadata != nil {
		out.User = req.Metadata.UserID
	}
	if len(req.System) > 0 {
		sys := openai.Message{Role: "system", Content: openai.Content{IsParts: true}}
		for i, b := range req.System {
			if b.Type != anthropic.BlockText {
				return nil, badRequest(fmt.Sprintf("system.%d.type", i), "system.%d.type: only text blocks are allowed in system", i)
			}
			sys.Content.Parts = append(sys.Content.Parts, openai.ContentPart{Type: "text", Text: b.Text, CacheControl: chatCache(b.CacheControl)})
		}
		out.Messages = append(out.Messages, sys)
	}
	for i, m := range req.Messages {
		var msgs []openai.Message
		var err error
		switch m.Role {
		case "user":
			msgs, err = userToChat(m.Content, i)
		case "assistant":
			msgs, err = assistantToChat(m.Content, i)
		case "system": // mid-conversation system messages (Claude Code sends them): system text
			msgs = []openai.Message{{Role: "system", Content: openai.Content{Text: anthropic.TextOf(m.Content)}}}
		default:
			return nil, badRequest(fmt.Sprintf("messages.%d.role", i), "messages.%d.role: Input should be 'user', 'assistant' or 'system'", i)
		}
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}
	for i, t := range req.Tools {
		if !t.IsCustom() {
			return nil, badRequest(fmt.Sprintf("tools.%d.type", i), "tools.%d: the tool type %q is only available on Claude models", i, t.Type)
		}
		params := t.InputSchema
		if len(params) == 0 {
			return nil, badRequest(fmt.Sprintf("tools.%d.input_schema", i), "tools.%d.input_schema: Field required", i)
		}
		out.Tools = append(out.Tools, openai.Tool{Type: "function", Function: openai.FunctionDef{Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict},
			CacheControl: chatCache(t.CacheControl)})
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto", "none":
			out.ToolChoice = &openai.ToolChoice{Mode: tc.Type}
		case "any":
			out.ToolChoice = &openai.ToolChoice{Mode: "required"}
		case "tool":
			out.ToolChoice = &openai.ToolChoice{Mode: "function", Function: tc.Name}
		default:
			return nil, badRequest("tool_choice.type", "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
		}
		if tc.DisableParallelToolUse {
			no := false
			out.ParallelToolCalls = &no
		}
	}
	if th := req.Thinking; th != nil {
		switch th.Type {
		case "enabled":
			out.ReasoningEffort = effortOfBudget(th.BudgetTokens)
		case "adaptive":
			out.ReasoningEffort = "medium"
			if oc := req.OutputConfig; oc != nil && oc.Effort != "" {
				out.ReasoningEffort = map[string]string{"low": "low", "medium": "medium", "high": "high", "max": "high"}[oc.Effort]
			}
		case "disabled":
		default:
			return nil, badRequest("thinking.type", "thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'")
		}
	}
	return out, nil
}

// effortOfBudget is the reasoning effort whose budget (Translate's table) is
// closest below a thinking budget.
func effortOfBudget(budget int) string {
	switch {
	case budget >= reasoningEfforts["high"]:
		return "high"
	case budget >= reasoningEfforts["medium"]:
		return "medium"
	case budget >= reasoningEfforts["low"]:
		return "low"
	}
	return "minimal"
}

func chatCache(cc *anthropic.CacheControl) *openai.CacheControl {
	if cc == nil {
		return nil
	}
	return &openai.CacheControl{Type: cc.Type, TTL: cc.TTL}
}

// userToChat maps a user turn: its tool results become tool messages (they
// answer the previous assistant turn), the rest one user message.
func userToChat(content anthropic.Content, i int) ([]openai.Message, error) {
	var out []openai.Message
	user := openai.Message{Role: "user", Content: openai.Content{IsParts: true}}
	for j, b := range content {
		at := fmt.Sprintf("messages.%d.content.%d", i, j)
		switch b.Type {
		case anthropic.BlockToolResult:
			text, err := toolResultText(b, at)
			if err != nil {
				return nil, err
			}
			out = append(out, openai.Message{Role: "tool", ToolCallID: b.ToolUseID, Content: openai.Content{Text: text}})
		default:
			part, err := partOf(b, at)
			if err != nil {
				return nil, err
			}
			user.Content.Parts = append(user.Content.Parts, part)
		}
	}
	if len(user.Content.Parts) > 0 {
		out = append(out, user)
	}
	return out, nil
}

// toolResultText flattens a tool result to text (chat tool messages carry text).
func toolResultText(b anthropic.ContentBlock, at string) (string, error) {
	var parts []string
	for k, c := range b.Content {
		if c.Type != anthropic.BlockText {
			return "", badRequest(fmt.Sprintf("%s.content.%d.type", at, k), "%s.content.%d: only text tool results are supported for this model", at, k)
		}
		parts = append(parts, c.Text)
	}
	text := strings.Join(parts, "\n")
	if b.IsError {
		text = "Error: " + text
	}
	return text, nil
}

// partOf maps a user content block onto a chat content part.
func partOf(b anthropic.ContentBlock, at string) (openai.ContentPart, error) {
	switch b.Type {
	case anthropic.BlockText:
		return openai.ContentPart{Type: "text", Text: b.Text, CacheControl: chatCache(b.CacheControl)}, nil
	case anthropic.BlockImage:
		s := b.Source
		switch {
		case s != nil && s.Type == "base64":
			return openai.ContentPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: "data:" + s.MediaType + ";base64," + s.Data}, CacheControl: chatCache(b.CacheControl)}, nil
		case s != nil && s.Type == "url":
			return openai.ContentPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: s.URL}, CacheControl: chatCache(b.CacheControl)}, nil
		}
		return openai.ContentPart{}, badRequest(at+".source", "%s.source: an image needs a base64 or url source", at)
	case anthropic.BlockDocument:
		s := b.Source
		switch {
		case s != nil && s.Type == "base64":
			return openai.ContentPart{Type: "file", File: &openai.File{FileData: "data:" + s.MediaType + ";base64," + s.Data, Filename: b.Title}, CacheControl: chatCache(b.CacheControl)}, nil
		case s != nil && s.Type == "text":
			return openai.ContentPart{Type: "file", File: &openai.File{FileData: "data:text/plain;base64," + base64.StdEncoding.EncodeToString([]byte(s.Data)), Filename: b.Title},
				CacheControl: chatCache(b.CacheControl)}, nil
		}
		return openai.ContentPart{}, badRequest(at+".source", "%s.source: a document needs a base64 or text source for this model", at)
	}
	return openai.ContentPart{}, badRequest(at+".type", "%s.type: %q blocks are not supported in user turns for this model", at, b.Type)
}

// assistantToChat maps an assistant turn: text, tool calls and thinking.
func assistantToChat(content anthropic.Content, i int) ([]openai.Message, error) {
	m := openai.Message{Role: "assistant"}
	var text strings.Builder
	for j, b := range content {
		at := fmt.Sprintf("messages.%d.content.%d", i, j)
		switch b.Type {
		case anthropic.BlockText:
			text.WriteString(b.Text)
		case anthropic.BlockToolUse:
			in := b.Input
			if len(in) == 0 {
				in = json.RawMessage("{}")
			}
			m.ToolCalls = append(m.ToolCalls, openai.ToolCall{ID: b.ID, Type: "function", Function: openai.FunctionCall{Name: b.Name, Arguments: string(in)}})
		case anthropic.BlockThinking:
			m.ThinkingBlocks = append(m.ThinkingBlocks, openai.ThinkingBlock{Type: "thinking", Thinking: b.Thinking, Signature: b.Signature})
		case anthropic.BlockRedactedThinking:
			m.ThinkingBlocks = append(m.ThinkingBlocks, openai.ThinkingBlock{Type: "redacted_thinking", Data: b.Data})
		default:
			return nil, badRequest(at+".type", "%s.type: %q blocks are not supported in assistant turns for this model", at, b.Type)
		}
	}
	m.Content = openai.Content{Text: text.String()}
	return []openai.Message{m}, nil
}

// AnthropicStopReason maps a Converse stop reason onto Anthropic's.
func AnthropicStopReason(r types.StopReason) string {
	switch r {
	case types.StopReasonToolUse:
		return anthropic.StopToolUse
	case types.StopReasonMaxTokens:
		return anthropic.StopMaxTokens
	case types.StopReasonStopSequence:
		return anthropic.StopSequence
	case types.StopReasonGuardrailIntervened, types.StopReasonContentFiltered:
		return anthropic.StopRefusal
	case types.StopReasonModelContextWindowExceeded:
		return anthropic.StopContextLimit
	}
	return anthropic.StopEndTurn
}

// AnthropicUsage maps Converse usage onto Anthropic's (input tokens
// exclude cache reads and writes in both).
func AnthropicUsage(u *types.TokenUsage) anthropic.Usage {
	if u == nil {
		return anthropic.Usage{}
	}
	return anthropic.Usage{
		InputTokens:              int(aws.ToInt32(u.InputTokens)),
		OutputTokens:             int(aws.ToInt32(u.OutputTokens)),
		CacheCreationInputTokens: int(aws.ToInt32(u.CacheWriteInputTokens)),
		CacheReadInputTokens:     int(aws.ToInt32(u.CacheReadInputTokens)),
	}
}

// AnthropicMessage builds the Anthropic message of a Converse answer.
func AnthropicMessage(out *bedrockruntime.ConverseOutput, id, model string) anthropic.Response {
	stop := AnthropicStopReason(out.StopReason)
	msg := anthropic.Response{ID: id, Type: "message", Role: "assistant", Model: model, Content: []anthropic.ContentBlock{},
		StopReason: &stop, Usage: AnthropicUsage(out.Usage)}
	m, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		return msg
	}
	for _, c := range m.Value.Content {
		switch v := c.(type) {
		case *types.ContentBlockMemberText:
			msg.Content = append(msg.Content, anthropic.ContentBlock{Type: anthropic.BlockText, Text: v.Value})
		case *types.ContentBlockMemberToolUse:
			msg.Content = append(msg.Content, anthropic.ContentBlock{Type: anthropic.BlockToolUse, ID: aws.ToString(v.Value.ToolUseId), Name: aws.ToString(v.Value.Name),
				Input: json.RawMessage(toolInputJSON(v.Value.Input))})
		case *types.ContentBlockMemberReasoningContent:
			switch r := v.Value.(type) {
			case *types.ReasoningContentBlockMemberReasoningText:
				msg.Content = append(msg.Content, anthropic.ContentBlock{Type: anthropic.BlockThinking, Thinking: aws.ToString(r.Value.Text), Signature: aws.ToString(r.Value.Signature)})
			case *types.ReasoningContentBlockMemberRedactedContent:
				msg.Content = append(msg.Content, anthropic.ContentBlock{Type: anthropic.BlockRedactedThinking, Data: base64.StdEncoding.EncodeToString(r.Value)})
			}
		}
	}
	return msg
}
