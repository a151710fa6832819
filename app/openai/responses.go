package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CreateResponseRequest is the body of POST /v1/responses.
//
// Fields OpenAI defines that Bedrock has no use for are listed in
// KnownResponseFields and ignored; every other top-level key is kept in
// Extra, as for chat, and goes to Bedrock's additionalModelRequestFields.
type CreateResponseRequest struct {
	Model              string              `json:"model"`
	Input              ResponseInput       `json:"input"`
	Instructions       string              `json:"instructions,omitempty"`
	Tools              []ResponseTool      `json:"tools,omitempty"`
	ToolChoice         *ResponseToolChoice `json:"tool_choice,omitempty"`
	ParallelToolCalls  *bool               `json:"parallel_tool_calls,omitempty"`
	Text               *ResponseText       `json:"text,omitempty"`
	Reasoning          *ResponseReasoning  `json:"reasoning,omitempty"`
	MaxOutputTokens    *int                `json:"max_output_tokens,omitempty"`
	Temperature        *float64            `json:"temperature,omitempty"`
	TopP               *float64            `json:"top_p,omitempty"`
	Metadata           map[string]string   `json:"metadata,omitempty"`
	Store              *bool               `json:"store,omitempty"`
	Stream             bool                `json:"stream,omitempty"`
	Include            []string            `json:"include,omitempty"`
	PreviousResponseID string              `json:"previous_response_id,omitempty"`
	PromptCacheKey     string              `json:"prompt_cache_key,omitempty"`
	ServiceTier        string              `json:"service_tier,omitempty"`
	User               string              `json:"user,omitempty"`
	Truncation         string              `json:"truncation,omitempty"`

	// Extra holds the top-level keys that are not OpenAI fields.
	Extra map[string]json.RawMessage `json:"-"`
}

// KnownResponseFields are the top-level keys of CreateResponse (and the few
// clients add, such as Codex's client_metadata); those not translated are
// accepted and ignored rather than forwarded to Bedrock.
var KnownResponseFields = map[string]bool{
	"model": true, "input": true, "instructions": true, "tools": true, "tool_choice": true,
	"parallel_tool_calls": true, "text": true, "reasoning": true, "max_output_tokens": true,
	"temperature": true, "top_p": true, "metadata": true, "store": true, "stream": true,
	"include": true, "previous_response_id": true, "prompt_cache_key": true, "service_tier": true,
	"user": true, "truncation": true, "background": true, "conversation": true, "max_tool_calls": true,
	"top_logprobs": true, "safety_identifier": true, "prompt_cache_retention": true, "prompt": true,
	"stream_options": true, "client_metadata": true, "context_management": true,
}

// UnmarshalJSON decodes the request and collects unknown top-level keys in Extra.
func (r *CreateResponseRequest) UnmarshalJSON(b []byte) error {
	type plain CreateResponseRequest
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	return eachMember(b, func(key, value []byte) error {
		var name string
		if err := json.Unmarshal(key, &name); err != nil {
			return err
		}
		if KnownResponseFields[name] {
			return nil
		}
		if r.Extra == nil {
			r.Extra = make(map[string]json.RawMessage)
		}
		r.Extra[name] = bytes.Clone(value)
		return nil
	})
}

// StoreOrDefault is `store`, true when unset as in OpenAI's API.
func (r *CreateResponseRequest) StoreOrDefault() bool { return r.Store == nil || *r.Store }

// Includes reports whether `include` lists what.
func (r *CreateResponseRequest) Includes(what string) bool {
	for _, v := range r.Include {
		if v == what {
			return true
		}
	}
	return false
}

// IncludeEncryptedReasoning is the `include` value asking for reasoning
// items that carry encrypted_content.
const IncludeEncryptedReasoning = "reasoning.encrypted_content"

// ResponseInput is `input`: a string or a list of items.
type ResponseInput struct {
	Text    string
	Items   []ResponseItem
	IsItems bool
}

// UnmarshalJSON accepts a string, a list of items or null.
func (in *ResponseInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*in = ResponseInput{}
		return nil
	case b[0] == '"':
		*in = ResponseInput{}
		return json.Unmarshal(b, &in.Text)
	case b[0] == '[':
		*in = ResponseInput{IsItems: true}
		return json.Unmarshal(b, &in.Items)
	}
	return fmt.Errorf("input must be a string or an array of input items")
}

// MarshalJSON writes the form the input was given in.
func (in ResponseInput) MarshalJSON() ([]byte, error) {
	if in.IsItems {
		return json.Marshal(in.Items)
	}
	return json.Marshal(in.Text)
}

// ResponseTool is an entry of `tools`: a function, a custom (free-form) tool,
// a namespace grouping functions and custom tools, or a hosted tool
// (web_search, file_search, ...) the gateway cannot run.
type ResponseTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	// Format is a custom tool's input format (text or a grammar).
	Format json.RawMessage `json:"format,omitempty"`
	// Tools are a namespace's members.
	Tools []ResponseTool `json:"tools,omitempty"`

	// Raw is the tool as sent, for echoing hosted tools.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the tool and keeps it as sent in Raw.
func (t *ResponseTool) UnmarshalJSON(b []byte) error {
	type plain ResponseTool
	if err := json.Unmarshal(b, (*plain)(t)); err != nil {
		return err
	}
	t.Raw = bytes.Clone(b)
	return nil
}

// Echo is the tool as a response shows it: function tools with their
// (nullable) parameters and strict, namespaces with their members, other
// tools as sent.
func (t ResponseTool) Echo() json.RawMessage {
	null := json.RawMessage("null")
	switch t.Type {
	case "function":
		params, strict := t.Parameters, null
		if len(params) == 0 {
			params = null
		}
		if t.Strict != nil {
			strict, _ = json.Marshal(*t.Strict)
		}
		b, _ := json.Marshal(struct {
			Type        string          `json:"type"`
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Parameters  json.RawMessage `json:"parameters"`
			Strict      json.RawMessage `json:"strict"`
		}{t.Type, t.Name, t.Description, params, strict})
		return b
	case "namespace":
		members := make([]json.RawMessage, len(t.Tools))
		for i, m := range t.Tools {
			members[i] = m.Echo()
		}
		b, _ := json.Marshal(struct {
			Type        string            `json:"type"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			Tools       []json.RawMessage `json:"tools"`
		}{t.Type, t.Name, t.Description, members})
		return b
	}
	if len(t.Raw) > 0 {
		return t.Raw
	}
	b, _ := json.Marshal(t)
	return b
}

// ResponseToolChoice is `tool_choice`: "none", "auto", "required", or an
// object naming a function or custom tool ({"type":"function","name":...}),
// an allowed_tools list, or a hosted tool type.
type ResponseToolChoice struct {
	Mode string // none, auto, required, or the object's type
	Name string // for type function and custom
	Raw  json.RawMessage
}

// UnmarshalJSON accepts the string and the object forms.
func (t *ResponseToolChoice) UnmarshalJSON(b []byte) error {
	t.Raw = bytes.Clone(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &t.Mode); err != nil {
			return err
		}
		switch t.Mode {
		case "none", "auto", "required":
			return nil
		}
		return fmt.Errorf("tool_choice must be one of none, auto, required or an object, got %q", t.Mode)
	}
	var obj struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Mode string `json:"mode"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	if obj.Type == "" {
		return fmt.Errorf("tool_choice object needs a type")
	}
	t.Mode, t.Name = obj.Type, obj.Name
	if obj.Type == "allowed_tools" && obj.Mode == "required" {
		t.Mode = "required"
	}
	return nil
}

// MarshalJSON writes the choice as it was sent.
func (t ResponseToolChoice) MarshalJSON() ([]byte, error) {
	if len(t.Raw) > 0 {
		return t.Raw, nil
	}
	return json.Marshal(t.Mode)
}

// ResponseText is `text`: the output format.
type ResponseText struct {
	Format    *ResponseTextFormat `json:"format,omitempty"`
	Verbosity string              `json:"verbosity,omitempty"`
}

// ResponseTextFormat is `text.format`: text, json_object, or json_schema
// with its schema inline.
type ResponseTextFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ResponseReasoning is `reasoning`: effort and summary.
type ResponseReasoning struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

// ResponseItem is an input or output item. Type says which fields apply:
//   - message: Role, Content, Status (ID on output);
//   - function_call: CallID, Name, Namespace, Arguments;
//   - function_call_output: CallID, Output;
//   - custom_tool_call: CallID, Name, Namespace, Input;
//   - custom_tool_call_output: CallID, Output;
//   - reasoning: Summary, Content (reasoning_text parts), EncryptedContent;
//   - item_reference: ID.
//
// An input item without a type is a message (EasyInputMessage).
type ResponseItem struct {
	Type             string      `json:"type,omitempty"`
	ID               string      `json:"id,omitempty"`
	Status           string      `json:"status,omitempty"`
	Role             string      `json:"role,omitempty"`
	Content          ItemContent `json:"content,omitzero"`
	CallID           string      `json:"call_id,omitempty"`
	Name             string      `json:"name,omitempty"`
	Namespace        string      `json:"namespace,omitempty"`
	Arguments        string      `json:"arguments,omitempty"`
	Input            string      `json:"input,omitempty"`
	Output           ItemContent `json:"output,omitzero"`
	Summary          []ItemPart  `json:"summary,omitempty"`
	EncryptedContent *string     `json:"encrypted_content,omitempty"`
}

// MarshalJSON writes the fields the official schema requires for the item's
// type, including those that are empty.
func (it ResponseItem) MarshalJSON() ([]byte, error) {
	switch it.Type {
	case "message":
		content := it.Content
		content.IsParts = true
		if content.Parts == nil {
			content.Parts = []ItemPart{}
		}
		return json.Marshal(struct {
			ID      string      `json:"id,omitempty"`
			Type    string      `json:"type"`
			Status  string      `json:"status,omitempty"`
			Role    string      `json:"role"`
			Content ItemContent `json:"content"`
		}{it.ID, it.Type, it.Status, it.Role, content})
	case "function_call":
		return json.Marshal(struct {
			ID        string `json:"id,omitempty"`
			Type      string `json:"type"`
			Status    string `json:"status,omitempty"`
			CallID    string `json:"call_id"`
			Name      string `json:"name"`
			Namespace string `json:"namespace,omitempty"`
			Arguments string `json:"arguments"`
		}{it.ID, it.Type, it.Status, it.CallID, it.Name, it.Namespace, it.Arguments})
	case "custom_tool_call":
		return json.Marshal(struct {
			ID        string `json:"id,omitempty"`
			Type      string `json:"type"`
			CallID    string `json:"call_id"`
			Name      string `json:"name"`
			Namespace string `json:"namespace,omitempty"`
			Input     string `json:"input"`
		}{it.ID, it.Type, it.CallID, it.Name, it.Namespace, it.Input})
	case "reasoning":
		summary := it.Summary
		if summary == nil {
			summary = []ItemPart{}
		}
		var content *ItemContent
		if len(it.Content.Parts) > 0 {
			c := it.Content
			c.IsParts = true
			content = &c
		}
		return json.Marshal(struct {
			ID               string       `json:"id"`
			Type             string       `json:"type"`
			Status           string       `json:"status,omitempty"`
			Summary          []ItemPart   `json:"summary"`
			Content          *ItemContent `json:"content,omitempty"`
			EncryptedContent *string      `json:"encrypted_content,omitempty"`
		}{it.ID, it.Type, it.Status, summary, content, it.EncryptedContent})
	}
	type plain ResponseItem
	return json.Marshal(plain(it))
}

// ItemContent is a message's content or a tool output: a string or a list
// of parts.
type ItemContent struct {
	Text    string
	Parts   []ItemPart
	IsParts bool
}

// IsZero reports whether the content is absent (for omitzero).
func (c ItemContent) IsZero() bool { return !c.IsParts && c.Text == "" }

// UnmarshalJSON accepts a string, an array of parts or null.
func (c *ItemContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*c = ItemContent{}
		return nil
	case b[0] == '"':
		*c = ItemContent{}
		return json.Unmarshal(b, &c.Text)
	case b[0] == '[':
		*c = ItemContent{IsParts: true}
		return json.Unmarshal(b, &c.Parts)
	}
	return fmt.Errorf("content must be a string or an array of content parts")
}

// MarshalJSON writes the string form unless the content was given as parts.
func (c ItemContent) MarshalJSON() ([]byte, error) {
	if c.IsParts {
		if c.Parts == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(c.Parts)
	}
	return json.Marshal(c.Text)
}

// ItemPart is a content part: input_text, input_image, input_file,
// output_text, refusal, reasoning_text or summary_text.
type ItemPart struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	Refusal  string `json:"refusal,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
	Detail   string `json:"detail,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	FileData string `json:"file_data,omitempty"`
	FileURL  string `json:"file_url,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// MarshalJSON writes output_text with its (empty) annotations and logprobs,
// and text parts with their text even when empty, as the schema requires.
func (p ItemPart) MarshalJSON() ([]byte, error) {
	switch p.Type {
	case "output_text":
		return json.Marshal(struct {
			Type        string     `json:"type"`
			Text        string     `json:"text"`
			Annotations []struct{} `json:"annotations"`
			Logprobs    []struct{} `json:"logprobs"`
		}{p.Type, p.Text, []struct{}{}, []struct{}{}})
	case "input_text", "reasoning_text", "summary_text":
		return json.Marshal(struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}{p.Type, p.Text})
	case "refusal":
		return json.Marshal(struct {
			Type    string `json:"type"`
			Refusal string `json:"refusal"`
		}{p.Type, p.Refusal})
	}
	type plain ItemPart
	return json.Marshal(plain(p))
}

// Response is the response object (object "response") of POST /v1/responses,
// GET /v1/responses/{id}, and the response.* stream events.
type Response struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	CompletedAt        *int64             `json:"completed_at,omitempty"`
	Status             string             `json:"status"`
	Error              *ResponseError     `json:"error"`
	IncompleteDetails  *IncompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []ResponseItem     `json:"output"`
	OutputText         string             `json:"output_text,omitempty"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          *ResponseReasoning `json:"reasoning,omitempty"`
	Store              bool               `json:"store"`
	Temperature        *float64           `json:"temperature"`
	TopP               *float64           `json:"top_p"`
	Text               *ResponseText      `json:"text,omitempty"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              []json.RawMessage  `json:"tools"`
	Truncation         string             `json:"truncation,omitempty"`
	Usage              *ResponseUsage     `json:"usage,omitempty"`
	Metadata           map[string]string  `json:"metadata"`
	ServiceTier        string             `json:"service_tier,omitempty"`
	PromptCacheKey     string             `json:"prompt_cache_key,omitempty"`
}

// ResponseError is a failed response's `error`. Code is one of OpenAI's
// ResponseErrorCode values (server_error, rate_limit_exceeded, ...).
type ResponseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteDetails says why a response is incomplete: max_output_tokens
// or content_filter.
type IncompleteDetails struct {
	Reason string `json:"reason"`
}

// ResponseUsage is a response's token accounting. InputTokens includes the
// tokens read from and written to the prompt cache.
type ResponseUsage struct {
	InputTokens         int                 `json:"input_tokens"`
	InputTokensDetails  InputTokensDetails  `json:"input_tokens_details"`
	OutputTokens        int                 `json:"output_tokens"`
	OutputTokensDetails OutputTokensDetails `json:"output_tokens_details"`
	TotalTokens         int                 `json:"total_tokens"`
}

// InputTokensDetails splits the input tokens.
type InputTokensDetails struct {
	CachedTokens     int `json:"cached_tokens"`
	CacheWriteTokens int `json:"cache_write_tokens"`
}

// OutputTokensDetails splits the output tokens.
type OutputTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// ResponseItemList is the body of GET /v1/responses/{id}/input_items.
type ResponseItemList struct {
	Object  string         `json:"object"` // "list"
	Data    []ResponseItem `json:"data"`
	FirstID *string        `json:"first_id"`
	LastID  *string        `json:"last_id"`
	HasMore bool           `json:"has_more"`
}

// DeletedResponse is the body of DELETE /v1/responses/{id}.
type DeletedResponse struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "response"
	Deleted bool   `json:"deleted"`
}

// InputTokens is the body of POST /v1/responses/input_tokens.
type InputTokens struct {
	Object      string `json:"object"` // "response.input_tokens"
	InputTokens int    `json:"input_tokens"`
}
