package bedrocktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// call is a validated Converse or ConverseStream request.
type call struct {
	req        converseRequest
	model      Model
	thinking   bool   // Anthropic extended thinking is enabled (with a budget)
	thinkingOn bool   // thinking is enabled or adaptive
	streamMode string // ConverseStream's guardrailConfig.streamProcessingMode
}

// thinkingConfig is additionalModelRequestFields.thinking for Anthropic models.
type thinkingConfig struct {
	Type         string `json:"type"`
	BudgetTokens *int   `json:"budget_tokens"`
}

// validateConverse applies the checks Bedrock (and, behind it, the model
// provider) makes, with messages worded like theirs. The order follows
// Bedrock's: request shape, then conversation, then model-specific rules.
func validateConverse(req converseRequest, m Model, stream bool, streamMode string) (*call, *apiError) {
	if !slices.Contains(m.OutputModalities, "TEXT") {
		return nil, validation("This action doesn't support the model that you provided. Try again with a supported text or chat model.")
	}
	if stream && !m.Streaming {
		return nil, validation("The model is unsupported for streaming. Try again with a model that supports streaming.")
	}
	c := &call{req: req, model: m, streamMode: streamMode}
	checks := []func(*call) *apiError{
		checkInferenceConfig,
		checkSystem,
		checkToolConfig,
		checkMessages,
		checkToolPairs,
		checkAdditionalFields,
		checkOutputConfig,
		checkSampling,
		checkCaching,
		checkThinkingHistory,
	}
	for _, check := range checks {
		if err := check(c); err != nil {
			return nil, err
		}
	}
	if err := checkGuardrail(c); err != nil {
		return nil, err
	}
	return c, nil
}

// modelError words an error the way Bedrock relays a provider's 400.
func modelError(format string, args ...any) *apiError {
	return validation("The model returned the following errors: "+format, args...)
}

// constraint words a Smithy constraint violation the way Coral does.
func constraint(value any, path, rule string) *apiError {
	if value == nil {
		return validation("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", path)
	}
	return validation("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, path, rule)
}

func checkInferenceConfig(c *call) *apiError {
	ic := c.req.InferenceConfig
	if ic == nil {
		return nil
	}
	if ic.MaxTokens != nil && *ic.MaxTokens < 1 {
		return constraint(*ic.MaxTokens, "inferenceConfig.maxTokens", "Member must have value greater than or equal to 1")
	}
	for _, p := range []struct {
		name string
		v    *float64
	}{{"temperature", ic.Temperature}, {"topP", ic.TopP}} {
		name, v := p.name, p.v
		if v == nil {
			continue
		}
		if *v < 0 {
			return constraint(*v, "inferenceConfig."+name, "Member must have value greater than or equal to 0")
		}
		if *v > 1 {
			return constraint(*v, "inferenceConfig."+name, "Member must have value less than or equal to 1")
		}
	}
	for i, s := range ic.StopSequences {
		if s == "" {
			return constraint(s, fmt.Sprintf("inferenceConfig.stopSequences.%d.member", i), "Member must have length greater than or equal to 1")
		}
	}
	return nil
}

func checkSystem(c *call) *apiError {
	for i, b := range c.req.System {
		if b.Text != nil && strings.TrimSpace(*b.Text) == "" {
			return validation("The text field in the SystemContentBlock object at system.%d is blank. Add text to the text field, and try again.", i)
		}
		if b.CachePoint != nil {
			if err := checkCachePoint(b.CachePoint, fmt.Sprintf("system.%d.member.cachePoint", i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkCachePoint(cp *cachePointBlock, path string) *apiError {
	if cp.Type != "default" {
		return constraint(cp.Type, path+".type", "Member must satisfy enum value set: [default]")
	}
	if cp.TTL != "" && cp.TTL != "5m" && cp.TTL != "1h" {
		return constraint(cp.TTL, path+".ttl", "Member must satisfy enum value set: [5m, 1h]")
	}
	return nil
}

func checkToolConfig(c *call) *apiError {
	tc := c.req.ToolConfig
	if tc == nil {
		return nil
	}
	if len(tc.Tools) == 0 {
		return constraint("[]", "toolConfig.tools", "Member must have length greater than or equal to 1")
	}
	var names []string
	for i, t := range tc.Tools {
		path := fmt.Sprintf("toolConfig.tools.%d.member", i)
		switch {
		case t.ToolSpec != nil:
			s := t.ToolSpec
			if s.Name == nil {
				return constraint(nil, path+".toolSpec.name", "")
			}
			if !validToolName(*s.Name) {
				return constraint(*s.Name, path+".toolSpec.name", "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+ and have length between 1 and 64")
			}
			if s.InputSchema == nil {
				return constraint(nil, path+".toolSpec.inputSchema", "")
			}
			if !isJSONObject(s.InputSchema.JSON) {
				return validation("The JSON schema of tool %s (toolConfig.tools.%d.toolSpec.inputSchema.json) must be a JSON object.", *s.Name, i)
			}
			if slices.Contains(names, *s.Name) {
				return modelError("tools: Tool names must be unique.")
			}
			names = append(names, *s.Name)
		case t.CachePoint != nil:
			if err := checkCachePoint(t.CachePoint, path+".cachePoint"); err != nil {
				return err
			}
		}
	}
	if ch := tc.ToolChoice; ch != nil && ch.Tool != nil && !slices.Contains(names, ch.Tool.Name) {
		return modelError("tool_choice: Tool '%s' not found in the provided tools.", ch.Tool.Name)
	}
	return nil
}

// validToolName matches Bedrock's ToolName pattern ^[a-zA-Z0-9_-]{1,64}$.
func validToolName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{' && json.Valid(raw)
}

func checkMessages(c *call) *apiError {
	msgs := c.req.Messages
	if len(msgs) == 0 {
		return validation("The messages field is empty. Add at least one message to the messages field and try again.")
	}
	for i, msg := range msgs {
		if msg.Role != "user" && msg.Role != "assistant" {
			return constraint(msg.Role, fmt.Sprintf("messages.%d.member.role", i), "Member must satisfy enum value set: [user, assistant]")
		}
		if i == 0 && msg.Role != "user" {
			return validation("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
		}
		if i > 0 && msg.Role == msgs[i-1].Role {
			return validation("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.")
		}
		if len(msg.Content) == 0 {
			return validation("The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		for j, b := range msg.Content {
			if err := c.checkBlock(i, j, msg.Role, b); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *call) checkBlock(i, j int, role string, b contentBlock) *apiError {
	at := fmt.Sprintf("messages.%d.content.%d", i, j)
	coral := fmt.Sprintf("messages.%d.member.content.%d.member", i, j)
	switch {
	case b.Text != nil:
		if strings.TrimSpace(*b.Text) == "" {
			return validation("The text field in the ContentBlock object at %s is blank. Add text to the text field, and try again.", at)
		}
	case b.Image != nil:
		return c.checkImage(b.Image, at, coral+".image")
	case b.Document != nil:
		return checkDocument(b.Document, at, coral+".document")
	case b.CachePoint != nil:
		return checkCachePoint(b.CachePoint, coral+".cachePoint")
	case b.ToolUse != nil:
		tu := b.ToolUse
		if role != "assistant" {
			return modelError("%s: `tool_use` blocks can only be in `assistant` messages.", at)
		}
		if tu.ToolUseID == nil || *tu.ToolUseID == "" {
			return constraint(nil, coral+".toolUse.toolUseId", "")
		}
		if tu.Name == nil || *tu.Name == "" {
			return constraint(nil, coral+".toolUse.name", "")
		}
		if !isJSONObject(tu.Input) {
			return modelError("%s.tool_use.input: Input should be a valid dictionary", at)
		}
	case b.ToolResult != nil:
		tr := b.ToolResult
		if role != "user" {
			return modelError("%s: `tool_result` blocks can only be in `user` messages.", at)
		}
		if tr.ToolUseID == nil || *tr.ToolUseID == "" {
			return constraint(nil, coral+".toolResult.toolUseId", "")
		}
		if tr.Status != "" && tr.Status != "success" && tr.Status != "error" {
			return constraint(tr.Status, coral+".toolResult.status", "Member must satisfy enum value set: [success, error]")
		}
		for k, rc := range tr.Content {
			rcAt := fmt.Sprintf("%s.toolResult.content.%d", at, k)
			rcCoral := fmt.Sprintf("%s.toolResult.content.%d.member", coral, k)
			switch {
			case rc.Image != nil:
				if err := c.checkImage(rc.Image, rcAt, rcCoral+".image"); err != nil {
					return err
				}
			case rc.Document != nil:
				if err := checkDocument(rc.Document, rcAt, rcCoral+".document"); err != nil {
					return err
				}
			}
		}
	case b.ReasoningContent != nil:
		rc := b.ReasoningContent
		if role != "assistant" {
			return modelError("%s: `thinking` blocks can only be in `assistant` messages.", at)
		}
		if c.model.isAnthropic() && rc.ReasoningText != nil && (rc.ReasoningText.Signature == nil || *rc.ReasoningText.Signature == "") {
			return modelError("%s.thinking.signature: Field required", at)
		}
	}
	return nil
}

func (c *call) checkImage(img *imageBlock, at, coral string) *apiError {
	if !c.model.accepts("IMAGE") {
		return validation("This model doesn't support images. Remove the image content block at %s and try again with a model that supports image input.", at)
	}
	if !slices.Contains([]string{"png", "jpeg", "gif", "webp"}, img.Format) {
		return constraint(img.Format, coral+".format", "Member must satisfy enum value set: [png, jpeg, gif, webp]")
	}
	if img.Source == nil {
		return constraint(nil, coral+".source", "")
	}
	if img.Source.S3Location == nil && len(img.Source.Bytes) == 0 {
		return validation("The image bytes at %s.image.source.bytes are empty. Provide the image data and try again.", at)
	}
	return nil
}

func checkDocument(d *documentBlock, at, coral string) *apiError {
	formats := []string{"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"}
	if !slices.Contains(formats, d.Format) {
		return constraint(d.Format, coral+".format", "Member must satisfy enum value set: ["+strings.Join(formats, ", ")+"]")
	}
	if d.Name == nil || *d.Name == "" {
		return constraint(nil, coral+".name", "")
	}
	if !validDocumentName(*d.Name) {
		return validation("The document file name at %s.document.name can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets. The name can't contain more than one consecutive whitespace character.", at)
	}
	if d.Source == nil {
		return constraint(nil, coral+".source", "")
	}
	if s := d.Source; s.S3Location == nil && s.Text == nil && s.Content == nil && len(s.Bytes) == 0 {
		return validation("The document bytes at %s.document.source.bytes are empty. Provide the document data and try again.", at)
	}
	return nil
}

// validDocumentName applies Bedrock's document name rule.
func validDocumentName(s string) bool {
	prevSpace := false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if space && prevSpace {
			return false
		}
		prevSpace = space
		if !(space || unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-()[]", r)) {
			return false
		}
	}
	return true
}

// checkToolPairs checks that tool blocks come with a toolConfig and that each
// assistant toolUse turn is answered by matching toolResults in the next turn.
func checkToolPairs(c *call) *apiError {
	msgs := c.req.Messages
	uses := func(m message) []string {
		var ids []string
		for _, b := range m.Content {
			if b.ToolUse != nil {
				ids = append(ids, *b.ToolUse.ToolUseID)
			}
		}
		return ids
	}
	hasTools := false
	for _, m := range msgs {
		for _, b := range m.Content {
			hasTools = hasTools || b.ToolUse != nil || b.ToolResult != nil
		}
	}
	if hasTools && (c.req.ToolConfig == nil || len(c.req.ToolConfig.Tools) == 0) {
		return validation("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
	}
	for i, m := range msgs {
		if m.Role != "user" {
			continue
		}
		var prev []string
		if i > 0 {
			prev = uses(msgs[i-1])
		}
		var results []string
		for j, b := range m.Content {
			if b.ToolResult == nil {
				continue
			}
			id := *b.ToolResult.ToolUseID
			if !slices.Contains(prev, id) {
				return modelError("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", i, j, id)
			}
			results = append(results, id)
		}
		if len(results) > len(prev) {
			return validation("The number of toolResult blocks at messages.%d.content exceeds the number of toolUse blocks of previous turn.", i)
		}
		if len(results) < len(prev) {
			var missing []string
			for _, id := range prev {
				if !slices.Contains(results, id) {
					missing = append(missing, id)
				}
			}
			return validation("Expected toolResult blocks at messages.%d.content for the following Ids: %s", i, strings.Join(missing, ", "))
		}
	}
	return nil
}

// checkAdditionalFields checks additionalModelRequestFields, in particular
// Anthropic's extended-thinking configuration.
func checkAdditionalFields(c *call) *apiError {
	raw := bytes.TrimSpace(c.req.AdditionalModelRequestFields)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return validation("The additionalModelRequestFields field must be a JSON object.")
	}
	f := featuresOf(c.model.ID)
	if oc, ok := fields["output_config"]; ok {
		var v struct {
			Effort string `json:"effort"`
		}
		if !f.effort {
			return modelError("output_config: Extra inputs are not permitted")
		}
		if err := decodeStrict(oc, &v); err != nil || !slices.Contains([]string{"low", "medium", "high", "xhigh", "max"}, v.Effort) {
			return modelError("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'")
		}
	}
	th, ok := fields["thinking"]
	if !ok {
		return nil
	}
	if !c.model.isAnthropic() {
		return modelError("Malformed input request: #: extraneous key [thinking] is not permitted, please reformat your input and try again.")
	}
	if !supportsThinking(c.model.ID) {
		return modelError("thinking: Extra inputs are not permitted")
	}
	var tc thinkingConfig
	if err := decodeStrict(th, &tc); err != nil {
		return modelError("thinking: %v", err)
	}
	switch {
	case tc.Type == "adaptive" && f.adaptive:
		if tc.BudgetTokens != nil {
			return modelError("thinking.adaptive.budget_tokens: Extra inputs are not permitted")
		}
		c.thinkingOn = true
		return checkThinkingSampling(c, fields)
	case tc.Type == "adaptive":
		return modelError("thinking.type: Input should be 'enabled' or 'disabled'")
	case f.adaptiveOnly && (tc.Type == "enabled" || tc.Type == "disabled"):
		return modelError("thinking.type: '%s' is not supported for this model. Use thinking.type 'adaptive' with output_config.effort to control thinking.", tc.Type)
	case tc.Type == "disabled":
		return nil
	case tc.Type != "enabled":
		return modelError("thinking.type: Input should be 'enabled' or 'disabled'")
	}
	c.thinking, c.thinkingOn = true, true
	if tc.BudgetTokens == nil {
		return modelError("thinking.enabled.budget_tokens: Field required")
	}
	if *tc.BudgetTokens < 1024 {
		return modelError("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
	}
	ic := c.req.InferenceConfig
	if ic != nil && ic.MaxTokens != nil && *tc.BudgetTokens >= *ic.MaxTokens {
		return modelError("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size")
	}
	return checkThinkingSampling(c, fields)
}

// checkThinkingSampling applies the sampling and tool-choice limits of
// thinking, enabled or adaptive.
func checkThinkingSampling(c *call, fields map[string]json.RawMessage) *apiError {
	ic := c.req.InferenceConfig
	if ic != nil && ic.Temperature != nil && *ic.Temperature != 1 {
		return modelError("`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility")
	}
	if ic != nil && ic.TopP != nil {
		return modelError("`top_p` must be unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility")
	}
	if _, ok := fields["top_k"]; ok {
		return modelError("`top_k` must be unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility")
	}
	if tcfg := c.req.ToolConfig; tcfg != nil && tcfg.ToolChoice != nil && (tcfg.ToolChoice.Any != nil || tcfg.ToolChoice.Tool != nil) {
		return modelError("Thinking may not be enabled when tool_choice forces tool use.")
	}
	return nil
}

// supportsThinking reports whether an Anthropic model has extended thinking.
func supportsThinking(id string) bool {
	for _, f := range []string{"claude-3-7-sonnet", "claude-sonnet-4", "claude-opus-4", "claude-haiku-4-5", "claude-sonnet-5"} {
		if strings.Contains(id, f) {
			return true
		}
	}
	return false
}

// checkSampling rejects temperature together with topP on the models that
// refuse it.
func checkSampling(c *call) *apiError {
	ic := c.req.InferenceConfig
	if ic == nil || ic.Temperature == nil || ic.TopP == nil {
		return nil
	}
	for _, f := range []string{"claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5", "claude-sonnet-4-6", "claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5"} {
		if strings.Contains(c.model.ID, f) {
			return modelError("`temperature` and `top_p` cannot both be specified for this model. Please use only one.")
		}
	}
	return nil
}

// checkThinkingHistory applies Anthropic's rule that, with thinking enabled,
// the final assistant turn that calls tools must start with its thinking.
func checkThinkingHistory(c *call) *apiError {
	if !c.thinking {
		return nil
	}
	for i := len(c.req.Messages) - 1; i >= 0; i-- {
		m := c.req.Messages[i]
		if m.Role != "assistant" {
			continue
		}
		toolAt := slices.IndexFunc(m.Content, func(b contentBlock) bool { return b.ToolUse != nil })
		if toolAt < 0 || m.Content[0].ReasoningContent != nil {
			return nil
		}
		found := "text"
		if m.Content[0].ToolUse != nil {
			found = "tool_use"
		}
		return modelError("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%s`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking", i, found)
	}
	return nil
}

// checkCaching rejects cachePoint blocks on models without prompt caching.
func checkCaching(c *call) *apiError {
	used, oneHour := false, false
	see := func(cp *cachePointBlock) {
		if cp != nil {
			used, oneHour = true, oneHour || cp.TTL == "1h"
		}
	}
	for _, b := range c.req.System {
		see(b.CachePoint)
	}
	if tc := c.req.ToolConfig; tc != nil {
		for _, t := range tc.Tools {
			see(t.CachePoint)
		}
	}
	for _, m := range c.req.Messages {
		for _, b := range m.Content {
			see(b.CachePoint)
		}
	}
	if used && !supportsCaching(c.model.ID) {
		return validation("You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information.")
	}
	if oneHour && !featuresOf(c.model.ID).cacheTTL1h {
		return validation("The model doesn't support a cache point TTL of 1h. Use 5m, or omit ttl, and try again.")
	}
	return nil
}

// supportsCaching reports whether a model accepts cachePoint blocks.
func supportsCaching(id string) bool {
	if strings.HasPrefix(id, "amazon.nova-") {
		return true
	}
	for _, f := range []string{"claude-3-5-haiku", "claude-3-7-sonnet", "claude-sonnet-4", "claude-opus-4", "claude-haiku-4-5", "claude-sonnet-5"} {
		if strings.Contains(id, f) {
			return true
		}
	}
	return false
}
