package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ChatCompletionRequest is the body of POST /v1/chat/completions.
//
// Fields OpenAI defines but Bedrock has no use for (seed, logprobs, user,
// metadata, ...) are listed in KnownChatFields and ignored. Every other
// top-level key is kept in Extra: the OpenAI SDKs put `extra_body` keys at the
// top level, and those are model-specific Bedrock fields such as `top_k`.
type ChatCompletionRequest struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Stop                StringList      `json:"stop,omitempty"`
	N                   *int            `json:"n,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          *ToolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	ServiceTier         string          `json:"service_tier,omitempty"`
	User                string          `json:"user,omitempty"`

	// Thinking is Anthropic's explicit thinking switch, e.g.
	// {"type":"enabled","budget_tokens":2048}; clients send it through extra_body.
	Thinking json.RawMessage `json:"thinking,omitempty"`
	// ExtraBody is the reference gateway's literal `extra_body` field; its keys
	// are treated like Extra.
	ExtraBody map[string]json.RawMessage `json:"extra_body,omitempty"`

	// Extra holds the top-level keys that are not OpenAI fields.
	Extra map[string]json.RawMessage `json:"-"`
}

// KnownChatFields are the top-level request keys OpenAI defines. Those the
// gateway does not translate are accepted and ignored rather than forwarded
// to Bedrock.
var KnownChatFields = map[string]bool{
	"model": true, "messages": true, "temperature": true, "top_p": true, "max_tokens": true,
	"max_completion_tokens": true, "stop": true, "n": true, "stream": true, "stream_options": true,
	"tools": true, "tool_choice": true, "parallel_tool_calls": true, "response_format": true,
	"reasoning_effort": true, "user": true, "thinking": true, "extra_body": true,
	"frequency_penalty": true, "presence_penalty": true, "logit_bias": true, "logprobs": true,
	"top_logprobs": true, "seed": true, "metadata": true, "store": true, "service_tier": true,
	"modalities": true, "audio": true, "prediction": true, "functions": true, "function_call": true,
	"web_search_options": true, "verbosity": true, "prompt_cache_key": true, "safety_identifier": true,
	"prompt_cache_retention": true,
}

// UnmarshalJSON decodes the request and collects unknown top-level keys in Extra.
func (r *ChatCompletionRequest) UnmarshalJSON(b []byte) error {
	type plain ChatCompletionRequest
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	// b is valid JSON now: walk its top-level keys instead of decoding it
	// a second time into a map (that second decode doubled the cost).
	return eachMember(b, func(key, value []byte) error {
		if bytes.IndexByte(key, '\\') < 0 && KnownChatFields[string(key[1:len(key)-1])] {
			return nil // the common case: no escapes, no allocation
		}
		var name string
		if err := json.Unmarshal(key, &name); err != nil { // escapes decoded as encoding/json does
			return err
		}
		if KnownChatFields[name] {
			return nil
		}
		if r.Extra == nil {
			r.Extra = make(map[string]json.RawMessage)
		}
		r.Extra[name] = bytes.Clone(value)
		return nil
	})
}

// eachMember calls fn with each raw (quoted) key and raw value of the JSON
// object b, in order; a repeated key is seen twice, so in a map the last
// one wins, as with encoding/json. b must be valid JSON; a top-level value
// other than an object has no members.
func eachMember(b []byte, fn func(key, value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] != '}' {
		end := skipValue(b, i) // the key: a string
		if end < 0 || b[i] != '"' {
			return errMalformed
		}
		key := b[i:end]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errMalformed
		}
		i = skipSpace(b, i+1)
		end = skipValue(b, i)
		if end < 0 {
			return errMalformed
		}
		if err := fn(key, b[i:end]); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return nil
}

var errMalformed = errors.New("malformed JSON object")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at b[i],
// or -1 if it is cut short.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		for i++; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end := skipValue(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for ; i < len(b); i++ { // number, true, false, null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// StreamOptions is `stream_options`.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage,omitempty"`
}

// Message is one entry of `messages`. Assistant messages sent back by clients
// may carry ReasoningContent and ThinkingBlocks from an earlier answer.
type Message struct {
	Role             string          `json:"role"`
	Content          Content         `json:"content"`
	Name             string          `json:"name,omitempty"`
	ToolCalls        []ToolCall      `json:"tool_calls,omitempty"`
	ToolCallID       string          `json:"tool_call_id,omitempty"`
	ReasoningContent string          `json:"reasoning_content,omitempty"`
	ThinkingBlocks   []ThinkingBlock `json:"thinking_blocks,omitempty"`
}

// Content is a message's content: a string, an array of parts, or null.
type Content struct {
	Text  string
	Parts []ContentPart
	// IsParts is true when the content was an array.
	IsParts bool
}

// UnmarshalJSON accepts a string, an array of parts or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*c = Content{}
		return nil
	case b[0] == '"':
		*c = Content{}
		return json.Unmarshal(b, &c.Text)
	case b[0] == '[':
		*c = Content{IsParts: true}
		return json.Unmarshal(b, &c.Parts)
	}
	return fmt.Errorf("content must be a string or an array of content parts")
}

// MarshalJSON writes the string form unless the content was given as parts.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.IsParts {
		return json.Marshal(c.Parts)
	}
	return json.Marshal(c.Text)
}

// ContentPart is one element of an array content: text, image_url, file,
// input_audio or refusal. CacheControl is Anthropic's prompt-caching marker,
// accepted on any part.
type ContentPart struct {
	Type         string        `json:"type"`
	Text         string        `json:"text,omitempty"`
	Refusal      string        `json:"refusal,omitempty"`
	ImageURL     *ImageURL     `json:"image_url,omitempty"`
	File         *File         `json:"file,omitempty"`
	InputAudio   *InputAudio   `json:"input_audio,omitempty"`
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// ImageURL is an `image_url` part's payload: a data: URL or an http(s) URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// UnmarshalJSON also accepts the bare-string form some clients send.
func (u *ImageURL) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &u.URL)
	}
	type plain ImageURL
	return json.Unmarshal(b, (*plain)(u))
}

// File is a `file` part's payload; FileData is a data: URL.
type File struct {
	FileData string `json:"file_data,omitempty"`
	FileID   string `json:"file_id,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// InputAudio is an `input_audio` part's payload.
type InputAudio struct {
	Data   string `json:"data"`
	Format string `json:"format"`
}

// CacheControl is Anthropic's `cache_control` marker: {"type":"ephemeral","ttl":"1h"}.
type CacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// ThinkingBlock carries a model's reasoning with the signature that lets the
// client send it back on the next turn (the convention LiteLLM uses).
// Type is "thinking" (Thinking + Signature) or "redacted_thinking" (Data).
type ThinkingBlock struct {
	Type      string `json:"type"`
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`
}

// ToolCall is an assistant's call of a function tool.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and carries its arguments as a JSON string.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// Tool is an entry of `tools`.
type Tool struct {
	Type     string      `json:"type"`
	Function FunctionDef `json:"function"`
	// CacheControl marks a cache point after this tool (Anthropic style).
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// FunctionDef describes a function tool; Parameters is a JSON Schema.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolChoice is `tool_choice`: "none", "auto", "required", or a named function.
type ToolChoice struct {
	Mode     string // none, auto, required, or "function" when Function is set
	Function string
}

// UnmarshalJSON accepts the string and the object forms.
func (t *ToolChoice) UnmarshalJSON(b []byte) error {
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
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	if obj.Function.Name == "" {
		return fmt.Errorf("tool_choice object must name a function: {\"type\":\"function\",\"function\":{\"name\":...}}")
	}
	*t = ToolChoice{Mode: "function", Function: obj.Function.Name}
	return nil
}

// MarshalJSON writes the form the choice was given in.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Mode == "function" {
		return json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": t.Function}})
	}
	return json.Marshal(t.Mode)
}

// ResponseFormat is `response_format`: text, json_object or json_schema.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is the payload of a json_schema response format.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// StringList is a field that OpenAI accepts as a string or an array of strings.
type StringList []string

// UnmarshalJSON accepts a string, an array of strings or null.
func (s *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = StringList{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

// ChatCompletion is the non-streaming response (object "chat.completion").
type ChatCompletion struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	Choices           []Choice `json:"choices"`
	Usage             *Usage   `json:"usage,omitempty"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
	// ServiceTier is the tier Bedrock served the request on.
	ServiceTier string `json:"service_tier,omitempty"`
}

// Choice is one answer of a ChatCompletion.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     *struct{}       `json:"logprobs"`
}

// ResponseMessage is the assistant message in a Choice. Content is null when
// the model only called tools. ReasoningContent and ThinkingBlocks are
// extensions common to OpenAI-compatible gateways.
type ResponseMessage struct {
	Role             string          `json:"role"`
	Content          *string         `json:"content"`
	Refusal          *string         `json:"refusal"`
	ToolCalls        []ToolCall      `json:"tool_calls,omitempty"`
	ReasoningContent string          `json:"reasoning_content,omitempty"`
	ThinkingBlocks   []ThinkingBlock `json:"thinking_blocks,omitempty"`
}

// Usage is the token accounting of a response.
type Usage struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails splits the prompt tokens. CacheWriteTokens is an
// extension: the tokens Bedrock wrote to the prompt cache; so is
// CacheWrite1hTokens, the part of them written with a 1-hour TTL.
type PromptTokensDetails struct {
	CachedTokens       int `json:"cached_tokens"`
	CacheWriteTokens   int `json:"cache_write_tokens,omitempty"`
	CacheWrite1hTokens int `json:"cache_write_1h_tokens,omitempty"`
}

// CompletionTokensDetails splits the completion tokens.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// ChatCompletionChunk is one streamed event (object "chat.completion.chunk").
type ChatCompletionChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage,omitempty"`
	// ServiceTier is the tier Bedrock served the stream on, known from its
	// metadata event: set on the usage chunk.
	ServiceTier string `json:"service_tier,omitempty"`
}

// ChunkChoice is a choice inside a chunk. FinishReason is null until the last
// content chunk.
type ChunkChoice struct {
	Index        int       `json:"index"`
	Delta        Delta     `json:"delta"`
	FinishReason *string   `json:"finish_reason"`
	Logprobs     *struct{} `json:"logprobs"`
}

// Delta is the incremental message of a chunk.
type Delta struct {
	Role             string          `json:"role,omitempty"`
	Content          *string         `json:"content,omitempty"`
	ReasoningContent *string         `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCallDelta `json:"tool_calls,omitempty"`
	ThinkingBlocks   []ThinkingBlock `json:"thinking_blocks,omitempty"`
}

// ToolCallDelta is a fragment of a tool call. ID, Type and the function name
// are set only on the first fragment of each call.
type ToolCallDelta struct {
	Index    int                `json:"index"`
	ID       string             `json:"id,omitempty"`
	Type     string             `json:"type,omitempty"`
	Function *FunctionCallDelta `json:"function,omitempty"`
}

// FunctionCallDelta is the function part of a ToolCallDelta.
type FunctionCallDelta struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}
