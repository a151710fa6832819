package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/anthropic"
	"github.com/openbedrock/gateway/app/bedrock"
)

// handleCountTokens serves POST {prefix}/messages/count_tokens: Bedrock's
// CountTokens for the Claude models that have it, else an estimate from the
// embedded tokenizer (cl100k_base over the request's text), marked with
// TokenCountHeader: estimate.
func (s *Server) handleCountTokens(c *gin.Context) {
	body, err := requestBody(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var req anthropic.MessagesRequest
	if err := decodeJSON(bytes.NewReader(body), &req); err != nil {
		s.writeError(c, err)
		return
	}
	model, err := s.resolveAnthropicModel(req.Model)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ex := exchange(c)
	setModel(c, ex, model)
	if model.IsClaude() {
		kept, _ := bedrock.BedrockBetas(c.Request.Header.Values("anthropic-beta"), model)
		invoke, err := bedrock.AnthropicInvokeBody(withMaxTokens(body, req), kept)
		if err != nil {
			s.writeError(c, err)
			return
		}
		n, err := s.bedrock.CountTokens(bedrockContext(c, ex), model.ID, invoke)
		if err == nil {
			c.Header(TokenCountHeader, "bedrock")
			c.JSON(http.StatusOK, anthropic.CountTokensResponse{InputTokens: n})
			return
		}
		if !bedrock.CountTokensUnsupported(err) {
			s.writeError(c, err)
			return
		}
	}
	n, err := s.estimateTokens(&req)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Header(TokenCountHeader, "estimate")
	c.JSON(http.StatusOK, anthropic.CountTokensResponse{InputTokens: n})
}

// withMaxTokens adds the max_tokens an InvokeModel body needs and a
// count_tokens body lacks: above a thinking budget, which must stay below it.
func withMaxTokens(body []byte, req anthropic.MessagesRequest) []byte {
	if req.MaxTokens > 0 {
		return body
	}
	n := 1
	if req.Thinking != nil && req.Thinking.BudgetTokens > 0 {
		n = req.Thinking.BudgetTokens + 1
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return body // AnthropicInvokeBody reports it
	}
	members["max_tokens"], _ = json.Marshal(n)
	out, err := json.Marshal(members)
	if err != nil {
		return body
	}
	return out
}

// estimateTokens counts the cl100k_base tokens of the request's text: the
// system prompt, the messages' text, tool inputs and results, and the tools.
func (s *Server) estimateTokens(req *anthropic.MessagesRequest) (int, error) {
	var b strings.Builder
	b.WriteString(anthropic.TextOf(req.System))
	var add func(c anthropic.Content)
	add = func(c anthropic.Content) {
		for _, blk := range c {
			b.WriteString(blk.Text)
			b.WriteString(blk.Thinking)
			b.Write(blk.Input)
			add(blk.Content)
		}
	}
	for _, m := range req.Messages {
		add(m.Content)
	}
	for _, t := range req.Tools {
		b.WriteString(t.Name)
		b.WriteString(t.Description)
		b.Write(t.InputSchema)
	}
	return s.tokenizer.Count(b.String())
}
