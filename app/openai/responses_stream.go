package openai

// Response stream events: the server-sent events of POST /v1/responses with
// "stream": true. Each is sent as `event: <type>` and `data: <json>`; every
// event carries its type and an increasing sequence number.

// EventHeader is the part every response stream event shares.
type EventHeader struct {
	Type           string `json:"type"`
	SequenceNumber int    `json:"sequence_number"`
}

// EventType returns the event's type (the SSE event name).
func (h EventHeader) EventType() string { return h.Type }

// ResponseLifecycleEvent is response.created, response.in_progress,
// response.completed, response.incomplete or response.failed.
type ResponseLifecycleEvent struct {
	EventHeader
	Response *Response `json:"response"`
}

// OutputItemEvent is response.output_item.added or .done.
type OutputItemEvent struct {
	EventHeader
	OutputIndex int          `json:"output_index"`
	Item        ResponseItem `json:"item"`
}

// ContentPartEvent is response.content_part.added or .done.
type ContentPartEvent struct {
	EventHeader
	ItemID       string   `json:"item_id"`
	OutputIndex  int      `json:"output_index"`
	ContentIndex int      `json:"content_index"`
	Part         ItemPart `json:"part"`
}

// TextDeltaEvent is response.output_text.delta.
type TextDeltaEvent struct {
	EventHeader
	ItemID       string     `json:"item_id"`
	OutputIndex  int        `json:"output_index"`
	ContentIndex int        `json:"content_index"`
	Delta        string     `json:"delta"`
	Logprobs     []struct{} `json:"logprobs"`
}

// TextDoneEvent is response.output_text.done.
type TextDoneEvent struct {
	EventHeader
	ItemID       string     `json:"item_id"`
	OutputIndex  int        `json:"output_index"`
	ContentIndex int        `json:"content_index"`
	Text         string     `json:"text"`
	Logprobs     []struct{} `json:"logprobs"`
}

// FunctionCallArgumentsDeltaEvent is response.function_call_arguments.delta.
type FunctionCallArgumentsDeltaEvent struct {
	EventHeader
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Delta       string `json:"delta"`
}

// FunctionCallArgumentsDoneEvent is response.function_call_arguments.done.
type FunctionCallArgumentsDoneEvent struct {
	EventHeader
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Name        string `json:"name"`
	Arguments   string `json:"arguments"`
}

// CustomToolCallInputDeltaEvent is response.custom_tool_call_input.delta.
type CustomToolCallInputDeltaEvent struct {
	EventHeader
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Delta       string `json:"delta"`
}

// CustomToolCallInputDoneEvent is response.custom_tool_call_input.done.
type CustomToolCallInputDoneEvent struct {
	EventHeader
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	Input       string `json:"input"`
}

// ReasoningTextDeltaEvent is response.reasoning_text.delta.
type ReasoningTextDeltaEvent struct {
	EventHeader
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

// ReasoningTextDoneEvent is response.reasoning_text.done.
type ReasoningTextDoneEvent struct {
	EventHeader
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Text         string `json:"text"`
}

// ReasoningSummaryPartEvent is response.reasoning_summary_part.added or .done.
type ReasoningSummaryPartEvent struct {
	EventHeader
	ItemID       string   `json:"item_id"`
	OutputIndex  int      `json:"output_index"`
	SummaryIndex int      `json:"summary_index"`
	Part         ItemPart `json:"part"`
}

// ReasoningSummaryTextDeltaEvent is response.reasoning_summary_text.delta.
type ReasoningSummaryTextDeltaEvent struct {
	EventHeader
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	SummaryIndex int    `json:"summary_index"`
	Delta        string `json:"delta"`
}

// ReasoningSummaryTextDoneEvent is response.reasoning_summary_text.done.
type ReasoningSummaryTextDoneEvent struct {
	EventHeader
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	SummaryIndex int    `json:"summary_index"`
	Text         string `json:"text"`
}

// ErrorEvent is the `error` event sent when the stream fails after it
// started; response.failed follows it.
type ErrorEvent struct {
	EventHeader
	Code    *string `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
}

// StreamEvent is any of the events above.
type StreamEvent interface{ EventType() string }
