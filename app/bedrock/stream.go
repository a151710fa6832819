package bedrock

import (
	"encoding/base64"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// Stream converts ConverseStream events into chat completion chunks as they
// arrive. Tool calls get 0-based indexes in the order the model starts them,
// whatever the Bedrock block index; the answer to a response_format tool is
// streamed as content.
type Stream struct {
	call    *Call
	chunk   openai.ChatCompletionChunk
	tools   map[int32]int // Bedrock block index -> OpenAI tool index
	jsonBlk int32
	nTools  int
	reason  strings.Builder
	nReason int // reasoning characters streamed, for the usage estimate
	jsonBuf strings.Builder
	finish  string
	usage   *openai.Usage
	tier    string
	// trace and guardrailStop: a guardrail's intervention, for the log.
	trace         *types.ConverseStreamTrace
	guardrailStop bool
	jsonDone      bool
}

// NewStream starts a conversion; id, model and created are repeated on every chunk.
func (c *Call) NewStream(id, model string, created int64) *Stream {
	return &Stream{
		call:    c,
		chunk:   openai.ChatCompletionChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model},
		tools:   map[int32]int{},
		jsonBlk: -1,
	}
}

// Usage is the usage Bedrock reported in the metadata event, nil before it.
func (s *Stream) Usage() *openai.Usage { return s.usage }

// Tier is the service tier Bedrock reported in the metadata event, "" before it.
func (s *Stream) Tier() string { return s.tier }

// FinishReason is the mapped stop reason, "" before messageStop.
func (s *Stream) FinishReason() string { return s.finish }

// Event converts one event. It returns nil when the event yields no chunk;
// the returned chunk is reused by the next call, so encode it before then.
func (s *Stream) Event(ev types.ConverseStreamOutput) *openai.ChatCompletionChunk {
	var d openai.Delta
	var finish *string
	switch v := ev.(type) {
	case *types.ConverseStreamOutputMemberMessageStart:
		empty := ""
		d = openai.Delta{Role: "assistant", Content: &empty}
	case *types.ConverseStreamOutputMemberContentBlockStart:
		tu, ok := v.Value.Start.(*types.ContentBlockStartMemberToolUse)
		if !ok {
			return nil
		}
		idx := aws.ToInt32(v.Value.ContentBlockIndex)
		if name := aws.ToString(tu.Value.Name); name == s.call.JSONTool && s.call.JSONTool != "" {
			s.jsonBlk = idx
			return nil
		}
		s.tools[idx] = s.nTools
		s.nTools++
		d.ToolCalls = []openai.ToolCallDelta{{Index: s.tools[idx], ID: aws.ToString(tu.Value.ToolUseId), Type: "function",
			Function: &openai.FunctionCallDelta{Name: aws.ToString(tu.Value.Name)}}}
	case *types.ConverseStreamOutputMemberContentBlockDelta:
		idx := aws.ToInt32(v.Value.ContentBlockIndex)
		switch dv := v.Value.Delta.(type) {
		case *types.ContentBlockDeltaMemberText:
			if dv.Value == "" {
				return nil
			}
			d.Content = &dv.Value
		case *types.ContentBlockDeltaMemberToolUse:
			frag := aws.ToString(dv.Value.Input)
			if idx == s.jsonBlk {
				if s.call.JSONWrapped {
					// The wrapper must be removed from the whole value: buffer it.
					s.jsonBuf.WriteString(frag)
					return nil
				}
				if frag == "" {
					return nil
				}
				d.Content = &frag
				break
			}
			ti, ok := s.tools[idx]
			if !ok {
				return nil
			}
			d.ToolCalls = []openai.ToolCallDelta{{Index: ti, Function: &openai.FunctionCallDelta{Arguments: frag}}}
		case *types.ContentBlockDeltaMemberReasoningContent:
			switch r := dv.Value.(type) {
			case *types.ReasoningContentBlockDeltaMemberText:
				s.reason.WriteString(r.Value)
				s.nReason += len(r.Value)
				d.ReasoningContent = &r.Value
			case *types.ReasoningContentBlockDeltaMemberSignature:
				d.ThinkingBlocks = []openai.ThinkingBlock{{Type: "thinking", Thinking: s.reason.String(), Signature: r.Value}}
				s.reason.Reset()
			case *types.ReasoningContentBlockDeltaMemberRedactedContent:
				d.ThinkingBlocks = []openai.ThinkingBlock{{Type: "redacted_thinking", Data: base64.StdEncoding.EncodeToString(r.Value)}}
			default:
				return nil
			}
		default:
			return nil
		}
	case *types.ConverseStreamOutputMemberContentBlockStop:
		if aws.ToInt32(v.Value.ContentBlockIndex) != s.jsonBlk || !s.call.JSONWrapped || s.jsonDone {
			return nil
		}
		s.jsonDone = true
		out := s.call.unwrapJSON(s.jsonBuf.String())
		d.Content = &out
	case *types.ConverseStreamOutputMemberMessageStop:
		s.finish = FinishReason(v.Value.StopReason)
		s.guardrailStop = v.Value.StopReason == types.StopReasonGuardrailIntervened
		if s.jsonBlk >= 0 && s.nTools == 0 && s.finish == "tool_calls" {
			s.finish = "stop"
		}
		finish = &s.finish
	case *types.ConverseStreamOutputMemberMetadata:
		s.usage, s.tier, s.trace = Usage(v.Value.Usage), ServedTier(v.Value.ServiceTier), v.Value.Trace
		AddReasoningTokens(s.usage, s.nReason)
		return nil
	default:
		return nil
	}
	s.chunk.Usage = nil
	if len(s.chunk.Choices) != 1 {
		s.chunk.Choices = make([]openai.ChunkChoice, 1)
	}
	s.chunk.Choices[0] = openai.ChunkChoice{Delta: d, FinishReason: finish}
	return &s.chunk
}

// UsageChunk is the final chunk sent with stream_options.include_usage:
// empty choices and the usage.
func (s *Stream) UsageChunk() *openai.ChatCompletionChunk {
	s.chunk.Choices = []openai.ChunkChoice{}
	s.chunk.Usage, s.chunk.ServiceTier = s.usage, s.tier
	if s.chunk.Usage == nil {
		s.chunk.Usage = &openai.Usage{}
	}
	return &s.chunk
}
