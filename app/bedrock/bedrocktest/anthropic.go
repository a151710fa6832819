package bedrocktest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/openbedrock/gateway/app/anthropic"
)

// InvokeModel and InvokeModelWithResponseStream on Anthropic models take the
// Anthropic Messages body as Bedrock does (protocols.md §3): no "model" or
// "stream" member, "anthropic_version": "bedrock-2023-05-31", and the betas
// in "anthropic_beta". The body is checked, mapped onto the Converse checks
// and answer planning (so scripts, directives and usage behave as on
// Converse), and the answer is written as an Anthropic message, or as
// "chunk" events whose bytes are the JSON of Anthropic stream events.

// AnthropicVersion is the only anthropic_version Bedrock accepts.
const AnthropicVersion = "bedrock-2023-05-31"

// anthropicBetas are the anthropic_beta values the emulator accepts, as
// Bedrock documents them for Claude; others are a ValidationException.
var anthropicBetas = []string{
	"computer-use-2024-10-22", "computer-use-2025-01-24", "computer-use-2025-11-24",
	"token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14",
	"output-128k-2025-02-19", "dev-full-thinking-2025-05-14", "context-1m-2025-08-07",
	"context-management-2025-06-27", "effort-2025-11-24", "tool-search-tool-2025-10-19",
	"tool-examples-2025-10-29",
}

// AnthropicBetas returns the anthropic_beta values the emulator accepts.
func AnthropicBetas() []string { return slices.Clone(anthropicBetas) }

// anthropicBody is an InvokeModel body for an Anthropic model.
type anthropicBody struct {
	AnthropicVersion  string                  `json:"anthropic_version"`
	AnthropicBeta     []string                `json:"anthropic_beta"`
	MaxTokens         *int                    `json:"max_tokens"`
	Messages          []anthropic.Message     `json:"messages"`
	System            anthropic.Content       `json:"system"`
	Metadata          *anthropic.Metadata     `json:"metadata"`
	StopSequences     []string                `json:"stop_sequences"`
	Temperature       *float64                `json:"temperature"`
	TopP              *float64                `json:"top_p"`
	TopK              *int                    `json:"top_k"`
	Tools             []anthropic.Tool        `json:"tools"`
	ToolChoice        *anthropic.ToolChoice   `json:"tool_choice"`
	Thinking          *anthropic.Thinking     `json:"thinking"`
	OutputConfig      *anthropic.OutputConfig `json:"output_config"`
	ContextManagement json.RawMessage         `json:"context_management"`
}

// parseAnthropic checks an Anthropic body and maps it onto a validated call.
// countOnly relaxes what CountTokens does not need (max_tokens).
func parseAnthropic(body []byte, m Model, stream, countOnly bool) (*call, *apiError) {
	var b anthropicBody
	if aerr := decodeNative(body, &b); aerr != nil {
		return nil, aerr
	}
	switch {
	case b.AnthropicVersion == "":
		return nil, required("anthropic_version")
	case b.AnthropicVersion != AnthropicVersion:
		return nil, validation("Invalid API version: %q; use %q.", b.AnthropicVersion, AnthropicVersion)
	case b.MaxTokens == nil && !countOnly:
		return nil, required("max_tokens")
	case len(b.Messages) == 0:
		return nil, required("messages")
	}
	for _, beta := range b.AnthropicBeta {
		if !slices.Contains(anthropicBetas, beta) {
			return nil, validation("invalid beta flag")
		}
	}
	req, aerr := converseOf(&b)
	if aerr != nil {
		return nil, aerr
	}
	c, aerr := validateConverse(req, m, stream, "")
	if aerr != nil {
		return nil, aerr
	}
	if b.Thinking != nil && b.Thinking.Type == "adaptive" {
		c.thinking, c.thinkingOn = true, true
	}
	return c, nil
}

// converseOf maps an Anthropic body onto the Converse request the checks and
// the answer planning read. cache_control becomes a cachePoint after its block.
func converseOf(b *anthropicBody) (converseRequest, *apiError) {
	var req converseRequest
	if b.MaxTokens != nil || b.Temperature != nil || b.TopP != nil || len(b.StopSequences) > 0 {
		req.InferenceConfig = &inferenceConfig{MaxTokens: b.MaxTokens, Temperature: b.Temperature, TopP: b.TopP, StopSequences: b.StopSequences}
	}
	for i, s := range b.System {
		if s.Type != anthropic.BlockText {
			return req, validation("system.%d.type: Input should be 'text'", i)
		}
		req.System = append(req.System, systemBlock{Text: &s.Text})
		if cp := cachePointOf(s.CacheControl); cp != nil {
			req.System = append(req.System, systemBlock{CachePoint: cp})
		}
	}
	for i, msg := range b.Messages {
		out := message{Role: msg.Role}
		for j, blk := range msg.Content {
			cb, aerr := blockOf(blk, fmt.Sprintf("messages.%d.content.%d", i, j))
			if aerr != nil {
				return req, aerr
			}
			out.Content = append(out.Content, cb)
			if cp := cachePointOf(blk.CacheControl); cp != nil {
				out.Content = append(out.Content, contentBlock{CachePoint: cp})
			}
		}
		req.Messages = append(req.Messages, out)
	}
	if len(b.Tools) > 0 && (b.ToolChoice == nil || b.ToolChoice.Type != "none") {
		tc := &toolConfig{}
		for _, t := range b.Tools {
			name, desc := t.Name, t.Description
			schema := t.InputSchema
			if !t.IsCustom() || len(schema) == 0 {
				schema = json.RawMessage(`{"type":"object"}`) // a versioned Anthropic tool: its schema is built in
			}
			spec := &toolSpec{Name: &name, InputSchema: &inputSchema{JSON: schema}}
			if desc != "" {
				spec.Description = &desc
			}
			tc.Tools = append(tc.Tools, tool{ToolSpec: spec})
			if cp := cachePointOf(t.CacheControl); cp != nil {
				tc.Tools = append(tc.Tools, tool{CachePoint: cp})
			}
		}
		if ch := b.ToolChoice; ch != nil {
			switch ch.Type {
			case "auto":
				tc.ToolChoice = &toolChoice{Auto: &struct{}{}}
			case "any":
				tc.ToolChoice = &toolChoice{Any: &struct{}{}}
			case "tool":
				tc.ToolChoice = &toolChoice{Tool: &specificToolRef{Name: ch.Name}}
			default:
				return req, validation("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
			}
		}
		req.ToolConfig = tc
	}
	extra := map[string]any{}
	if b.Thinking != nil {
		extra["thinking"] = b.Thinking
	}
	if b.TopK != nil {
		extra["top_k"] = *b.TopK
	}
	if len(extra) > 0 {
		req.AdditionalModelRequestFields, _ = json.Marshal(extra) // plain values: cannot fail
	}
	return req, nil
}

func cachePointOf(cc *anthropic.CacheControl) *cachePointBlock {
	if cc == nil {
		return nil
	}
	return &cachePointBlock{Type: "default", TTL: cc.TTL}
}

// blockOf maps one Anthropic content block onto its Converse form.
func blockOf(b anthropic.ContentBlock, at string) (contentBlock, *apiError) {
	switch b.Type {
	case anthropic.BlockText:
		t := b.Text
		return contentBlock{Text: &t}, nil
	case anthropic.BlockImage:
		img, aerr := imageOf(b.Source, at)
		return contentBlock{Image: img}, aerr
	case anthropic.BlockDocument:
		d, aerr := documentOf(b, at)
		return contentBlock{Document: d}, aerr
	case anthropic.BlockToolUse:
		id, name := b.ID, b.Name
		in := b.Input
		if len(in) == 0 {
			in = json.RawMessage("{}")
		}
		return contentBlock{ToolUse: &toolUseBlock{ToolUseID: &id, Name: &name, Input: in}}, nil
	case anthropic.BlockToolResult:
		id := b.ToolUseID
		tr := &toolResultBlock{ToolUseID: &id}
		if b.IsError {
			tr.Status = "error"
		}
		for k, c := range b.Content {
			switch c.Type {
			case anthropic.BlockText:
				t := c.Text
				tr.Content = append(tr.Content, toolResultContent{Text: &t})
			case anthropic.BlockImage:
				img, aerr := imageOf(c.Source, fmt.Sprintf("%s.content.%d", at, k))
				if aerr != nil {
					return contentBlock{}, aerr
				}
				tr.Content = append(tr.Content, toolResultContent{Image: img})
			case anthropic.BlockDocument:
				d, aerr := documentOf(c, fmt.Sprintf("%s.content.%d", at, k))
				if aerr != nil {
					return contentBlock{}, aerr
				}
				tr.Content = append(tr.Content, toolResultContent{Document: d})
			default:
				return contentBlock{}, validation("%s.content.%d.type: Input tag '%s' found using 'type' does not match any of the expected tags: 'text', 'image', 'document', 'search_result'", at, k, c.Type)
			}
		}
		if len(tr.Content) == 0 {
			empty := ""
			tr.Content = []toolResultContent{{Text: &empty}}
		}
		return contentBlock{ToolResult: tr}, nil
	case anthropic.BlockThinking:
		sig := b.Signature
		return contentBlock{ReasoningContent: &reasoningContent{ReasoningText: &reasoningText{Text: b.Thinking, Signature: &sig}}}, nil
	case anthropic.BlockRedactedThinking:
		data, err := base64.StdEncoding.DecodeString(b.Data)
		if err != nil {
			data = []byte(b.Data)
		}
		return contentBlock{ReasoningContent: &reasoningContent{RedactedContent: data}}, nil
	}
	return contentBlock{}, validation("%s.type: Input tag '%s' found using 'type' does not match any of the expected tags: 'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'", at, b.Type)
}

func imageOf(s *anthropic.Source, at string) (*imageBlock, *apiError) {
	if s == nil {
		return nil, validation("%s.source: Field required", at)
	}
	if s.Type != "base64" {
		return nil, validation("%s.source.type: only 'base64' image sources are supported on Bedrock", at)
	}
	format, ok := strings.CutPrefix(s.MediaType, "image/")
	if !ok || !slices.Contains([]string{"png", "jpeg", "gif", "webp"}, format) {
		return nil, validation("%s.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'", at)
	}
	data, err := base64.StdEncoding.DecodeString(s.Data)
	if err != nil {
		return nil, validation("%s.source.data: invalid base64 data", at)
	}
	return &imageBlock{Format: format, Source: &mediaSource{Bytes: data}}, nil
}

func documentOf(b anthropic.ContentBlock, at string) (*documentBlock, *apiError) {
	s := b.Source
	if s == nil {
		return nil, validation("%s.source: Field required", at)
	}
	name := cmpOr(b.Title, "document")
	d := &documentBlock{Name: &name, Context: b.Context}
	switch {
	case s.Type == "base64" && s.MediaType == "application/pdf":
		data, err := base64.StdEncoding.DecodeString(s.Data)
		if err != nil {
			return nil, validation("%s.source.data: invalid base64 data", at)
		}
		d.Format, d.Source = "pdf", &documentSource{Bytes: data}
	case s.Type == "text":
		d.Format, d.Source = "txt", &documentSource{Bytes: []byte(s.Data)}
	case s.Type == "content":
		var items []textOnlyItem
		for _, c := range s.Content {
			t := c.Text
			items = append(items, textOnlyItem{Text: &t})
		}
		d.Format, d.Source = "txt", &documentSource{Content: items}
	default:
		return nil, validation("%s.source: unsupported document source type %q", at, s.Type)
	}
	return d, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// anthropicModelName is the model name Bedrock reports in Anthropic
// answers: the foundation-model id without "anthropic." and "-v1:0".
func anthropicModelName(id string) string {
	return versionSuffix.ReplaceAllString(strings.TrimPrefix(id, "anthropic."), "")
}

var versionSuffix = regexp.MustCompile(`-v\d+(:\d+)?$`)

// invokeAnthropic serves InvokeModel and InvokeModelWithResponseStream for
// an Anthropic model.
func (e *Emulator) invokeAnthropic(x *exchange, m Model) {
	stream := x.req.Operation == "InvokeModelWithResponseStream"
	c, aerr := parseAnthropic(x.req.Body, m, stream, false)
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
	msg := anthropicMessage(m, a, fmt.Sprintf("msg_bdrk_%024x", e.seq.Add(1)))
	if stream {
		e.streamAnthropic(x, a, msg)
		return
	}
	if a.streamErr != nil {
		writeError(x.w, a.streamErr)
		return
	}
	h := x.w.Header()
	h.Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(a.usage.InputTokens))
	h.Set("X-Amzn-Bedrock-Output-Token-Count", strconv.Itoa(a.usage.OutputTokens))
	h.Set("X-Amzn-Bedrock-Invocation-Latency", strconv.FormatInt(sinceMs(x), 10))
	if a.usage.CacheReadInputTokens > 0 {
		h.Set("X-Amzn-Bedrock-Cache-Read-Input-Token-Count", strconv.Itoa(a.usage.CacheReadInputTokens))
	}
	if a.usage.CacheWriteInputTokens > 0 {
		h.Set("X-Amzn-Bedrock-Cache-Write-Input-Token-Count", strconv.Itoa(a.usage.CacheWriteInputTokens))
	}
	if err := writeJSON(x.w, msg); err != nil {
		e.cancellations.Add(1)
	}
}

// anthropicMessage is the whole answer as an Anthropic message.
func anthropicMessage(m Model, a *answer, id string) anthropic.Response {
	stop := a.stopReason
	msg := anthropic.Response{
		ID:    id,
		Type:  "message",
		Role:  "assistant",
		Model: anthropicModelName(m.ID),
		Usage: anthropic.Usage{
			InputTokens:              a.usage.InputTokens,
			OutputTokens:             a.usage.OutputTokens,
			CacheCreationInputTokens: a.usage.CacheWriteInputTokens,
			CacheReadInputTokens:     a.usage.CacheReadInputTokens,
		},
		StopReason: &stop,
		Content:    []anthropic.ContentBlock{},
	}
	if a.reasoning != "" {
		msg.Content = append(msg.Content, anthropic.ContentBlock{Type: anthropic.BlockThinking, Thinking: a.reasoning, Signature: a.signature})
	}
	if len(a.redacted) > 0 {
		msg.Content = append(msg.Content, anthropic.ContentBlock{Type: anthropic.BlockRedactedThinking, Data: base64.StdEncoding.EncodeToString(a.redacted)})
	}
	if len(a.text) > 0 {
		msg.Content = append(msg.Content, anthropic.ContentBlock{Type: anthropic.BlockText, Text: a.fullText()})
	}
	for _, tc := range a.tools {
		msg.Content = append(msg.Content, anthropic.ContentBlock{Type: anthropic.BlockToolUse, ID: tc.ID, Name: tc.Name, Input: json.RawMessage(tc.Input)})
	}
	return msg
}

// streamAnthropic writes the answer as InvokeModelWithResponseStream does:
// each Anthropic stream event is the base64 "bytes" of a "chunk" event, the
// last (message_stop) carrying amazon-bedrock-invocationMetrics.
func (e *Emulator) streamAnthropic(x *exchange, a *answer, msg anthropic.Response) {
	x.w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	x.w.Header().Set("X-Amzn-Bedrock-Content-Type", "application/json")
	x.w.WriteHeader(http.StatusOK)
	s := &streamWriter{e: e, x: x, a: a, enc: eventstream.NewEncoder(), rc: http.NewResponseController(x.w), fault: a.fault}
	if err := s.rc.Flush(); err != nil {
		e.cancellations.Add(1)
		return
	}
	chunk := func(v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		return s.event("chunk", payloadPart{Bytes: b, P: padding(len(b))})
	}
	start := msg
	start.Content = []anthropic.ContentBlock{}
	start.StopReason = nil
	start.Usage.OutputTokens = 1
	if !chunk(anthropic.MessageStartEvent{Type: anthropic.EventMessageStart, Message: start}) {
		return
	}
	for i, blk := range msg.Content {
		empty := blk
		var deltas []anthropic.BlockDelta
		switch blk.Type {
		case anthropic.BlockThinking:
			empty.Thinking, empty.Signature = "", ""
			for _, part := range splitChunks(blk.Thinking, 2) {
				deltas = append(deltas, anthropic.BlockDelta{Type: anthropic.DeltaThinking, Thinking: part})
			}
			if blk.Signature != "" {
				deltas = append(deltas, anthropic.BlockDelta{Type: anthropic.DeltaSignature, Signature: blk.Signature})
			}
		case anthropic.BlockText:
			empty.Text = ""
			for _, part := range a.text {
				deltas = append(deltas, anthropic.BlockDelta{Type: anthropic.DeltaText, Text: part})
			}
		case anthropic.BlockToolUse:
			empty.Input = json.RawMessage("{}")
			in := string(blk.Input)
			for _, part := range splitChunks(in, min(3, len(in))) {
				deltas = append(deltas, anthropic.BlockDelta{Type: anthropic.DeltaInputJSON, PartialJSON: part})
			}
		}
		if !chunk(anthropic.ContentBlockStartEvent{Type: anthropic.EventContentBlockStart, Index: i, ContentBlock: empty}) {
			return
		}
		for _, d := range deltas {
			if !chunk(anthropic.ContentBlockDeltaEvent{Type: anthropic.EventContentBlockDelta, Index: i, Delta: d}) {
				return
			}
		}
		if !chunk(anthropic.ContentBlockStopEvent{Type: anthropic.EventContentBlockStop, Index: i}) {
			return
		}
	}
	// Bedrock's message_delta carries the output tokens only.
	if !chunk(obj{"type": anthropic.EventMessageDelta, "delta": anthropic.MessageDelta{StopReason: msg.StopReason},
		"usage": obj{"output_tokens": msg.Usage.OutputTokens}}) {
		return
	}
	if !chunk(messageStopWithMetrics{Type: anthropic.EventMessageStop, Metrics: invocationMetrics{
		InputTokenCount:      a.usage.InputTokens,
		OutputTokenCount:     a.usage.OutputTokens,
		InvocationLatency:    sinceMs(x),
		FirstByteLatency:     sinceMs(x),
		CacheReadInputCount:  a.usage.CacheReadInputTokens,
		CacheWriteInputCount: a.usage.CacheWriteInputTokens,
	}}) {
		return
	}
	if a.streamErr != nil {
		s.exception() // scripted to come after every event
	}
}

// payloadPart is the payload of a "chunk" event: the event's bytes and, as
// Bedrock adds to hide the length of the content, padding in "p".
type payloadPart struct {
	Bytes []byte `json:"bytes"`
	P     string `json:"p"`
}

func padding(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	return alphabet[:n%len(alphabet)]
}

type messageStopWithMetrics struct {
	Type    string            `json:"type"`
	Metrics invocationMetrics `json:"amazon-bedrock-invocationMetrics"`
}

type invocationMetrics struct {
	InputTokenCount      int   `json:"inputTokenCount"`
	OutputTokenCount     int   `json:"outputTokenCount"`
	InvocationLatency    int64 `json:"invocationLatency"`
	FirstByteLatency     int64 `json:"firstByteLatency"`
	CacheReadInputCount  int   `json:"cacheReadInputTokenCount,omitempty"`
	CacheWriteInputCount int   `json:"cacheWriteInputTokenCount,omitempty"`
}
