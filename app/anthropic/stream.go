package anthropic

import "encoding/json"

// Server-sent events of a streamed POST /v1/messages, in the order they come:
// message_start, then per content block content_block_start, deltas and
// content_block_stop, then message_delta and message_stop. ping may come at
// any time; error ends a stream that had started.

// Event is a stream event; EventName is its SSE "event:" name.
type Event interface{ EventName() string }

// EventName implements Event.
func (e MessageStartEvent) EventName() string { return EventMessageStart }

// EventName implements Event.
func (e ContentBlockStartEvent) EventName() string { return EventContentBlockStart }

// EventName implements Event.
func (e ContentBlockDeltaEvent) EventName() string { return EventContentBlockDelta }

// EventName implements Event.
func (e ContentBlockStopEvent) EventName() string { return EventContentBlockStop }

// EventName implements Event.
func (e MessageDeltaEvent) EventName() string { return EventMessageDelta }

// EventName implements Event.
func (e MessageStopEvent) EventName() string { return EventMessageStop }

// EventName implements Event.
func (e PingEvent) EventName() string { return EventPing }

// EventName implements Event: an error ends a stream that had started.
func (e ErrorResponse) EventName() string { return EventError }

// Event types, also the SSE "event:" names.
const (
	EventMessageStart      = "message_start"
	EventContentBlockStart = "content_block_start"
	EventContentBlockDelta = "content_block_delta"
	EventContentBlockStop  = "content_block_stop"
	EventMessageDelta      = "message_delta"
	EventMessageStop       = "message_stop"
	EventPing              = "ping"
	EventError             = "error"
)

// Delta types of content_block_delta.
const (
	DeltaText      = "text_delta"
	DeltaInputJSON = "input_json_delta"
	DeltaThinking  = "thinking_delta"
	DeltaSignature = "signature_delta"
	DeltaCitations = "citations_delta"
)

// MessageStartEvent opens a stream with the message, its content empty.
type MessageStartEvent struct {
	Type    string   `json:"type"`
	Message Response `json:"message"`
}

// ContentBlockStartEvent opens block Index with its empty form.
type ContentBlockStartEvent struct {
	Type         string       `json:"type"`
	Index        int          `json:"index"`
	ContentBlock ContentBlock `json:"content_block"`
}

// ContentBlockDeltaEvent adds to block Index.
type ContentBlockDeltaEvent struct {
	Type  string     `json:"type"`
	Index int        `json:"index"`
	Delta BlockDelta `json:"delta"`
}

// BlockDelta is the delta of a content_block_delta; only the member of its
// Type is sent.
type BlockDelta struct {
	Type        string `json:"type"`
	Text        string `json:"text,omitempty"`
	PartialJSON string `json:"partial_json,omitempty"`
	Thinking    string `json:"thinking,omitempty"`
	Signature   string `json:"signature,omitempty"`
}

// MarshalJSON always writes the member of the delta's type, even empty.
func (d BlockDelta) MarshalJSON() ([]byte, error) {
	type one struct {
		Type        string  `json:"type"`
		Text        *string `json:"text,omitempty"`
		PartialJSON *string `json:"partial_json,omitempty"`
		Thinking    *string `json:"thinking,omitempty"`
		Signature   *string `json:"signature,omitempty"`
	}
	o := one{Type: d.Type}
	switch d.Type {
	case DeltaText:
		o.Text = &d.Text
	case DeltaInputJSON:
		o.PartialJSON = &d.PartialJSON
	case DeltaThinking:
		o.Thinking = &d.Thinking
	case DeltaSignature:
		o.Signature = &d.Signature
	}
	return json.Marshal(o)
}

// ContentBlockStopEvent closes block Index.
type ContentBlockStopEvent struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

// MessageDeltaEvent carries the stop reason and the final usage.
type MessageDeltaEvent struct {
	Type  string       `json:"type"`
	Delta MessageDelta `json:"delta"`
	Usage DeltaUsage   `json:"usage"`
}

// MessageDelta is the top-level change of a message_delta event.
type MessageDelta struct {
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
}

// DeltaUsage is the cumulative usage of a message_delta event.
type DeltaUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// MessageStopEvent ends a stream.
type MessageStopEvent struct {
	Type string `json:"type"`
}

// PingEvent keeps a waiting connection alive.
type PingEvent struct {
	Type string `json:"type"`
}
