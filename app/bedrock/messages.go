package bedrock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// conversation is the translated message history.
type conversation struct {
	system []types.SystemContentBlock
	turns  []types.Message
	// lastToolTurnWithoutReasoning is set when the last assistant turn calls
	// tools but carries no reasoning block.
	lastToolTurnWithoutReasoning bool
}

// startPlaceholder opens a history that begins with an assistant turn:
// Bedrock requires the first message to come from the user.
const startPlaceholder = "[conversation start]"

// messages converts OpenAI messages to Converse system blocks and turns and
// repairs what Bedrock would reject:
//   - system and developer messages anywhere become system blocks, in order;
//   - consecutive turns of one role are merged (parallel tool results land in
//     one user turn, text before a tool call stays with it);
//   - empty text blocks and empty turns are dropped;
//   - tool calls without results and results without calls are kept as text;
//   - with no tools in the request, tool history is kept as text, since
//     Bedrock requires a toolConfig for tool blocks;
//   - a history that starts with the assistant gets a placeholder user turn.
func (t *Translator) messages(ctx context.Context, msgs []openai.Message, m Model, q quirks, tools, thinking bool) (*conversation, error) {
	if len(msgs) == 0 {
		return nil, badRequest("messages", "messages must not be empty")
	}
	conv := &conversation{}
	var turns []types.Message
	add := func(role types.ConversationRole, blocks ...types.ContentBlock) {
		if len(blocks) == 0 {
			return
		}
		if n := len(turns); n > 0 && turns[n-1].Role == role {
			turns[n-1].Content = append(turns[n-1].Content, blocks...)
			return
		}
		turns = append(turns, types.Message{Role: role, Content: blocks})
	}
	for i, msg := range msgs {
		field := fmt.Sprintf("messages[%d]", i)
		switch msg.Role {
		case "system", "developer":
			blocks, err := systemBlocks(msg.Content, field, q)
			if err != nil {
				return nil, err
			}
			conv.system = append(conv.system, blocks...)
		case "user":
			blocks, err := t.userBlocks(ctx, msg.Content, field, m, q)
			if err != nil {
				return nil, err
			}
			add(types.ConversationRoleUser, blocks...)
		case "assistant":
			blocks, err := assistantBlocks(msg, field, q)
			if err != nil {
				return nil, err
			}
			add(types.ConversationRoleAssistant, blocks...)
		case "tool":
			if msg.ToolCallID == "" {
				return nil, badRequest(field+".tool_call_id", "%s.tool_call_id is required for role tool", field)
			}
			content, err := toolResultContent(msg.Content, field)
			if err != nil {
				return nil, err
			}
			add(types.ConversationRoleUser, &types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
				ToolUseId: aws.String(msg.ToolCallID), Content: content}})
		case "":
			return nil, badRequest(field+".role", "%s.role is required", field)
		default:
			return nil, badRequest(field+".role", "%s.role %q is not supported; use system, developer, user, assistant or tool", field, msg.Role)
		}
	}
	turns = pairTools(turns, tools)
	if len(turns) == 0 {
		return nil, badRequest("messages", "messages must contain at least one non-empty user or assistant message")
	}
	if turns[0].Role != types.ConversationRoleUser {
		turns = append([]types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: startPlaceholder}}}}, turns...)
	}
	for i := len(turns) - 1; i >= 0; i-- {
		if turns[i].Role != types.ConversationRoleAssistant {
			continue
		}
		c := turns[i].Content
		hasTool := false
		for _, b := range c {
			if _, ok := b.(*types.ContentBlockMemberToolUse); ok {
				hasTool = true
			}
		}
		if hasTool {
			_, reasoned := c[0].(*types.ContentBlockMemberReasoningContent)
			conv.lastToolTurnWithoutReasoning = !reasoned
		}
		break
	}
	if !thinking {
		// Reasoning blocks are only meaningful (and only accepted by
		// Claude) while thinking is on.
		for i := range turns {
			turns[i].Content = dropReasoning(turns[i].Content)
		}
	}
	conv.turns = turns
	return conv, nil
}

func dropReasoning(blocks []types.ContentBlock) []types.ContentBlock {
	out := blocks[:0]
	for _, b := range blocks {
		if _, ok := b.(*types.ContentBlockMemberReasoningContent); !ok {
			out = append(out, b)
		}
	}
	return out
}

// pairTools makes every toolUse answered by a toolResult in the next turn and
// every toolResult answer a toolUse of the previous turn; the rest becomes
// text. Without tools, all tool blocks become text. Tool results are moved
// to the front of their turn, as Bedrock expects.
func pairTools(turns []types.Message, tools bool) []types.Message {
	for i := range turns {
		if turns[i].Role != types.ConversationRoleAssistant {
			continue
		}
		calls := map[string]bool{}
		for _, b := range turns[i].Content {
			if tu, ok := b.(*types.ContentBlockMemberToolUse); ok && tools {
				calls[aws.ToString(tu.Value.ToolUseId)] = false
			}
		}
		if i+1 < len(turns) {
			for _, b := range turns[i+1].Content {
				if tr, ok := b.(*types.ContentBlockMemberToolResult); ok {
					if _, known := calls[aws.ToString(tr.Value.ToolUseId)]; known {
						calls[aws.ToString(tr.Value.ToolUseId)] = true
					}
				}
			}
		}
		turns[i].Content = toolsAsText(turns[i].Content, func(id string) bool { return calls[id] })
		if i+1 < len(turns) {
			turns[i+1].Content = toolsAsText(turns[i+1].Content, func(id string) bool { return calls[id] })
		}
	}
	// Results in turns not following an assistant turn (e.g. the first turn).
	for i := range turns {
		if turns[i].Role == types.ConversationRoleUser && (i == 0 || turns[i-1].Role != types.ConversationRoleAssistant) {
			turns[i].Content = toolsAsText(turns[i].Content, func(string) bool { return false })
		}
	}
	// Drop turns emptied by the repairs and merge what becomes adjacent.
	out := turns[:0]
	for _, t := range turns {
		if len(t.Content) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Role == t.Role {
			out[n-1].Content = append(out[n-1].Content, t.Content...)
			continue
		}
		out = append(out, t)
	}
	for i := range out {
		if out[i].Role == types.ConversationRoleUser {
			out[i].Content = resultsFirst(out[i].Content)
		}
	}
	return out
}

// toolsAsText keeps tool blocks whose id passes keep and rewrites the others
// as text, so the model still sees what happened.
func toolsAsText(blocks []types.ContentBlock, keep func(id string) bool) []types.ContentBlock {
	out := make([]types.ContentBlock, 0, len(blocks))
	for _, b := range blocks {
		switch v := b.(type) {
		case *types.ContentBlockMemberToolUse:
			if keep(aws.ToString(v.Value.ToolUseId)) {
				out = append(out, b)
				continue
			}
			args, _ := v.Value.Input.MarshalSmithyDocument()
			out = append(out, &types.ContentBlockMemberText{Value: fmt.Sprintf("[called tool %s (id %s) with %s]", aws.ToString(v.Value.Name), aws.ToString(v.Value.ToolUseId), args)})
		case *types.ContentBlockMemberToolResult:
			if keep(aws.ToString(v.Value.ToolUseId)) {
				out = append(out, b)
				continue
			}
			var sb strings.Builder
			fmt.Fprintf(&sb, "[result of tool call %s]\n", aws.ToString(v.Value.ToolUseId))
			for _, c := range v.Value.Content {
				if tx, ok := c.(*types.ToolResultContentBlockMemberText); ok {
					sb.WriteString(tx.Value)
				}
			}
			out = append(out, &types.ContentBlockMemberText{Value: sb.String()})
		default:
			out = append(out, b)
		}
	}
	return out
}

func resultsFirst(blocks []types.ContentBlock) []types.ContentBlock {
	out := make([]types.ContentBlock, 0, len(blocks))
	for _, b := range blocks {
		if _, ok := b.(*types.ContentBlockMemberToolResult); ok {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return blocks
	}
	for _, b := range blocks {
		if _, ok := b.(*types.ContentBlockMemberToolResult); !ok {
			out = append(out, b)
		}
	}
	return out
}

func systemBlocks(c openai.Content, field string, q quirks) ([]types.SystemContentBlock, error) {
	if !c.IsParts {
		if strings.TrimSpace(c.Text) == "" {
			return nil, nil
		}
		return []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: c.Text}}, nil
	}
	var out []types.SystemContentBlock
	for j, p := range c.Parts {
		if p.Type != "text" {
			return nil, badRequest(fmt.Sprintf("%s.content[%d].type", field, j), "%s.content[%d]: system messages take text parts only, got %q", field, j, p.Type)
		}
		if strings.TrimSpace(p.Text) != "" {
			out = append(out, &types.SystemContentBlockMemberText{Value: p.Text})
		}
		if p.CacheControl != nil && q.promptCache && len(out) > 0 {
			out = append(out, &types.SystemContentBlockMemberCachePoint{Value: cachePoint(p.CacheControl)})
		}
	}
	return out, nil
}

func (t *Translator) userBlocks(ctx context.Context, c openai.Content, field string, m Model, q quirks) ([]types.ContentBlock, error) {
	if !c.IsParts {
		if strings.TrimSpace(c.Text) == "" {
			return nil, nil
		}
		return []types.ContentBlock{&types.ContentBlockMemberText{Value: c.Text}}, nil
	}
	var out []types.ContentBlock
	docs := 0
	for j, p := range c.Parts {
		pf := fmt.Sprintf("%s.content[%d]", field, j)
		switch p.Type {
		case "text":
			if strings.TrimSpace(p.Text) != "" {
				out = append(out, &types.ContentBlockMemberText{Value: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, badRequest(pf+".image_url.url", "%s.image_url.url is required", pf)
			}
			if !m.AcceptsImages() {
				return nil, badRequest(pf, "model %s does not accept images", m.ID)
			}
			img, err := t.Media.Image(ctx, p.ImageURL.URL)
			if err != nil {
				return nil, badRequest(pf+".image_url.url", "%s.image_url: %v", pf, err)
			}
			out = append(out, &types.ContentBlockMemberImage{Value: img})
		case "file":
			if p.File == nil || p.File.FileData == "" {
				return nil, badRequest(pf+".file.file_data", "%s.file.file_data (a data: URL) is required; file_id is not supported", pf)
			}
			docs++
			doc, err := documentBlock(p.File, docs)
			if err != nil {
				return nil, badRequest(pf+".file", "%s.file: %v", pf, err)
			}
			out = append(out, &types.ContentBlockMemberDocument{Value: doc})
		case "input_audio":
			return nil, badRequest(pf+".type", "%s: input_audio is not supported by Bedrock Converse", pf)
		default:
			return nil, badRequest(pf+".type", "%s.type %q is not supported; use text, image_url or file", pf, p.Type)
		}
		if p.CacheControl != nil && q.promptCache && len(out) > 0 {
			out = append(out, &types.ContentBlockMemberCachePoint{Value: cachePoint(p.CacheControl)})
		}
	}
	return out, nil
}

func assistantBlocks(msg openai.Message, field string, q quirks) ([]types.ContentBlock, error) {
	var out []types.ContentBlock
	for j, tb := range msg.ThinkingBlocks {
		switch {
		case tb.Type == "redacted_thinking" && tb.Data != "":
			data, err := base64.StdEncoding.DecodeString(tb.Data)
			if err != nil {
				return nil, badRequest(fmt.Sprintf("%s.thinking_blocks[%d].data", field, j), "redacted thinking data must be base64")
			}
			out = append(out, &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberRedactedContent{Value: data}})
		case tb.Signature != "" && q.reasoningBack:
			out = append(out, &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{
				Value: types.ReasoningTextBlock{Text: aws.String(tb.Thinking), Signature: aws.String(tb.Signature)}}})
		}
	}
	if !msg.Content.IsParts {
		if strings.TrimSpace(msg.Content.Text) != "" {
			out = append(out, &types.ContentBlockMemberText{Value: msg.Content.Text})
		}
	} else {
		for j, p := range msg.Content.Parts {
			switch p.Type {
			case "text":
				if strings.TrimSpace(p.Text) != "" {
					out = append(out, &types.ContentBlockMemberText{Value: p.Text})
				}
			case "refusal":
				if strings.TrimSpace(p.Refusal) != "" {
					out = append(out, &types.ContentBlockMemberText{Value: p.Refusal})
				}
			default:
				return nil, badRequest(fmt.Sprintf("%s.content[%d].type", field, j), "%s.content[%d]: assistant messages take text or refusal parts, got %q", field, j, p.Type)
			}
		}
	}
	for j, tc := range msg.ToolCalls {
		pf := fmt.Sprintf("%s.tool_calls[%d]", field, j)
		if tc.ID == "" || tc.Function.Name == "" {
			return nil, badRequest(pf, "%s needs an id and function.name", pf)
		}
		var input any = map[string]any{}
		if args := strings.TrimSpace(tc.Function.Arguments); args != "" {
			if err := json.Unmarshal([]byte(args), &input); err != nil {
				return nil, badRequest(pf+".function.arguments", "%s.function.arguments is not valid JSON", pf)
			}
			if _, ok := input.(map[string]any); !ok {
				input = map[string]any{"value": input}
			}
		}
		out = append(out, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
			ToolUseId: aws.String(tc.ID), Name: aws.String(tc.Function.Name), Input: document.NewLazyDocument(input)}})
	}
	return out, nil
}

func toolResultContent(c openai.Content, field string) ([]types.ToolResultContentBlock, error) {
	text := c.Text
	if c.IsParts {
		var parts []string
		for j, p := range c.Parts {
			if p.Type != "text" {
				return nil, badRequest(fmt.Sprintf("%s.content[%d].type", field, j), "%s.content[%d]: tool messages take text parts only, got %q", field, j, p.Type)
			}
			parts = append(parts, p.Text)
		}
		text = strings.Join(parts, "\n")
	}
	if strings.TrimSpace(text) == "" {
		// Bedrock rejects empty text; an empty result is still a result.
		text = "(empty)"
	}
	return []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: text}}, nil
}
