package bedrock

import (
	"encoding/base64"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/anthropic"
)

// AnthropicStream encodes ConverseStream events as Anthropic Messages stream
// events (for models other than Claude, whose streams Bedrock sends in
// Anthropic's format already). It is a state machine with one method per
// Bedrock event; each returns the events to send, in order.
//
// Start sends message_start. Each Bedrock content block becomes one
// Anthropic block with its own contiguous index: content_block_start (on
// the block's start, or its first delta for text and reasoning, which
// Bedrock does not start), deltas, content_block_stop. Bedrock's messageStop
// comes before its usage, so message_delta (stop reason and usage) and
// message_stop are sent on Metadata, or by Finish if it never came.
type AnthropicStream struct {
	start  anthropic.Response
	blocks map[int32]*anthropicBlock
	next   int
	out    []anthropic.Event
	stop   string
	usage  anthropic.Usage
	ended  bool
}

// anthropicBlock is the state of one Bedrock block turned Anthropic block.
type anthropicBlock struct {
	index int
	typ   string
	open  bool
}

// NewAnthropicStream starts an encoder for a message with this id and model.
func NewAnthropicStream(id, model string) *AnthropicStream {
	return &AnthropicStream{
		start:  anthropic.Response{ID: id, Type: "message", Role: "assistant", Model: model, Content: []anthropic.ContentBlock{}},
		blocks: map[int32]*anthropicBlock{},
	}
}

// Usage is the usage Bedrock reported, zero before its metadata event.
func (s *AnthropicStream) Usage() anthropic.Usage { return s.usage }

func (s *AnthropicStream) emit(ev anthropic.Event) { s.out = append(s.out, ev) }

// Start returns message_start.
func (s *AnthropicStream) Start() []anthropic.Event {
	s.out = s.out[:0]
	s.emit(anthropic.MessageStartEvent{Type: anthropic.EventMessageStart, Message: s.start})
	return s.out
}

// Event dispatches one ConverseStream event to its method.
func (s *AnthropicStream) Event(ev types.ConverseStreamOutput) []anthropic.Event {
	s.out = s.out[:0]
	switch v := ev.(type) {
	case *types.ConverseStreamOutputMemberContentBlockStart:
		s.ContentBlockStart(v.Value)
	case *types.ConverseStreamOutputMemberContentBlockDelta:
		s.ContentBlockDelta(v.Value)
	case *types.ConverseStreamOutputMemberContentBlockStop:
		s.ContentBlockStop(v.Value)
	case *types.ConverseStreamOutputMemberMessageStop:
		s.MessageStop(v.Value)
	case *types.ConverseStreamOutputMemberMetadata:
		s.Metadata(v.Value)
	}
	return s.out
}

// open starts the Anthropic block for Bedrock block idx.
func (s *AnthropicStream) open(idx int32, empty anthropic.ContentBlock) *anthropicBlock {
	b := &anthropicBlock{index: s.next, typ: empty.Type, open: true}
	s.next++
	s.blocks[idx] = b
	s.emit(anthropic.ContentBlockStartEvent{Type: anthropic.EventContentBlockStart, Index: b.index, ContentBlock: empty})
	return b
}

// ContentBlockStart opens a tool-use block.
func (s *AnthropicStream) ContentBlockStart(ev types.ContentBlockStartEvent) {
	tu, ok := ev.Start.(*types.ContentBlockStartMemberToolUse)
	if !ok {
		return
	}
	s.closeOpen(aws.ToInt32(ev.ContentBlockIndex))
	s.open(aws.ToInt32(ev.ContentBlockIndex), anthropic.ContentBlock{Type: anthropic.BlockToolUse,
		ID: aws.ToString(tu.Value.ToolUseId), Name: aws.ToString(tu.Value.Name)})
}

// ContentBlockDelta sends a delta, opening its block first when Bedrock did not.
func (s *AnthropicStream) ContentBlockDelta(ev types.ContentBlockDeltaEvent) {
	idx := aws.ToInt32(ev.ContentBlockIndex)
	b := s.blocks[idx]
	var d anthropic.BlockDelta
	switch v := ev.Delta.(type) {
	case *types.ContentBlockDeltaMemberText:
		if b == nil {
			s.closeOpen(idx)
			b = s.open(idx, anthropic.ContentBlock{Type: anthropic.BlockText})
		}
		d = anthropic.BlockDelta{Type: anthropic.DeltaText, Text: v.Value}
	case *types.ContentBlockDeltaMemberToolUse:
		if b == nil {
			return // input without a started tool call: nothing to attach it to
		}
		d = anthropic.BlockDelta{Type: anthropic.DeltaInputJSON, PartialJSON: aws.ToString(v.Value.Input)}
	case *types.ContentBlockDeltaMemberReasoningContent:
		if r, ok := v.Value.(*types.ReasoningContentBlockDeltaMemberRedactedContent); ok {
			if b == nil {
				s.closeOpen(idx)
				s.open(idx, anthropic.ContentBlock{Type: anthropic.BlockRedactedThinking, Data: base64.StdEncoding.EncodeToString(r.Value)})
			}
			return
		}
		if b == nil {
			s.closeOpen(idx)
			b = s.open(idx, anthropic.ContentBlock{Type: anthropic.BlockThinking})
		}
		switch r := v.Value.(type) {
		case *types.ReasoningContentBlockDeltaMemberText:
			d = anthropic.BlockDelta{Type: anthropic.DeltaThinking, Thinking: r.Value}
		case *types.ReasoningContentBlockDeltaMemberSignature:
			d = anthropic.BlockDelta{Type: anthropic.DeltaSignature, Signature: r.Value}
		default:
			return
		}
	default:
		return
	}
	if !b.open {
		return // a delta after its block stopped: Anthropic has no place for it
	}
	s.emit(anthropic.ContentBlockDeltaEvent{Type: anthropic.EventContentBlockDelta, Index: b.index, Delta: d})
}

// ContentBlockStop closes a block.
func (s *AnthropicStream) ContentBlockStop(ev types.ContentBlockStopEvent) {
	if b := s.blocks[aws.ToInt32(ev.ContentBlockIndex)]; b != nil && b.open {
		b.open = false
		s.emit(anthropic.ContentBlockStopEvent{Type: anthropic.EventContentBlockStop, Index: b.index})
	}
}

// closeOpen closes the blocks still open before a new one starts (Anthropic
// streams one block at a time), except Bedrock block keep.
func (s *AnthropicStream) closeOpen(keep int32) {
	for idx, b := range s.blocks {
		if idx != keep && b.open {
			s.ContentBlockStop(types.ContentBlockStopEvent{ContentBlockIndex: aws.Int32(idx)})
		}
	}
}

// MessageStop records the stop reason; message_delta waits for the usage.
func (s *AnthropicStream) MessageStop(ev types.MessageStopEvent) {
	s.closeOpen(-1)
	s.stop = AnthropicStopReason(ev.StopReason)
}

// Metadata records the usage and ends the message.
func (s *AnthropicStream) Metadata(ev types.ConverseStreamMetadataEvent) {
	s.usage = AnthropicUsage(ev.Usage)
	s.end()
}

// Finish ends the message if Bedrock's stream ended without its metadata.
func (s *AnthropicStream) Finish() []anthropic.Event {
	s.out = s.out[:0]
	s.closeOpen(-1)
	s.end()
	return s.out
}

func (s *AnthropicStream) end() {
	if s.ended {
		return
	}
	s.ended = true
	stop := s.stop
	if stop == "" {
		stop = anthropic.StopEndTurn
	}
	u := s.usage
	s.emit(anthropic.MessageDeltaEvent{Type: anthropic.EventMessageDelta, Delta: anthropic.MessageDelta{StopReason: &stop},
		Usage: anthropic.DeltaUsage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
			CacheCreationInputTokens: u.CacheCreationInputTokens, CacheReadInputTokens: u.CacheReadInputTokens}})
	s.emit(anthropic.MessageStopEvent{Type: anthropic.EventMessageStop})
}
