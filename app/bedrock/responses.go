package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/openbedrock/gateway/app/openai"
)

// ResponsesTranslator turns OpenAI Responses requests into Bedrock Converse
// calls. It decodes the Responses input into the chat form and reuses the
// chat translation (history repair, images and files, tools, reasoning,
// structured output, prompt caching), so both APIs map to Bedrock alike.
type ResponsesTranslator struct {
	Chat *Translator
	// Sealer seals and opens reasoning encrypted_content.
	Sealer *ReasoningSealer
}

// ResponseCall is a Responses request translated for Bedrock, with what the
// encoder needs to give Bedrock's answer back in Responses terms.
type ResponseCall struct {
	*Call
	// Tools maps the flattened Bedrock tool names to the client's tools.
	Tools map[string]ToolRef
	// Dropped names the hosted tools left out (web_search, ...).
	Dropped []string
	// Warnings are problems the request survived (e.g. a reasoning item
	// whose encrypted_content could not be opened was dropped).
	Warnings []string
	// Summary streams reasoning as summary text (reasoning.summary was set)
	// rather than as reasoning text.
	Summary bool
	// Encrypted adds encrypted_content to reasoning items.
	Encrypted bool
	// Sealer seals encrypted_content.
	Sealer *ReasoningSealer
	// Now gives completed_at; nil means time.Now.
	Now func() time.Time
}

// ToolRef is how the client named a tool: its namespace, its name, and
// whether it is a custom (free-form text) tool.
type ToolRef struct {
	Namespace string
	Name      string
	Custom    bool
}

// customInputSchema is the parameters of the function a custom tool becomes:
// one string argument.
var customInputSchema = json.RawMessage(`{"type":"object","properties":{"input":{"type":"string","description":"The tool's input as free-form text."}},"required":["input"]}`)

// namespaceSeparator joins a namespace and a member's name into the one
// flat name Bedrock sees.
const namespaceSeparator = "__"

// Translate builds the Converse call for req against model m. Input items
// must already be resolved (previous_response_id and item_reference).
func (t *ResponsesTranslator) Translate(ctx context.Context, req *openai.CreateResponseRequest, m Model) (*ResponseCall, error) {
	rc := &ResponseCall{Tools: map[string]ToolRef{}, Sealer: t.Sealer, Encrypted: req.Includes(openai.IncludeEncryptedReasoning)}
	chat := &openai.ChatCompletionRequest{
		Model:               req.Model,
		Temperature:         req.Temperature,
		TopP:                req.TopP,
		MaxCompletionTokens: req.MaxOutputTokens,
		ParallelToolCalls:   req.ParallelToolCalls,
		ServiceTier:         req.ServiceTier,
		Stream:              req.Stream,
		Extra:               req.Extra,
	}
	if req.MaxOutputTokens != nil && *req.MaxOutputTokens < 1 {
		return nil, badRequest("max_output_tokens", "max_output_tokens must be at least 1")
	}
	if r := req.Reasoning; r != nil {
		if r.Effort != nil {
			switch e := *r.Effort; e {
			case "none", "minimal", "low", "medium", "high", "xhigh":
				chat.ReasoningEffort = e
			default:
				return nil, badRequest("reasoning.effort", "reasoning.effort must be one of none, minimal, low, medium, high, xhigh, got %q", e)
			}
		}
		rc.Summary = r.Summary != nil && *r.Summary != "" && *r.Summary != "none"
	}
	if err := rc.tools(req, chat); err != nil {
		return nil, err
	}
	if f := req.Text; f != nil && f.Format != nil {
		rf := &openai.ResponseFormat{Type: f.Format.Type}
		if f.Format.Type == "json_schema" {
			name := f.Format.Name
			if name == "" {
				name = "response"
			}
			rf.JSONSchema = &openai.JSONSchema{Name: name, Description: f.Format.Description, Schema: f.Format.Schema, Strict: f.Format.Strict}
		}
		chat.ResponseFormat = rf
	}
	msgs, err := rc.messages(req)
	if err != nil {
		return nil, err
	}
	chat.Messages = msgs
	call, err := t.Chat.Translate(ctx, chat, m)
	if err != nil {
		return nil, renameParam(err)
	}
	rc.Call = call
	return rc, nil
}

// renameParam points chat-side parameter names at their Responses names.
func renameParam(err error) error {
	re, ok := err.(*RequestError)
	if !ok {
		return err
	}
	out := *re
	for _, r := range [][2]string{
		{"max_completion_tokens", "max_output_tokens"}, {"max_tokens", "max_output_tokens"},
		{"messages", "input"}, {"response_format.json_schema", "text.format"}, {"response_format", "text.format"},
		{"reasoning_effort", "reasoning.effort"},
	} {
		if strings.HasPrefix(out.Param, r[0]) {
			out.Param = r[1] + strings.TrimPrefix(out.Param, r[0])
			out.Message = strings.ReplaceAll(out.Message, r[0], r[1])
			break
		}
	}
	return &out
}

// hostedTools are the tool types OpenAI runs itself; the gateway cannot, so
// it leaves them out and says so.
func isClientTool(typ string) bool { return typ == "function" || typ == "custom" || typ == "namespace" }

func (rc *ResponseCall) tools(req *openai.CreateResponseRequest, chat *openai.ChatCompletionRequest) error {
	add := func(field, namespace string, tl openai.ResponseTool) error {
		name := tl.Name
		if namespace != "" {
			name = namespace + namespaceSeparator + tl.Name
		}
		if tl.Name == "" {
			return badRequest(field+".name", "%s.name is required", field)
		}
		if !toolNameRE.MatchString(name) {
			return badRequest(field+".name", "%s.name %q must match ^[a-zA-Z0-9_-]{1,64}$ (after joining the namespace with %q)", field, name, namespaceSeparator)
		}
		if _, dup := rc.Tools[name]; dup {
			return badRequest(field+".name", "%s.name %q is defined twice", field, name)
		}
		fd := openai.FunctionDef{Name: name, Description: tl.Description, Parameters: tl.Parameters, Strict: tl.Strict}
		ref := ToolRef{Namespace: namespace, Name: tl.Name}
		switch tl.Type {
		case "function":
		case "custom":
			ref.Custom = true
			fd.Parameters, fd.Strict = customInputSchema, nil
			if len(tl.Format) > 0 {
				var format struct {
					Type       string `json:"type"`
					Syntax     string `json:"syntax"`
					Definition string `json:"definition"`
				}
				if json.Unmarshal(tl.Format, &format) == nil && format.Type == "grammar" {
					fd.Description = strings.TrimSpace(fd.Description + "\nThe input must follow this " + format.Syntax + " grammar:\n" + format.Definition)
				}
			}
		default:
			return badRequest(field+".type", "%s.type must be function or custom inside a namespace, got %q", field, tl.Type)
		}
		rc.Tools[name] = ref
		chat.Tools = append(chat.Tools, openai.Tool{Type: "function", Function: fd})
		return nil
	}
	for i, tl := range req.Tools {
		field := fmt.Sprintf("tools[%d]", i)
		switch tl.Type {
		case "function", "custom":
			if err := add(field, "", tl); err != nil {
				return err
			}
		case "namespace":
			if tl.Name == "" {
				return badRequest(field+".name", "%s.name is required", field)
			}
			for j, member := range tl.Tools {
				if err := add(fmt.Sprintf("%s.tools[%d]", field, j), tl.Name, member); err != nil {
					return err
				}
			}
		case "":
			return badRequest(field+".type", "%s.type is required", field)
		default:
			rc.Dropped = append(rc.Dropped, tl.Type)
		}
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Mode {
		case "none", "auto", "required":
			chat.ToolChoice = &openai.ToolChoice{Mode: tc.Mode}
		case "function", "custom":
			name := rc.flatName("", tc.Name)
			if _, ok := rc.Tools[name]; !ok {
				return badRequest("tool_choice", "tool_choice names %q, which is not in tools", tc.Name)
			}
			chat.ToolChoice = &openai.ToolChoice{Mode: "function", Function: name}
		default: // allowed_tools, or a hosted tool the gateway dropped
			chat.ToolChoice = &openai.ToolChoice{Mode: "auto"}
		}
	}
	return nil
}

// flatName is the Bedrock name of a client's tool. A name without a
// namespace that matches one member of a namespace resolves to it.
func (rc *ResponseCall) flatName(namespace, name string) string {
	if namespace != "" {
		return namespace + namespaceSeparator + name
	}
	if _, ok := rc.Tools[name]; ok {
		return name
	}
	found := ""
	for flat, ref := range rc.Tools {
		if ref.Name == name {
			if found != "" {
				return name // ambiguous: leave it
			}
			found = flat
		}
	}
	if found != "" {
		return found
	}
	return name
}

// messages decodes the instructions and input items into chat messages.
// Reasoning items are opened and their thinking blocks go with the assistant
// turn that follows them, where Bedrock expects them.
func (rc *ResponseCall) messages(req *openai.CreateResponseRequest) ([]openai.Message, error) {
	var msgs []openai.Message
	if strings.TrimSpace(req.Instructions) != "" {
		msgs = append(msgs, openai.Message{Role: "system", Content: openai.Content{Text: req.Instructions}})
	}
	if !req.Input.IsItems {
		if strings.TrimSpace(req.Input.Text) == "" && len(msgs) == 0 {
			return nil, badRequest("input", "input must not be empty")
		}
		return append(msgs, openai.Message{Role: "user", Content: openai.Content{Text: req.Input.Text}}), nil
	}
	var thinking []openai.ThinkingBlock
	assistant := func(m openai.Message) {
		m.Role, m.ThinkingBlocks, thinking = "assistant", thinking, nil
		msgs = append(msgs, m)
	}
	for i, it := range req.Input.Items {
		field := fmt.Sprintf("input[%d]", i)
		switch it.Type {
		case "", "message":
			m, err := messageItem(it, field)
			if err != nil {
				return nil, err
			}
			if m.Role == "assistant" {
				assistant(m)
				continue
			}
			msgs = append(msgs, m)
		case "function_call", "custom_tool_call":
			if it.CallID == "" || it.Name == "" {
				return nil, badRequest(field, "%s (%s) needs call_id and name", field, it.Type)
			}
			args := it.Arguments
			if it.Type == "custom_tool_call" {
				b, _ := json.Marshal(map[string]string{"input": it.Input})
				args = string(b)
			}
			assistant(openai.Message{ToolCalls: []openai.ToolCall{{ID: it.CallID, Type: "function",
				Function: openai.FunctionCall{Name: rc.flatName(it.Namespace, it.Name), Arguments: args}}}})
		case "function_call_output", "custom_tool_call_output":
			if it.CallID == "" {
				return nil, badRequest(field+".call_id", "%s.call_id is required", field)
			}
			content, err := toolOutput(it.Output, field+".output")
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, openai.Message{Role: "tool", ToolCallID: it.CallID, Content: content})
		case "reasoning":
			if it.EncryptedContent == nil || *it.EncryptedContent == "" {
				continue // a summary alone cannot be given back to the model
			}
			if rc.Sealer == nil {
				rc.Warnings = append(rc.Warnings, field+": encrypted_content dropped (no reasoning secret)")
				continue
			}
			blocks, err := rc.Sealer.Open(*it.EncryptedContent)
			if err != nil {
				rc.Warnings = append(rc.Warnings, field+": "+err.Error()+"; dropped")
				continue
			}
			thinking = append(thinking, blocks...)
		case "item_reference":
			return nil, badRequest(field+".id", "%s refers to item %q, which is not in this gateway instance's response store", field, it.ID)
		default:
			return nil, badRequest(field+".type", "%s.type %q is not supported; use message, function_call, function_call_output, custom_tool_call, custom_tool_call_output or reasoning", field, it.Type)
		}
	}
	return msgs, nil
}

func messageItem(it openai.ResponseItem, field string) (openai.Message, error) {
	m := openai.Message{Role: it.Role}
	switch it.Role {
	case "user", "system", "developer", "assistant":
	case "":
		return m, badRequest(field+".role", "%s.role is required", field)
	default:
		return m, badRequest(field+".role", "%s.role %q is not supported; use user, assistant, system or developer", field, it.Role)
	}
	if !it.Content.IsParts {
		m.Content = openai.Content{Text: it.Content.Text}
		return m, nil
	}
	m.Content = openai.Content{IsParts: true, Parts: make([]openai.ContentPart, 0, len(it.Content.Parts))}
	for j, p := range it.Content.Parts {
		pf := fmt.Sprintf("%s.content[%d]", field, j)
		var part openai.ContentPart
		switch p.Type {
		case "input_text", "output_text", "text":
			part = openai.ContentPart{Type: "text", Text: p.Text}
		case "refusal":
			part = openai.ContentPart{Type: "refusal", Refusal: p.Refusal}
			if it.Role != "assistant" {
				part = openai.ContentPart{Type: "text", Text: p.Refusal}
			}
		case "input_image":
			if p.ImageURL == "" {
				return m, badRequest(pf+".image_url", "%s.image_url is required (a data: or http(s) URL); file_id is not supported", pf)
			}
			part = openai.ContentPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: p.ImageURL, Detail: p.Detail}}
		case "input_file":
			if p.FileData == "" {
				return m, badRequest(pf+".file_data", "%s.file_data (a data: URL) is required; file_id and file_url are not supported", pf)
			}
			data := p.FileData
			if !strings.HasPrefix(data, "data:") {
				data = "data:" + fileMIME(p.Filename) + ";base64," + data
			}
			part = openai.ContentPart{Type: "file", File: &openai.File{FileData: data, Filename: p.Filename}}
		default:
			return m, badRequest(pf+".type", "%s.type %q is not supported; use input_text, input_image, input_file or output_text", pf, p.Type)
		}
		if it.Role == "system" || it.Role == "developer" || it.Role == "assistant" {
			if part.Type != "text" && part.Type != "refusal" {
				return m, badRequest(pf+".type", "%s: %s messages take text only, got %q", pf, it.Role, p.Type)
			}
		}
		m.Content.Parts = append(m.Content.Parts, part)
	}
	return m, nil
}

// fileMIME guesses a document's type from its name, for file_data sent as
// bare base64 (as the Responses API allows).
func fileMIME(name string) string {
	ext := strings.ToLower(name[strings.LastIndexByte(name, '.')+1:])
	for mt, f := range documentFormats {
		if string(f) == ext {
			return mt
		}
	}
	return "application/octet-stream"
}

// toolOutput turns a function_call_output's output (a string or parts) into
// the content of a chat tool message; only text reaches Bedrock's toolResult.
func toolOutput(c openai.ItemContent, field string) (openai.Content, error) {
	if !c.IsParts {
		return openai.Content{Text: c.Text}, nil
	}
	var parts []string
	for j, p := range c.Parts {
		switch p.Type {
		case "input_text", "output_text", "text":
			parts = append(parts, p.Text)
		default:
			return openai.Content{}, badRequest(fmt.Sprintf("%s[%d].type", field, j), "%s[%d]: tool outputs take text parts only, got %q", field, j, p.Type)
		}
	}
	return openai.Content{Text: strings.Join(parts, "\n")}, nil
}
