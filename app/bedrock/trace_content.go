package bedrock

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"go.opentelemetry.io/otel/attribute"
)

// The GenAI attributes that carry prompts and completions, set only when
// ServiceOptions.TraceContent allows it (LOG_BODIES), in the JSON shape of
// the GenAI semantic conventions, each cut at TraceContent bytes.
const (
	attrInputMessages      = attribute.Key("gen_ai.input.messages")
	attrOutputMessages     = attribute.Key("gen_ai.output.messages")
	attrSystemInstructions = attribute.Key("gen_ai.system_instructions")
)

// contentPart is one part of a message: text, reasoning, a tool call or
// its answer; images and documents are named by type only.
type contentPart struct {
	Type      string          `json:"type"`
	Content   string          `json:"content,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

type contentMessage struct {
	Role         string        `json:"role"`
	Parts        []contentPart `json:"parts"`
	FinishReason string        `json:"finish_reason,omitempty"`
}

func contentParts(blocks []types.ContentBlock) []contentPart {
	parts := make([]contentPart, 0, len(blocks))
	for _, b := range blocks {
		switch v := b.(type) {
		case *types.ContentBlockMemberText:
			parts = append(parts, contentPart{Type: "text", Content: v.Value})
		case *types.ContentBlockMemberReasoningContent:
			if r, ok := v.Value.(*types.ReasoningContentBlockMemberReasoningText); ok {
				parts = append(parts, contentPart{Type: "reasoning", Content: aws.ToString(r.Value.Text)})
			}
		case *types.ContentBlockMemberToolUse:
			args, _ := v.Value.Input.MarshalSmithyDocument()
			parts = append(parts, contentPart{Type: "tool_call", ID: aws.ToString(v.Value.ToolUseId), Name: aws.ToString(v.Value.Name), Arguments: args})
		case *types.ContentBlockMemberToolResult:
			var text []string
			for _, c := range v.Value.Content {
				if t, ok := c.(*types.ToolResultContentBlockMemberText); ok {
					text = append(text, t.Value)
				}
			}
			parts = append(parts, contentPart{Type: "tool_call_response", ID: aws.ToString(v.Value.ToolUseId), Content: strings.Join(text, "\n")})
		case *types.ContentBlockMemberImage:
			parts = append(parts, contentPart{Type: "image"})
		case *types.ContentBlockMemberDocument:
			parts = append(parts, contentPart{Type: "document"})
		}
	}
	return parts
}

// setContent sets key to v as JSON, cut at the service's limit.
func (c *callSpan) setContent(key attribute.Key, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	if len(b) > c.content {
		b = b[:c.content]
	}
	c.span.SetAttributes(key.String(string(b)))
}

// input records a Converse call's system prompt and messages, when allowed.
func (c *callSpan) input(system []types.SystemContentBlock, msgs []types.Message) {
	if c == nil || c.content <= 0 {
		return
	}
	var sys []contentPart
	for _, s := range system {
		if t, ok := s.(*types.SystemContentBlockMemberText); ok {
			sys = append(sys, contentPart{Type: "text", Content: t.Value})
		}
	}
	if len(sys) > 0 {
		c.setContent(attrSystemInstructions, sys)
	}
	in := make([]contentMessage, 0, len(msgs))
	for _, m := range msgs {
		in = append(in, contentMessage{Role: string(m.Role), Parts: contentParts(m.Content)})
	}
	c.setContent(attrInputMessages, in)
}

// output records a Converse answer, when allowed.
func (c *callSpan) output(out types.ConverseOutput, stop types.StopReason) {
	if c == nil || c.content <= 0 {
		return
	}
	if m, ok := out.(*types.ConverseOutputMemberMessage); ok {
		c.setContent(attrOutputMessages, []contentMessage{{Role: string(m.Value.Role), Parts: contentParts(m.Value.Content), FinishReason: string(stop)}})
	}
}

// streamText keeps a stream's text, up to the limit, when allowed.
func (c *callSpan) streamText(ev types.ConverseStreamOutput) {
	if c.content <= 0 {
		return
	}
	if d, ok := ev.(*types.ConverseStreamOutputMemberContentBlockDelta); ok {
		if t, ok := d.Value.Delta.(*types.ContentBlockDeltaMemberText); ok && c.text.Len() < c.content {
			c.text.WriteString(t.Value[:min(len(t.Value), c.content-c.text.Len())])
		}
	}
	if stop, ok := ev.(*types.ConverseStreamOutputMemberMessageStop); ok {
		c.setContent(attrOutputMessages, []contentMessage{{Role: "assistant",
			Parts: []contentPart{{Type: "text", Content: c.text.String()}}, FinishReason: string(stop.Value.StopReason)}})
	}
}
