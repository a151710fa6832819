package anthropic

import (
	"bytes"
	"encoding/json"
)

// MessagesRequest is the body of POST /v1/messages (and, without MaxTokens
// and Stream, of POST /v1/messages/count_tokens).
type MessagesRequest struct {
	Model         string          `json:"model"`
	MaxTokens     int             `json:"max_tokens,omitempty"`
	Messages      []Message       `json:"messages"`
	System        Content         `json:"system,omitempty"`
	Metadata      *Metadata       `json:"metadata,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	TopK          *int            `json:"top_k,omitempty"`
	Tools         []Tool          `json:"tools,omitempty"`
	ToolChoice    *ToolChoice     `json:"tool_choice,omitempty"`
	Thinking      *Thinking       `json:"thinking,omitempty"`
	OutputConfig  *OutputConfig   `json:"output_config,omitempty"`
	ServiceTier   string          `json:"service_tier,omitempty"`
	Container     json.RawMessage `json:"container,omitempty"`
	MCPServers    json.RawMessage `json:"mcp_servers,omitempty"`
	// ContextManagement is a beta field (context-management-2025-06-27).
	ContextManagement json.RawMessage `json:"context_management,omitempty"`
}

// Message is one turn of MessagesRequest.Messages.
type Message struct {
	Role    string  `json:"role"` // "user" or "assistant"
	Content Content `json:"content"`
}

// Content is a list of content blocks. On the wire it may also be a plain
// string, which decodes to one text block.
type Content []ContentBlock

// UnmarshalJSON accepts a string or a list of blocks.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = Content{{Type: BlockText, Text: s}}
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*c = nil
		return nil
	}
	var blocks []ContentBlock
	if err := json.Unmarshal(b, &blocks); err != nil {
		return err
	}
	*c = blocks
	return nil
}

// Content block types.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockDocument         = "document"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
	BlockSearchResult     = "search_result"
)

// ContentBlock is one block of a message, of any Type. Requests may carry
// every type; responses carry text, tool_use, thinking and redacted_thinking,
// and encode only the members of their type.
type ContentBlock struct {
	Type string `json:"type"`

	// text
	Text      string          `json:"text,omitempty"`
	Citations json.RawMessage `json:"citations,omitempty"` // text: a list; document: {"enabled": bool}

	// image, document
	Source  *Source `json:"source,omitempty"`
	Title   string  `json:"title,omitempty"`
	Context string  `json:"context,omitempty"`

	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`

	// tool_result
	ToolUseID string  `json:"tool_use_id,omitempty"`
	Content   Content `json:"content,omitempty"`
	IsError   bool    `json:"is_error,omitempty"`

	// thinking, redacted_thinking
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`

	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// MarshalJSON writes the members of the block's type, including the empty
// ones Anthropic always sends (a text block's "text", a tool_use's "input").
func (b ContentBlock) MarshalJSON() ([]byte, error) {
	type plain ContentBlock // without this method
	switch b.Type {
	case BlockText:
		return json.Marshal(struct {
			Type      string          `json:"type"`
			Text      string          `json:"text"`
			Citations json.RawMessage `json:"citations,omitempty"`
		}{b.Type, b.Text, b.Citations})
	case BlockToolUse:
		in := b.Input
		if len(in) == 0 {
			in = json.RawMessage("{}")
		}
		return json.Marshal(struct {
			Type  string          `json:"type"`
			ID    string          `json:"id"`
			Name  string          `json:"name"`
			Input json.RawMessage `json:"input"`
		}{b.Type, b.ID, b.Name, in})
	case BlockThinking:
		return json.Marshal(struct {
			Type      string `json:"type"`
			Thinking  string `json:"thinking"`
			Signature string `json:"signature"`
		}{b.Type, b.Thinking, b.Signature})
	case BlockRedactedThinking:
		return json.Marshal(struct {
			Type string `json:"type"`
			Data string `json:"data"`
		}{b.Type, b.Data})
	}
	return json.Marshal(plain(b))
}

// Source is the source of an image or document block.
type Source struct {
	Type      string  `json:"type"` // base64, url, text, content, file
	MediaType string  `json:"media_type,omitempty"`
	Data      string  `json:"data,omitempty"`
	URL       string  `json:"url,omitempty"`
	FileID    string  `json:"file_id,omitempty"`
	Content   Content `json:"content,omitempty"` // type content: text and image blocks
}

// CacheControl marks a prompt-cache breakpoint after the block it is on.
type CacheControl struct {
	Type string `json:"type"`          // "ephemeral"
	TTL  string `json:"ttl,omitempty"` // "5m" or "1h"
}

// Metadata is the request's metadata.
type Metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// Tool is a tool the model may call: a custom tool with an input schema, or
// a server or client tool named by Type (bash_20250124, web_search_...).
type Tool struct {
	Type         string          `json:"type,omitempty"` // "custom" or empty for custom tools
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	CacheControl *CacheControl   `json:"cache_control,omitempty"`
	Strict       *bool           `json:"strict,omitempty"`
}

// IsCustom reports whether the tool is defined by its input schema (rather
// than a versioned Anthropic tool type).
func (t Tool) IsCustom() bool { return t.Type == "" || t.Type == "custom" }

// ToolChoice says whether and which tool the model must call.
type ToolChoice struct {
	Type                   string `json:"type"` // auto, any, tool, none
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// Thinking configures extended thinking.
type Thinking struct {
	Type         string `json:"type"` // enabled, disabled, adaptive
	BudgetTokens int    `json:"budget_tokens,omitempty"`
	Display      string `json:"display,omitempty"`
}

// OutputConfig holds the effort level (adaptive thinking) and an output format.
type OutputConfig struct {
	Effort string          `json:"effort,omitempty"` // low, medium, high, max
	Format json.RawMessage `json:"format,omitempty"`
}

// Response is the body of a non-streamed POST /v1/messages answer, and the
// message of a stream's message_start event.
type Response struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"` // "message"
	Role         string         `json:"role"` // "assistant"
	Model        string         `json:"model"`
	Content      []ContentBlock `json:"content"`
	StopReason   *string        `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        Usage          `json:"usage"`
}

// Stop reasons.
const (
	StopEndTurn      = "end_turn"
	StopMaxTokens    = "max_tokens"
	StopSequence     = "stop_sequence"
	StopToolUse      = "tool_use"
	StopPauseTurn    = "pause_turn"
	StopRefusal      = "refusal"
	StopContextLimit = "model_context_window_exceeded"
)

// Usage is the token usage of a message. Input tokens exclude cache reads
// and writes, which are counted apart.
type Usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// CountTokensResponse is the body of POST /v1/messages/count_tokens.
type CountTokensResponse struct {
	InputTokens int `json:"input_tokens"`
}

// TextOf joins the text blocks of c.
func TextOf(c Content) string {
	var b bytes.Buffer
	for _, bl := range c {
		if bl.Type == BlockText {
			b.WriteString(bl.Text)
		}
	}
	return b.String()
}
