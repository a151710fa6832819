package bedrocktest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Reply scripts one answer. The zero value means the default deterministic
// answer; each field set replaces one part of it.
type Reply struct {
	// Text holds the text chunks, one stream delta each; Converse concatenates
	// them. Empty with no ToolCalls means the default echo text.
	Text []string
	// Reasoning is sent as a reasoning block before the text, with Signature.
	Reasoning string
	// Signature signs Reasoning; empty gets a deterministic signature on Anthropic models.
	Signature string
	// RedactedReasoning is sent as a redacted reasoning block after Reasoning.
	RedactedReasoning []byte
	// ToolCalls are sent after the text; several mean parallel tool calls.
	ToolCalls []ToolCall
	// StopReason defaults to "tool_use" with ToolCalls, else "end_turn".
	StopReason string
	// Usage replaces the computed token counts.
	Usage *Usage
	// Delay is waited before answering (after WithLatency's delay).
	Delay time.Duration
	// ChunkDelay is waited between stream events, replacing WithChunkDelay's.
	ChunkDelay time.Duration
	// Error is returned as an HTTP error before any stream starts.
	Error *Error
	// StreamError is sent as an event-stream exception mid-stream (Converse
	// returns it as an HTTP error) ...
	StreamError *Error
	// ... after this many events; 0 means 2 (messageStart and the first delta),
	// negative means before the first event.
	StreamErrorAfter int
	// Fault injects a failure into the answer (a connection reset, a
	// truncated frame, a stall, a throttle), in place of one WithFaults drew.
	Fault *Fault
}

// ToolCall is one tool call the model makes.
type ToolCall struct {
	// ID is the toolUseId; empty gets a deterministic "tooluse_..." id.
	ID string
	// Name is the tool name.
	Name string
	// Input is the tool input as a JSON object; empty means "{}".
	Input string
}

// Usage is the token usage reported in Converse responses and stream metadata.
type Usage struct {
	InputTokens           int
	OutputTokens          int
	CacheReadInputTokens  int
	CacheWriteInputTokens int
	// CacheWriteTTL is the TTL of the writes ("5m" or "1h"), reported in
	// usage.cacheDetails; empty means 5m.
	CacheWriteTTL string
}

// directive is the JSON form of a Reply in an "@emulate {...}" prompt line.
type directive struct {
	Text              json.RawMessage `json:"text"` // a string or a list of strings
	Reasoning         string          `json:"reasoning"`
	Signature         string          `json:"signature"`
	RedactedReasoning []byte          `json:"redacted_reasoning"`
	ToolCalls         []struct {
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"` // an object or a string holding one
	} `json:"tool_calls"`
	StopReason string `json:"stop_reason"`
	Usage      *struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
		CacheRead    int `json:"cache_read"`
		CacheWrite   int `json:"cache_write"`
	} `json:"usage"`
	DelayMS          int       `json:"delay_ms"`
	ChunkDelayMS     int       `json:"chunk_delay_ms"`
	Error            *errorDir `json:"error"`
	StreamError      *errorDir `json:"stream_error"`
	StreamErrorAfter int       `json:"stream_error_after"`
	Fault            *faultDir `json:"fault"`
}

type faultDir struct {
	Kind    FaultKind `json:"kind"`
	After   int       `json:"after"`
	StallMS int       `json:"stall_ms"`
}

type errorDir struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// parseDirective reads a Reply from the lines of a prompt: "@emulate {json}"
// or "@emulate-error <Type> [message]". It returns nil when there is none.
func parseDirective(text string) (*Reply, error) {
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "@emulate-error"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return nil, fmt.Errorf("@emulate-error needs an error type, e.g. @emulate-error ThrottlingException")
			}
			return &Reply{Error: &Error{Type: f[0], Message: strings.Join(f[1:], " ")}}, nil
		}
		if rest, ok := strings.CutPrefix(line, "@emulate"); ok {
			r, err := decodeDirective(rest)
			if err != nil {
				return nil, fmt.Errorf("invalid @emulate directive: %w", err)
			}
			return r, nil
		}
	}
	return nil, nil
}

func decodeDirective(js string) (*Reply, error) {
	dec := json.NewDecoder(strings.NewReader(js))
	dec.DisallowUnknownFields()
	var d directive
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	r := &Reply{
		Reasoning:         d.Reasoning,
		Signature:         d.Signature,
		RedactedReasoning: d.RedactedReasoning,
		StopReason:        d.StopReason,
		Delay:             time.Duration(d.DelayMS) * time.Millisecond,
		ChunkDelay:        time.Duration(d.ChunkDelayMS) * time.Millisecond,
		StreamErrorAfter:  d.StreamErrorAfter,
	}
	if t := bytes.TrimSpace(d.Text); len(t) > 0 {
		if t[0] == '"' {
			var s string
			if err := json.Unmarshal(t, &s); err != nil {
				return nil, fmt.Errorf("text: %w", err)
			}
			r.Text = []string{s}
		} else if err := json.Unmarshal(t, &r.Text); err != nil {
			return nil, fmt.Errorf("text must be a string or a list of strings: %w", err)
		}
	}
	for _, tc := range d.ToolCalls {
		in := string(bytes.TrimSpace(tc.Input))
		if strings.HasPrefix(in, `"`) {
			if err := json.Unmarshal(tc.Input, &in); err != nil {
				return nil, fmt.Errorf("tool_calls input: %w", err)
			}
		}
		r.ToolCalls = append(r.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Name, Input: in})
	}
	if u := d.Usage; u != nil {
		r.Usage = &Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CacheReadInputTokens: u.CacheRead, CacheWriteInputTokens: u.CacheWrite}
	}
	if d.Error != nil {
		r.Error = &Error{Type: d.Error.Type, Message: d.Error.Message}
	}
	if d.StreamError != nil {
		r.StreamError = &Error{Type: d.StreamError.Type, Message: d.StreamError.Message}
	}
	if d.Fault != nil {
		r.Fault = &Fault{Kind: d.Fault.Kind, After: d.Fault.After, Stall: time.Duration(d.Fault.StallMS) * time.Millisecond}
	}
	return r, nil
}

// answer is a fully resolved reply to one call.
type answer struct {
	reasoning  string
	signature  string
	redacted   []byte
	text       []string
	tools      []ToolCall
	stopReason string
	usage      Usage
	tier       string // the service tier reported as used
	trace      json.RawMessage

	delay          time.Duration
	chunkDelay     time.Duration
	err            *apiError
	streamErr      *apiError
	streamErrAfter int
	fault          *Fault
}

func (a *answer) fullText() string { return strings.Join(a.text, "") }

// plan resolves the reply to a validated call: the script, else a prompt
// directive, else the default answer.
func (e *Emulator) plan(c *call, req Request) (*answer, *apiError) {
	r := e.scripted(req)
	if r == nil {
		d, err := parseDirective(lastUserText(c.req.Messages))
		if err != nil {
			return nil, validation("bedrocktest: %v", err)
		}
		r = d
	}
	if r == nil {
		r = &Reply{}
	}
	a := &answer{
		reasoning:      r.Reasoning,
		signature:      r.Signature,
		redacted:       r.RedactedReasoning,
		text:           r.Text,
		stopReason:     r.StopReason,
		delay:          r.Delay,
		chunkDelay:     e.chunkDelay,
		streamErrAfter: r.StreamErrorAfter,
		fault:          r.Fault,
		tier:           servedTier(c.req),
	}
	if r.ChunkDelay > 0 {
		a.chunkDelay = r.ChunkDelay
	}
	if a.streamErrAfter == 0 {
		a.streamErrAfter = 2
	}
	if r.Error != nil {
		a.err = scripted(r.Error, c.model.ARN())
	}
	if r.StreamError != nil {
		a.streamErr = scripted(r.StreamError, c.model.ARN())
	}
	if a.reasoning == "" && len(a.redacted) == 0 && (c.thinkingOn || c.model.ID == "deepseek.r1-v1:0") {
		a.reasoning = "Emulated reasoning about: " + truncate(stripDirectives(lastUserText(c.req.Messages)), 100)
	}
	if a.reasoning != "" && a.signature == "" && c.model.isAnthropic() {
		a.signature = "emulated-signature-" + shortHash(a.reasoning)
	}
	for i, tc := range r.ToolCalls {
		if tc.Input == "" {
			tc.Input = "{}"
		}
		if !isJSONObject(json.RawMessage(tc.Input)) {
			return nil, &apiError{Type: "InternalServerException", Message: fmt.Sprintf("bedrocktest: scripted tool call %d (%s) input is not a JSON object: %s", i, tc.Name, tc.Input)}
		}
		if tc.ID == "" {
			tc.ID = "tooluse_" + base64.RawURLEncoding.EncodeToString([]byte(shortHash(fmt.Sprint(i, tc.Name, tc.Input))))[:22]
		}
		a.tools = append(a.tools, tc)
	}
	if blocked, trace := guardrailIntervenes(c, lastUserText(c.req.Messages)); blocked {
		a.text, a.tools, a.reasoning, a.signature, a.stopReason, a.trace = []string{GuardrailMessage}, nil, "", "", "guardrail_intervened", trace
	}
	if len(a.text) == 0 && len(a.tools) == 0 {
		e.defaultText(c, a)
	}
	if a.stopReason == "" {
		a.stopReason = "end_turn"
		if len(a.tools) > 0 {
			a.stopReason = "tool_use"
		}
	}
	if r.Usage != nil {
		a.usage = *r.Usage
	} else {
		a.usage = e.usage(c, a)
	}
	return a, nil
}

// defaultText is the echo answer, cut to maxTokens (stop reason max_tokens)
// and split in three stream chunks.
func (e *Emulator) defaultText(c *call, a *answer) {
	prompt := stripDirectives(lastUserText(c.req.Messages))
	if prompt == "" {
		prompt = "(no text)"
	}
	text := "Emulated reply to: " + truncate(prompt, 200)
	if oc := c.req.OutputConfig; oc != nil && oc.TextFormat != nil && oc.TextFormat.Structure != nil && oc.TextFormat.Structure.JSONSchema != nil {
		text = conformingJSON(oc.TextFormat.Structure.JSONSchema.Schema) // structured output: JSON that fits the schema
	}
	if ic := c.req.InferenceConfig; ic != nil && ic.MaxTokens != nil && outputTokens(text) > *ic.MaxTokens {
		text = truncate(text, *ic.MaxTokens*4-1)
		if a.stopReason == "" {
			a.stopReason = "max_tokens"
		}
	}
	a.text = splitChunks(text, 3)
}

// lastUserText is the text of the last user message; for a tool-result turn
// without text, the tool results' text and JSON.
func lastUserText(msgs []message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != "user" {
			continue
		}
		var texts, results []string
		for _, b := range msgs[i].Content {
			switch {
			case b.Text != nil:
				texts = append(texts, *b.Text)
			case b.ToolResult != nil:
				for _, rc := range b.ToolResult.Content {
					if rc.Text != nil {
						results = append(results, *rc.Text)
					} else if rc.JSON != nil {
						results = append(results, string(rc.JSON))
					}
				}
			}
		}
		if len(texts) == 0 {
			texts = results
		}
		return strings.Join(texts, "\n")
	}
	return ""
}

// stripDirectives removes @emulate lines and surrounding space.
func stripDirectives(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(strings.TrimSpace(line), "@emulate") {
			b.WriteString(line)
		}
	}
	return strings.TrimSpace(b.String())
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// splitChunks splits s into up to n pieces of similar size on rune boundaries.
func splitChunks(s string, n int) []string {
	runes := []rune(s)
	if len(runes) < n {
		return []string{s}
	}
	var out []string
	for i := range n {
		out = append(out, string(runes[i*len(runes)/n:(i+1)*len(runes)/n]))
	}
	return out
}

// maxCachedPrefixes bounds the emulated prompt cache.
const maxCachedPrefixes = 10000

func outputTokens(s string) int { return len(s)/4 + 1 }

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// usage computes deterministic token counts: about four characters a token.
// Text before the last cachePoint counts as cached: written the first time
// the emulator sees that prefix for the model, read afterwards.
func (e *Emulator) usage(c *call, a *answer) Usage {
	prompt, cachedAt, ttl := promptText(c)
	var u Usage
	if cachedAt > 0 {
		key := c.model.ID + "\x00" + prompt[:cachedAt]
		e.mu.Lock()
		seen := e.cacheSeen[key]
		if len(e.cacheSeen) >= maxCachedPrefixes {
			clear(e.cacheSeen) // bound memory in long benchmark runs
		}
		e.cacheSeen[key] = true
		e.mu.Unlock()
		if seen {
			u.CacheReadInputTokens = cachedAt / 4
		} else {
			u.CacheWriteInputTokens, u.CacheWriteTTL = cachedAt/4, ttl
		}
		prompt = prompt[cachedAt:]
	}
	u.InputTokens = len(prompt)/4 + 1
	out := a.fullText() + a.reasoning
	for _, tc := range a.tools {
		out += tc.Name + tc.Input
	}
	u.OutputTokens = outputTokens(out)
	return u
}

// promptText is the text the emulator counts as a call's input: tool specs,
// system and messages, in order; cachedAt is the length before the last
// cachePoint, or -1, and ttl that cache point's TTL (5m unless 1h).
func promptText(c *call) (prompt string, cachedAt int, ttl string) {
	var all strings.Builder
	cachedAt = -1
	mark := func(cp *cachePointBlock) {
		cachedAt, ttl = all.Len(), "5m"
		if cp.TTL == "1h" {
			ttl = "1h"
		}
	}
	if tc := c.req.ToolConfig; tc != nil {
		for _, t := range tc.Tools {
			switch {
			case t.ToolSpec != nil:
				all.WriteString(*t.ToolSpec.Name)
				if t.ToolSpec.Description != nil {
					all.WriteString(*t.ToolSpec.Description)
				}
				all.Write(t.ToolSpec.InputSchema.JSON)
			case t.CachePoint != nil:
				mark(t.CachePoint)
			}
		}
	}
	for _, b := range c.req.System {
		switch {
		case b.Text != nil:
			all.WriteString(*b.Text)
		case b.CachePoint != nil:
			mark(b.CachePoint)
		}
	}
	for _, m := range c.req.Messages {
		for _, b := range m.Content {
			switch {
			case b.Text != nil:
				all.WriteString(*b.Text)
			case b.ToolUse != nil:
				all.Write(b.ToolUse.Input)
			case b.ToolResult != nil:
				for _, rc := range b.ToolResult.Content {
					if rc.Text != nil {
						all.WriteString(*rc.Text)
					}
					all.Write(rc.JSON)
				}
			case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
				all.WriteString(b.ReasoningContent.ReasoningText.Text)
			case b.CachePoint != nil:
				mark(b.CachePoint)
			}
		}
	}
	return all.String(), cachedAt, ttl
}
