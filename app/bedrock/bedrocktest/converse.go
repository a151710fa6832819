package bedrocktest

import (
	"encoding/json"
	"errors"
	"time"
)

// converse serves Converse and ConverseStream.
func (e *Emulator) converse(x *exchange) {
	m, ok := e.catalogue().resolve(x.req.ModelID)
	if !ok {
		writeError(x.w, validation("The provided model identifier is invalid."))
		return
	}
	if m.retired() {
		writeError(x.w, &apiError{Type: "ResourceNotFoundException", Message: EndOfLifeMessage})
		return
	}
	body, streamMode := x.req.Body, ""
	if x.req.Operation == "ConverseStream" {
		body, streamMode = splitStreamMode(body)
	}
	var req converseRequest
	if err := decodeStrict(body, &req); err != nil {
		writeError(x.w, bodyError(err, (*shapeError).converseMessage))
		return
	}
	c, aerr := validateConverse(req, m, x.req.Operation == "ConverseStream", streamMode)
	if aerr != nil {
		writeError(x.w, aerr)
		return
	}
	a, aerr := e.plan(c, x.req)
	if aerr != nil {
		writeError(x.w, aerr)
		return
	}
	if !e.wait(x.r.Context(), a.delay) || !e.inject(x, a) {
		return
	}
	if a.err != nil {
		writeError(x.w, a.err)
		return
	}
	if x.req.Operation == "ConverseStream" {
		e.stream(x, a)
		return
	}
	if a.streamErr != nil {
		writeError(x.w, a.streamErr)
		return
	}
	if err := writeJSON(x.w, converseResponse(x, a)); err != nil {
		e.cancellations.Add(1)
	}
}

// bodyError turns a decodeStrict error into the error Bedrock sends.
func bodyError(err error, word func(*shapeError) string) *apiError {
	var se *shapeError
	if errors.As(err, &se) {
		return validation("%s", word(se))
	}
	return &apiError{Type: "SerializationException", Message: err.Error()}
}

// Converse response wire types (protocols.md §1.3).

type converseOutput struct {
	Output      outputMessage   `json:"output"`
	StopReason  string          `json:"stopReason"`
	Usage       usageJSON       `json:"usage"`
	Metrics     metricsJSON     `json:"metrics"`
	ServiceTier serviceTier     `json:"serviceTier"`
	Trace       json.RawMessage `json:"trace,omitempty"`
}

type outputMessage struct {
	Message struct {
		Role    string       `json:"role"`
		Content []outContent `json:"content"`
	} `json:"message"`
}

type outContent struct {
	Text             *string       `json:"text,omitempty"`
	ReasoningContent *outReasoning `json:"reasoningContent,omitempty"`
	ToolUse          *outToolUse   `json:"toolUse,omitempty"`
}

type outReasoning struct {
	ReasoningText   *outReasoningText `json:"reasoningText,omitempty"`
	RedactedContent []byte            `json:"redactedContent,omitempty"`
}

type outReasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

type outToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type usageJSON struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	TotalTokens           int `json:"totalTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens,omitempty"`
	// CacheDetails breaks the writes down by TTL; absent without writes.
	CacheDetails []cacheDetail `json:"cacheDetails,omitempty"`
}

type cacheDetail struct {
	InputTokens int    `json:"inputTokens"`
	TTL         string `json:"ttl"`
}

type metricsJSON struct {
	LatencyMs int64 `json:"latencyMs"`
}

// usageOf reports usage with totalTokens = inputTokens + outputTokens.
func usageOf(u Usage) usageJSON {
	out := usageJSON{
		InputTokens:           u.InputTokens,
		OutputTokens:          u.OutputTokens,
		TotalTokens:           u.InputTokens + u.OutputTokens,
		CacheReadInputTokens:  u.CacheReadInputTokens,
		CacheWriteInputTokens: u.CacheWriteInputTokens,
	}
	if u.CacheWriteInputTokens > 0 {
		ttl := u.CacheWriteTTL
		if ttl == "" {
			ttl = "5m"
		}
		out.CacheDetails = []cacheDetail{{InputTokens: u.CacheWriteInputTokens, TTL: ttl}}
	}
	return out
}

func converseResponse(x *exchange, a *answer) converseOutput {
	var out converseOutput
	out.Output.Message.Role = "assistant"
	content := []outContent{}
	if a.reasoning != "" {
		content = append(content, outContent{ReasoningContent: &outReasoning{ReasoningText: &outReasoningText{Text: a.reasoning, Signature: a.signature}}})
	}
	if len(a.redacted) > 0 {
		content = append(content, outContent{ReasoningContent: &outReasoning{RedactedContent: a.redacted}})
	}
	if len(a.text) > 0 {
		t := a.fullText()
		content = append(content, outContent{Text: &t})
	}
	for _, tc := range a.tools {
		content = append(content, outContent{ToolUse: &outToolUse{ToolUseID: tc.ID, Name: tc.Name, Input: json.RawMessage(tc.Input)}})
	}
	out.Output.Message.Content = content
	out.StopReason = a.stopReason
	out.Usage = usageOf(a.usage)
	out.Metrics.LatencyMs = sinceMs(x)
	out.ServiceTier.Type = a.tier
	out.Trace = a.trace
	return out
}

func sinceMs(x *exchange) int64 {
	return max(time.Since(x.start).Milliseconds(), 1)
}
