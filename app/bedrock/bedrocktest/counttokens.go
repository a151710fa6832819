package bedrocktest

import (
	"encoding/json"
	"strings"
)

// CountTokens (POST /model/{modelId}/count-tokens) counts the input tokens
// of an InvokeModel body (Anthropic models) or of Converse messages, the way
// the emulator reports them in usage: characters / 4 + 1, cached prefixes
// included. Models without token counting get Bedrock's ValidationException.

type countTokensRequest struct {
	Input *countTokensInput `json:"input"`
}

type countTokensInput struct {
	InvokeModel *invokeModelTokens    `json:"invokeModel"`
	Converse    *converseTokensFields `json:"converse"`
}

func (countTokensInput) isUnion() {}

type invokeModelTokens struct {
	Body []byte `json:"body"`
}

type converseTokensFields struct {
	Messages                     []message       `json:"messages"`
	System                       []systemBlock   `json:"system"`
	ToolConfig                   *toolConfig     `json:"toolConfig"`
	AdditionalModelRequestFields json.RawMessage `json:"additionalModelRequestFields"`
}

// countsTokens reports whether Bedrock counts tokens for the model: the
// Claude models from 3.5 Haiku on.
func countsTokens(m Model) bool {
	for _, f := range []string{"claude-3-5-haiku", "claude-3-5-sonnet", "claude-3-7-sonnet", "claude-sonnet-4", "claude-opus-4", "claude-haiku-4-5", "claude-sonnet-5", "claude-opus-5"} {
		if strings.Contains(m.ID, f) {
			return true
		}
	}
	return false
}

func (e *Emulator) countTokens(x *exchange) {
	m, ok := e.catalogue().resolve(x.req.ModelID)
	if !ok {
		writeError(x.w, validation("The provided model identifier is invalid."))
		return
	}
	if m.retired() {
		writeError(x.w, &apiError{Type: "ResourceNotFoundException", Message: EndOfLifeMessage})
		return
	}
	var req countTokensRequest
	if err := decodeStrict(x.req.Body, &req); err != nil {
		writeError(x.w, bodyError(err, (*shapeError).converseMessage))
		return
	}
	if req.Input == nil {
		writeError(x.w, validation("1 validation error detected: Value null at 'input' failed to satisfy constraint: Member must not be null"))
		return
	}
	if !countsTokens(m) {
		writeError(x.w, validation("The provided model doesn't support counting tokens."))
		return
	}
	var c *call
	var aerr *apiError
	if in := req.Input.InvokeModel; in != nil {
		c, aerr = parseAnthropic(in.Body, m, false, true)
	} else {
		cv := req.Input.Converse
		c, aerr = validateConverse(converseRequest{Messages: cv.Messages, System: cv.System, ToolConfig: cv.ToolConfig,
			AdditionalModelRequestFields: cv.AdditionalModelRequestFields}, m, false, "")
	}
	if aerr != nil {
		writeError(x.w, aerr)
		return
	}
	prompt, _, _ := promptText(c)
	e.finish(x, map[string]int{"inputTokens": len(prompt)/4 + 1})
}
