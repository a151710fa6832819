package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// ResponseStream encodes ConverseStream events as Responses stream events.
// It is a state machine with one method per Bedrock event; each returns the
// events to send, in order, with increasing sequence numbers. Start opens
// the stream; Finish or Fail ends it with exactly one of response.completed,
// response.incomplete or response.failed.
//
// Each Bedrock content block becomes one output item: text a message with
// one output_text part, reasoning a reasoning item, a tool use a
// function_call (or custom_tool_call) item; the answer of a text.format
// tool becomes message text.
type ResponseStream struct {
	call   *ResponseCall
	resp   openai.Response
	ids    func(prefix string) string
	seq    int
	out    []openai.StreamEvent
	blocks map[int32]*outBlock
	stop   types.StopReason
	usage  *types.TokenUsage
	tier   string // the service tier Bedrock served, "" until it says
	nRsn   int    // reasoning characters, for the reasoning-token estimate
	ended  bool
}

// outBlock is the state of one Bedrock content block turned output item.
type outBlock struct {
	kind     string // message, reasoning, function_call, custom_tool_call, json
	index    int    // output index
	item     openai.ResponseItem
	text     strings.Builder // message text, reasoning text, arguments
	sig      string
	redacted []byte
}

// NewResponseStream starts an encoder. base is the response as the client
// configured it (id, model, created_at, echoed parameters); ids makes item
// ids from a prefix (msg, rs, fc, ctc).
func (c *ResponseCall) NewResponseStream(base openai.Response, ids func(prefix string) string) *ResponseStream {
	base.Object = "response"
	base.Output = []openai.ResponseItem{}
	return &ResponseStream{call: c, resp: base, ids: ids, blocks: map[int32]*outBlock{}}
}

func (s *ResponseStream) emit(ev openai.StreamEvent) { s.out = append(s.out, ev) }

func (s *ResponseStream) header(typ string) openai.EventHeader {
	h := openai.EventHeader{Type: typ, SequenceNumber: s.seq}
	s.seq++
	return h
}

// snapshot copies the response for a lifecycle event.
func (s *ResponseStream) snapshot(status string) *openai.Response {
	r := s.resp
	r.Status = status
	r.Output = append([]openai.ResponseItem{}, s.resp.Output...)
	return &r
}

// Start returns response.created and response.in_progress.
func (s *ResponseStream) Start() []openai.StreamEvent {
	s.out = s.out[:0]
	s.emit(openai.ResponseLifecycleEvent{EventHeader: s.header("response.created"), Response: s.snapshot("in_progress")})
	s.emit(openai.ResponseLifecycleEvent{EventHeader: s.header("response.in_progress"), Response: s.snapshot("in_progress")})
	return s.out
}

// Event dispatches one ConverseStream event to its method.
func (s *ResponseStream) Event(ev types.ConverseStreamOutput) []openai.StreamEvent {
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

// ContentBlockStart opens a tool-use block (Bedrock starts text and
// reasoning blocks with their first delta).
func (s *ResponseStream) ContentBlockStart(ev types.ContentBlockStartEvent) {
	tu, ok := ev.Start.(*types.ContentBlockStartMemberToolUse)
	if !ok {
		return
	}
	idx := aws.ToInt32(ev.ContentBlockIndex)
	name := aws.ToString(tu.Value.Name)
	if name == s.call.JSONTool && s.call.JSONTool != "" {
		s.open(idx, "json")
		return
	}
	ref := s.call.toolRef(name)
	kind := "function_call"
	if ref.Custom {
		kind = "custom_tool_call"
	}
	b := s.open(idx, kind)
	b.item.CallID, b.item.Name, b.item.Namespace = aws.ToString(tu.Value.ToolUseId), ref.Name, ref.Namespace
	s.itemAdded(b)
}

// open starts the output item of a block.
func (s *ResponseStream) open(idx int32, kind string) *outBlock {
	b := &outBlock{kind: kind, index: len(s.resp.Output)}
	switch kind {
	case "message", "json":
		b.item = openai.ResponseItem{Type: "message", ID: s.ids("msg"), Status: "in_progress", Role: "assistant", Content: openai.ItemContent{IsParts: true}}
	case "reasoning":
		b.item = openai.ResponseItem{Type: "reasoning", ID: s.ids("rs"), Status: "in_progress"}
	case "function_call":
		b.item = openai.ResponseItem{Type: "function_call", ID: s.ids("fc"), Status: "in_progress"}
	case "custom_tool_call":
		b.item = openai.ResponseItem{Type: "custom_tool_call", ID: s.ids("ctc")}
	}
	s.blocks[idx] = b
	s.resp.Output = append(s.resp.Output, b.item)
	if kind == "message" || kind == "json" {
		s.itemAdded(b)
		s.emit(openai.ContentPartEvent{EventHeader: s.header("response.content_part.added"), ItemID: b.item.ID, OutputIndex: b.index,
			Part: openai.ItemPart{Type: "output_text"}})
	}
	return b
}

func (s *ResponseStream) itemAdded(b *outBlock) {
	s.resp.Output[b.index] = b.item
	s.emit(openai.OutputItemEvent{EventHeader: s.header("response.output_item.added"), OutputIndex: b.index, Item: b.item})
}

// ContentBlockDelta forwards text, reasoning and tool-argument fragments.
func (s *ResponseStream) ContentBlockDelta(ev types.ContentBlockDeltaEvent) {
	idx := aws.ToInt32(ev.ContentBlockIndex)
	b := s.blocks[idx]
	switch d := ev.Delta.(type) {
	case *types.ContentBlockDeltaMemberText:
		if d.Value == "" {
			return
		}
		if b == nil {
			b = s.open(idx, "message")
		}
		if b.kind != "message" {
			return
		}
		s.textDelta(b, d.Value)
	case *types.ContentBlockDeltaMemberToolUse:
		frag := aws.ToString(d.Value.Input)
		if b == nil || frag == "" {
			return
		}
		b.text.WriteString(frag)
		switch {
		case b.kind == "function_call":
			s.emit(openai.FunctionCallArgumentsDeltaEvent{EventHeader: s.header("response.function_call_arguments.delta"), ItemID: b.item.ID, OutputIndex: b.index, Delta: frag})
		case b.kind == "json" && !s.call.JSONWrapped:
			s.emit(openai.TextDeltaEvent{EventHeader: s.header("response.output_text.delta"), ItemID: b.item.ID, OutputIndex: b.index, Delta: frag, Logprobs: []struct{}{}})
		}
		// Custom tool input and wrapped JSON are sent whole at the block's end.
	case *types.ContentBlockDeltaMemberReasoningContent:
		if b == nil {
			b = s.open(idx, "reasoning")
			s.itemAdded(b)
			if s.call.Summary {
				s.emit(openai.ReasoningSummaryPartEvent{EventHeader: s.header("response.reasoning_summary_part.added"), ItemID: b.item.ID, OutputIndex: b.index,
					Part: openai.ItemPart{Type: "summary_text"}})
			} else {
				s.emit(openai.ContentPartEvent{EventHeader: s.header("response.content_part.added"), ItemID: b.item.ID, OutputIndex: b.index,
					Part: openai.ItemPart{Type: "reasoning_text"}})
			}
		}
		if b.kind != "reasoning" {
			return
		}
		switch r := d.Value.(type) {
		case *types.ReasoningContentBlockDeltaMemberText:
			if r.Value == "" {
				return
			}
			b.text.WriteString(r.Value)
			s.nRsn += len(r.Value)
			if s.call.Summary {
				s.emit(openai.ReasoningSummaryTextDeltaEvent{EventHeader: s.header("response.reasoning_summary_text.delta"), ItemID: b.item.ID, OutputIndex: b.index, Delta: r.Value})
			} else {
				s.emit(openai.ReasoningTextDeltaEvent{EventHeader: s.header("response.reasoning_text.delta"), ItemID: b.item.ID, OutputIndex: b.index, Delta: r.Value})
			}
		case *types.ReasoningContentBlockDeltaMemberSignature:
			b.sig += r.Value
		case *types.ReasoningContentBlockDeltaMemberRedactedContent:
			b.redacted = append(b.redacted, r.Value...)
		}
	}
}

func (s *ResponseStream) textDelta(b *outBlock, text string) {
	b.text.WriteString(text)
	s.emit(openai.TextDeltaEvent{EventHeader: s.header("response.output_text.delta"), ItemID: b.item.ID, OutputIndex: b.index, Delta: text, Logprobs: []struct{}{}})
}

// ContentBlockStop closes the block's output item.
func (s *ResponseStream) ContentBlockStop(ev types.ContentBlockStopEvent) {
	idx := aws.ToInt32(ev.ContentBlockIndex)
	if b := s.blocks[idx]; b != nil {
		s.close(b, "completed")
		delete(s.blocks, idx)
	}
}

// close emits the done events of a block and records its final item.
func (s *ResponseStream) close(b *outBlock, status string) {
	it := &b.item
	switch b.kind {
	case "message", "json":
		text := b.text.String()
		if b.kind == "json" {
			text = s.call.unwrapJSON(text)
			if s.call.JSONWrapped && text != "" {
				s.emit(openai.TextDeltaEvent{EventHeader: s.header("response.output_text.delta"), ItemID: it.ID, OutputIndex: b.index, Delta: text, Logprobs: []struct{}{}})
			}
		}
		part := openai.ItemPart{Type: "output_text", Text: text}
		s.emit(openai.TextDoneEvent{EventHeader: s.header("response.output_text.done"), ItemID: it.ID, OutputIndex: b.index, Text: text, Logprobs: []struct{}{}})
		s.emit(openai.ContentPartEvent{EventHeader: s.header("response.content_part.done"), ItemID: it.ID, OutputIndex: b.index, Part: part})
		it.Content = openai.ItemContent{IsParts: true, Parts: []openai.ItemPart{part}}
	case "reasoning":
		text := b.text.String()
		if s.call.Summary {
			part := openai.ItemPart{Type: "summary_text", Text: text}
			s.emit(openai.ReasoningSummaryTextDoneEvent{EventHeader: s.header("response.reasoning_summary_text.done"), ItemID: it.ID, OutputIndex: b.index, Text: text})
			s.emit(openai.ReasoningSummaryPartEvent{EventHeader: s.header("response.reasoning_summary_part.done"), ItemID: it.ID, OutputIndex: b.index, Part: part})
			it.Summary = []openai.ItemPart{part}
		} else {
			part := openai.ItemPart{Type: "reasoning_text", Text: text}
			s.emit(openai.ReasoningTextDoneEvent{EventHeader: s.header("response.reasoning_text.done"), ItemID: it.ID, OutputIndex: b.index, Text: text})
			s.emit(openai.ContentPartEvent{EventHeader: s.header("response.content_part.done"), ItemID: it.ID, OutputIndex: b.index, Part: part})
			it.Content = openai.ItemContent{IsParts: true, Parts: []openai.ItemPart{part}}
		}
		if s.call.Encrypted && s.call.Sealer != nil {
			var blocks []openai.ThinkingBlock
			switch {
			case len(b.redacted) > 0:
				blocks = []openai.ThinkingBlock{{Type: "redacted_thinking", Data: base64.StdEncoding.EncodeToString(b.redacted)}}
			case b.sig != "":
				blocks = []openai.ThinkingBlock{{Type: "thinking", Thinking: text, Signature: b.sig}}
			}
			if blocks != nil {
				sealed := s.call.Sealer.Seal(blocks)
				it.EncryptedContent = &sealed
			}
		}
	case "function_call":
		args := b.text.String()
		if args == "" {
			args = "{}"
		}
		it.Arguments = args
		s.emit(openai.FunctionCallArgumentsDoneEvent{EventHeader: s.header("response.function_call_arguments.done"), ItemID: it.ID, OutputIndex: b.index, Name: it.Name, Arguments: args})
	case "custom_tool_call":
		var in struct {
			Input string `json:"input"`
		}
		if json.Unmarshal([]byte(b.text.String()), &in) != nil {
			in.Input = b.text.String()
		}
		it.Input = in.Input
		if in.Input != "" {
			s.emit(openai.CustomToolCallInputDeltaEvent{EventHeader: s.header("response.custom_tool_call_input.delta"), ItemID: it.ID, OutputIndex: b.index, Delta: in.Input})
		}
		s.emit(openai.CustomToolCallInputDoneEvent{EventHeader: s.header("response.custom_tool_call_input.done"), ItemID: it.ID, OutputIndex: b.index, Input: in.Input})
	}
	if b.kind != "custom_tool_call" {
		it.Status = status
	}
	s.resp.Output[b.index] = *it
	s.emit(openai.OutputItemEvent{EventHeader: s.header("response.output_item.done"), OutputIndex: b.index, Item: *it})
}

// MessageStop records the stop reason.
func (s *ResponseStream) MessageStop(ev types.MessageStopEvent) { s.stop = ev.StopReason }

// Metadata records the usage and the service tier.
func (s *ResponseStream) Metadata(ev types.ConverseStreamMetadataEvent) {
	s.usage, s.tier = ev.Usage, ServedTier(ev.ServiceTier)
}

// Finish closes what is still open and returns the events ending the
// stream: response.completed, or response.incomplete when the model hit
// max_output_tokens or a content filter.
func (s *ResponseStream) Finish() []openai.StreamEvent {
	s.out = s.out[:0]
	if s.ended {
		return s.out
	}
	s.ended = true
	status, details := "completed", (*openai.IncompleteDetails)(nil)
	switch s.stop {
	case types.StopReasonMaxTokens, types.StopReasonModelContextWindowExceeded:
		status, details = "incomplete", &openai.IncompleteDetails{Reason: "max_output_tokens"}
	case types.StopReasonGuardrailIntervened, types.StopReasonContentFiltered:
		status, details = "incomplete", &openai.IncompleteDetails{Reason: "content_filter"}
	}
	s.closeOpen(status)
	r := s.snapshot(status)
	r.IncompleteDetails = details
	s.settle(r)
	r.OutputText = joinOutputText(r.Output)
	if status == "completed" {
		now := s.now().Unix()
		r.CompletedAt = &now
	}
	s.resp = *r
	s.emit(openai.ResponseLifecycleEvent{EventHeader: s.header("response." + status), Response: r})
	return s.out
}

func (s *ResponseStream) now() time.Time {
	if s.call.Now != nil {
		return s.call.Now()
	}
	return time.Now()
}

// Fail ends the stream after an error: an error event and response.failed.
// code is one of OpenAI's response error codes (server_error,
// rate_limit_exceeded, ...).
func (s *ResponseStream) Fail(code, message string) []openai.StreamEvent {
	s.out = s.out[:0]
	if s.ended {
		return s.out
	}
	s.ended = true
	s.closeOpen("incomplete")
	c := code
	s.emit(openai.ErrorEvent{EventHeader: s.header("error"), Code: &c, Message: message})
	r := s.snapshot("failed")
	r.Error = &openai.ResponseError{Code: code, Message: message}
	s.settle(r)
	s.resp = *r
	s.emit(openai.ResponseLifecycleEvent{EventHeader: s.header("response.failed"), Response: r})
	return s.out
}

// settle sets what is known once Bedrock is done: the usage and the tier
// that served the response (OpenAI answers "auto" with the tier it used).
func (s *ResponseStream) settle(r *openai.Response) {
	r.Usage = ResponseUsage(s.usage, s.nRsn)
	switch {
	case s.tier != "":
		r.ServiceTier = s.tier
	case r.ServiceTier == "auto":
		r.ServiceTier = "default"
	}
}

// closeOpen closes the blocks Bedrock left open, in output order.
func (s *ResponseStream) closeOpen(status string) {
	for i := range s.resp.Output {
		for idx, b := range s.blocks {
			if b.index == i {
				s.close(b, status)
				delete(s.blocks, idx)
			}
		}
	}
}

// Response is the response as it stands: the final one after Finish or Fail.
func (s *ResponseStream) Response() *openai.Response { return &s.resp }

// Usage is the usage Bedrock reported, nil before the metadata event.
func (s *ResponseStream) Usage() *types.TokenUsage { return s.usage }

// Tier is the service tier Bedrock reported serving the stream on, "" when
// it reported none.
func (s *ResponseStream) Tier() string { return s.tier }

// toolRef maps a Bedrock tool name back to the client's tool.
func (c *ResponseCall) toolRef(name string) ToolRef {
	if ref, ok := c.Tools[name]; ok {
		return ref
	}
	return ToolRef{Name: name}
}

// ResponseUsage maps Bedrock token usage to the Responses usage; input
// tokens include the cache reads and writes, as OpenAI counts them.
// Bedrock reports no reasoning count: reasoning_tokens is estimated from
// the reasoningChars of reasoning text, as the chat usage is.
func ResponseUsage(u *types.TokenUsage, reasoningChars int) *openai.ResponseUsage {
	if u == nil {
		return &openai.ResponseUsage{}
	}
	in, out := int(aws.ToInt32(u.InputTokens)), int(aws.ToInt32(u.OutputTokens))
	read, write := int(aws.ToInt32(u.CacheReadInputTokens)), int(aws.ToInt32(u.CacheWriteInputTokens))
	return &openai.ResponseUsage{
		InputTokens:         in + read + write,
		InputTokensDetails:  openai.InputTokensDetails{CachedTokens: read, CacheWriteTokens: write},
		OutputTokens:        out,
		OutputTokensDetails: openai.OutputTokensDetails{ReasoningTokens: reasoningTokens(reasoningChars, out)},
		TotalTokens:         in + read + write + out,
	}
}

func joinOutputText(items []openai.ResponseItem) string {
	var sb strings.Builder
	for _, it := range items {
		if it.Type != "message" {
			continue
		}
		for _, p := range it.Content.Parts {
			if p.Type == "output_text" {
				sb.WriteString(p.Text)
			}
		}
	}
	return sb.String()
}

// Complete encodes a whole Converse answer as a response, by replaying it
// through the stream encoder: a streamed and a non-streamed answer to the
// same request come out the same.
func (c *ResponseCall) Complete(out *bedrockruntime.ConverseOutput, base openai.Response, ids func(prefix string) string) *openai.Response {
	s := c.NewResponseStream(base, ids)
	if m, ok := out.Output.(*types.ConverseOutputMemberMessage); ok {
		for i, blk := range m.Value.Content {
			idx := aws.Int32(int32(i))
			switch v := blk.(type) {
			case *types.ContentBlockMemberText:
				s.ContentBlockDelta(types.ContentBlockDeltaEvent{ContentBlockIndex: idx, Delta: &types.ContentBlockDeltaMemberText{Value: v.Value}})
			case *types.ContentBlockMemberReasoningContent:
				switch r := v.Value.(type) {
				case *types.ReasoningContentBlockMemberReasoningText:
					s.ContentBlockDelta(types.ContentBlockDeltaEvent{ContentBlockIndex: idx, Delta: &types.ContentBlockDeltaMemberReasoningContent{
						Value: &types.ReasoningContentBlockDeltaMemberText{Value: aws.ToString(r.Value.Text)}}})
					if sig := aws.ToString(r.Value.Signature); sig != "" {
						s.ContentBlockDelta(types.ContentBlockDeltaEvent{ContentBlockIndex: idx, Delta: &types.ContentBlockDeltaMemberReasoningContent{
							Value: &types.ReasoningContentBlockDeltaMemberSignature{Value: sig}}})
					}
				case *types.ReasoningContentBlockMemberRedactedContent:
					s.ContentBlockDelta(types.ContentBlockDeltaEvent{ContentBlockIndex: idx, Delta: &types.ContentBlockDeltaMemberReasoningContent{
						Value: &types.ReasoningContentBlockDeltaMemberRedactedContent{Value: r.Value}}})
				}
			case *types.ContentBlockMemberToolUse:
				s.ContentBlockStart(types.ContentBlockStartEvent{ContentBlockIndex: idx, Start: &types.ContentBlockStartMemberToolUse{
					Value: types.ToolUseBlockStart{ToolUseId: v.Value.ToolUseId, Name: v.Value.Name}}})
				args := toolInputJSON(v.Value.Input)
				s.ContentBlockDelta(types.ContentBlockDeltaEvent{ContentBlockIndex: idx, Delta: &types.ContentBlockDeltaMemberToolUse{
					Value: types.ToolUseBlockDelta{Input: &args}}})
			}
			s.ContentBlockStop(types.ContentBlockStopEvent{ContentBlockIndex: idx})
		}
	}
	s.MessageStop(types.MessageStopEvent{StopReason: out.StopReason})
	s.usage, s.tier = out.Usage, ServedTier(out.ServiceTier)
	s.Finish()
	return s.Response()
}
