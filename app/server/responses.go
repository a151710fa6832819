package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai"
)

// Headers of the Responses routes.
const (
	// DroppedToolsHeader names the hosted tools (web_search, ...) left out
	// of a request because the gateway cannot run them.
	DroppedToolsHeader = "X-Gateway-Dropped-Tools"
	// WarningHeader carries problems a request survived, such as reasoning
	// encrypted_content that did not open and was dropped.
	WarningHeader = "X-Gateway-Warning"
)

// newID returns an OpenAI-style id: prefix, underscore, 24 random hex bytes.
func newID(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // never fails
	return prefix + "_" + hex.EncodeToString(b[:])
}

// handleResponses serves POST {prefix}/responses.
func (s *Server) handleResponses(c *gin.Context) {
	var req openai.CreateResponseRequest
	if err := decodeJSON(c.Request.Body, &req); err != nil {
		s.writeError(c, err)
		return
	}
	p, err := s.prepareResponse(c, &req)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ex, key, model, input := exchange(c), p.key, p.model, p.input
	bedrock.TagRequest(p.call.Input, ex.RequestID)
	base := responseBase(&req, model)
	store := req.StoreOrDefault() && !s.opts.ResponseStore.Off
	base.Store = store
	keep := func(r *openai.Response) {
		if store {
			s.store.put(&storedResponse{id: r.ID, key: key, response: r, input: input, previous: req.PreviousResponseID})
		}
	}
	if req.Stream {
		s.streamResponse(c, p, base, keep)
		return
	}

	upstreamStart := time.Now()
	var resp *openai.Response
	_, err = s.withFailover(c, model, req.Model, s.resolveModel, func(ctx context.Context, m bedrock.Model) error {
		rc, err := s.responseCall(ctx, p, m)
		if err != nil {
			return err
		}
		out, err := s.bedrock.Converse(ctx, rc.Input)
		if err != nil {
			return err
		}
		ex.Usage, ex.ServiceTier = openAIUsage(bedrock.Usage(out.Usage)), bedrock.ServedTier(out.ServiceTier)
		b := base
		if m.ID != model.ID {
			b.Model = m.ID // the model that answered, not the one asked for
		}
		resp = rc.Complete(out, b, newID)
		return nil
	})
	ex.Upstream = time.Since(upstreamStart)
	if err != nil {
		s.writeError(c, err)
		return
	}
	keep(resp)
	setOverhead(c, ex)
	c.JSON(http.StatusOK, resp)
}

// preparedResponse is a Responses request resolved and translated.
type preparedResponse struct {
	key   string // the API key's name, which owns stored responses
	model bedrock.Model
	call  *bedrock.ResponseCall
	input []openai.ResponseItem // the request's own input items, with ids
	// resolved is the request with its previous response and item
	// references in, as translated; a fallback model gets it translated anew.
	resolved  *openai.CreateResponseRequest
	requestID string
}

// responseCall is p's call for model m: the prepared one for the request's
// model, a new translation for a fallback model (MODEL_FALLBACKS).
func (s *Server) responseCall(ctx context.Context, p *preparedResponse, m bedrock.Model) (*bedrock.ResponseCall, error) {
	if m.ID == p.model.ID {
		return p.call, nil
	}
	rc, err := s.responses.Translate(ctx, p.resolved, m)
	if err != nil {
		return nil, err
	}
	bedrock.TagRequest(rc.Input, p.requestID)
	return rc, nil
}

// prepareResponse resolves the model, previous_response_id and item
// references, translates the request for Bedrock and sets the headers naming
// dropped tools and dropped reasoning.
func (s *Server) prepareResponse(c *gin.Context, req *openai.CreateResponseRequest) (*preparedResponse, error) {
	model, err := s.resolveModel(req.Model)
	if err != nil {
		return nil, err
	}
	ex := exchange(c)
	setModel(c, ex, model)
	p := &preparedResponse{key: c.GetString(ctxKeyName), model: model}

	p.input = req.Input.Items
	if !req.Input.IsItems {
		p.input = []openai.ResponseItem{{Type: "message", Role: "user", Content: openai.ItemContent{IsParts: true,
			Parts: []openai.ItemPart{{Type: "input_text", Text: req.Input.Text}}}}}
	}
	p.input = withIDs(p.input)
	full := p.input
	if req.PreviousResponseID != "" {
		prev, ok := s.store.context(p.key, req.PreviousResponseID)
		if !ok {
			return nil, errResponseNotFound(req.PreviousResponseID, "previous_response_id")
		}
		full = append(prev, p.input...)
	}
	full, err = s.resolveReferences(p.key, full)
	if err != nil {
		return nil, err
	}
	resolved := *req
	resolved.Input = openai.ResponseInput{Items: full, IsItems: true}
	if !req.Input.IsItems && req.PreviousResponseID == "" {
		resolved.Input = req.Input
	}

	ctx := c.Request.Context()
	p.resolved, p.requestID = &resolved, ex.RequestID
	p.call, err = s.responses.Translate(ctx, &resolved, model)
	if err != nil {
		return nil, err
	}
	if len(p.call.Dropped) > 0 {
		c.Header(DroppedToolsHeader, strings.Join(p.call.Dropped, ", "))
		s.log.InfoContext(ctx, "hosted tools dropped", "tools", p.call.Dropped, "request_id", ex.RequestID)
	}
	if len(p.call.Warnings) > 0 {
		c.Header(WarningHeader, strings.Join(p.call.Warnings, "; "))
		s.log.WarnContext(ctx, "responses request repaired", "warnings", p.call.Warnings, "request_id", ex.RequestID)
	}
	return p, nil
}

// handleResponseInputTokens serves POST {prefix}/responses/input_tokens:
// Bedrock's CountTokens on the translated request where the model supports
// it, else the gateway's estimate (X-Gateway-Token-Count: estimate).
func (s *Server) handleResponseInputTokens(c *gin.Context) {
	var req openai.CreateResponseRequest
	if err := decodeJSON(c.Request.Body, &req); err != nil {
		s.writeError(c, err)
		return
	}
	p, err := s.prepareResponse(c, &req)
	if err != nil {
		s.writeError(c, err)
		return
	}
	n, err := s.bedrock.CountConverseTokens(bedrockContext(c, exchange(c)), p.call.Input)
	source := "bedrock"
	if err != nil {
		if !bedrock.CountTokensUnsupported(err) {
			s.writeError(c, err)
			return
		}
		b, _ := json.Marshal(struct {
			System   any `json:"system"`
			Messages any `json:"messages"`
			Tools    any `json:"tools"`
		}{req.Instructions, full(req.Input), req.Tools})
		if n, err = s.tokenizer.Count(string(b)); err != nil {
			s.writeError(c, err)
			return
		}
		source = "estimate"
	}
	c.Header(TokenCountHeader, source)
	c.JSON(http.StatusOK, openai.InputTokens{Object: "response.input_tokens", InputTokens: n})
}

// full is the input as the estimate counts it.
func full(in openai.ResponseInput) any {
	if in.IsItems {
		return in.Items
	}
	return in.Text
}

// withIDs gives input items without one an id, as OpenAI lists them.
func withIDs(items []openai.ResponseItem) []openai.ResponseItem {
	out := make([]openai.ResponseItem, len(items))
	for i, it := range items {
		if it.Type == "" && it.Role == "" && it.ID != "" {
			it.Type = "item_reference" // its type is optional
		}
		if it.ID == "" && it.Type != "item_reference" {
			switch it.Type {
			case "", "message":
				it.ID = newID("msg")
			case "function_call_output", "custom_tool_call_output":
				it.ID = newID("fco")
			case "function_call":
				it.ID = newID("fc")
			case "custom_tool_call":
				it.ID = newID("ctc")
			case "reasoning":
				it.ID = newID("rs")
			}
		}
		if it.Type == "" {
			it.Type = "message"
		}
		out[i] = it
	}
	return out
}

// resolveReferences replaces item_reference items with the stored items
// they name, searched in the key's stored responses' inputs and outputs.
func (s *Server) resolveReferences(key string, items []openai.ResponseItem) ([]openai.ResponseItem, error) {
	for i, it := range items {
		if it.Type != "item_reference" {
			continue
		}
		found, ok := s.store.item(key, it.ID)
		if !ok {
			e := newError(kindNotFound, "item_not_found", fmt.Sprintf("Item %q was not found in this gateway instance's response store (it is in memory, per instance; on Lambda every instance has its own).", it.ID))
			e.Param = fmt.Sprintf("input[%d].id", i)
			return nil, e
		}
		items[i] = found
	}
	return items, nil
}

// responseBase is the response as the request configured it, before output.
func responseBase(req *openai.CreateResponseRequest, m bedrock.Model) openai.Response {
	name := req.Model
	if name == "" {
		name = m.ID
	}
	r := openai.Response{
		ID: newID("resp"), CreatedAt: time.Now().Unix(), Model: name,
		MaxOutputTokens: req.MaxOutputTokens, Temperature: req.Temperature, TopP: req.TopP,
		ParallelToolCalls: req.ParallelToolCalls == nil || *req.ParallelToolCalls,
		Reasoning:         req.Reasoning, Text: req.Text, Metadata: req.Metadata,
		ToolChoice: json.RawMessage(`"auto"`), Tools: []json.RawMessage{}, Truncation: "disabled",
		ServiceTier: req.ServiceTier, PromptCacheKey: req.PromptCacheKey,
	}
	if r.Metadata == nil {
		r.Metadata = map[string]string{}
	}
	if req.Instructions != "" {
		r.Instructions = &req.Instructions
	}
	if req.PreviousResponseID != "" {
		r.PreviousResponseID = &req.PreviousResponseID
	}
	if req.ToolChoice != nil {
		r.ToolChoice, _ = json.Marshal(req.ToolChoice)
	}
	if r.Text == nil {
		r.Text = &openai.ResponseText{Format: &openai.ResponseTextFormat{Type: "text"}}
	}
	if r.ServiceTier == "" {
		r.ServiceTier = "default"
	}
	for _, t := range req.Tools {
		r.Tools = append(r.Tools, t.Echo())
	}
	return r
}

// streamResponse answers with the Responses event stream, forwarding each
// Bedrock event as it arrives. An exception before the first event is a
// real HTTP error; one after it ends the stream with an error event and
// response.failed. A client that disconnects cancels the Bedrock call.
func (s *Server) streamResponse(c *gin.Context, p *preparedResponse, base openai.Response, keep func(*openai.Response)) {
	ex := exchange(c)
	ctx := bedrockContext(c, ex)
	upstreamStart := time.Now()
	var stream *bedrock.EventStream
	var rc *bedrock.ResponseCall
	served, err := s.withFailover(c, p.model, base.Model, s.resolveModel, func(ctx context.Context, m bedrock.Model) (err error) {
		if rc, err = s.responseCall(ctx, p, m); err != nil {
			return err
		}
		stream, err = s.bedrock.ConverseStream(ctx, rc.StreamInput())
		return err
	})
	ex.Upstream = time.Since(upstreamStart)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if served.ID != p.model.ID {
		base.Model = served.ID // the model that answered, not the one asked for
	}
	defer stream.Close()
	ex.Stream = true
	s.opts.Observer.StreamStarted(ex)

	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	setOverhead(c, ex)
	ex.TTFT = time.Since(ex.Start)
	c.Status(http.StatusOK)
	w := &eventWriter{w: c.Writer}
	stream.FlushWhenIdle(w.flush)
	defer w.flush()
	enc := rc.NewResponseStream(base, newID)
	defer func() { ex.Usage, ex.ServiceTier = openAIUsage(bedrock.Usage(enc.Usage())), enc.Tier() }()

	if err := w.send(enc.Start()); err != nil {
		return
	}
	for ev := range stream.Events() {
		if err := w.send(enc.Event(ev)); err != nil {
			return // the client went away; closing the stream ends the Bedrock call
		}
	}
	if err := stream.Err(); err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return // the client went away: nobody to tell
		}
		ae := s.failure(c, err)
		_ = w.send(enc.Fail(responseErrorCode(ae), ae.Message))
		keep(enc.Response())
		return
	}
	_ = w.send(enc.Finish())
	keep(enc.Response())
}

// responseErrorCode picks the ResponseErrorCode for a failed response.
func responseErrorCode(ae *apiError) string {
	if ae.kind == kindRateLimited {
		return "rate_limit_exceeded"
	}
	return "server_error"
}

// eventWriter writes Responses stream events (`event:` and `data:` lines).
// They are flushed when the Bedrock stream has no other event ready
// (EventStream.FlushWhenIdle) and when the handler returns.
type eventWriter struct {
	w   gin.ResponseWriter
	buf bytes.Buffer
}

func (e *eventWriter) send(events []openai.StreamEvent) error {
	if len(events) == 0 {
		return nil
	}
	e.buf.Reset()
	enc := json.NewEncoder(&e.buf)
	enc.SetEscapeHTML(false)
	for _, ev := range events {
		e.buf.WriteString("event: ")
		e.buf.WriteString(ev.EventType())
		e.buf.WriteString("\ndata: ")
		if err := enc.Encode(ev); err != nil {
			return err
		}
		e.buf.WriteByte('\n')
	}
	_, err := e.w.Write(e.buf.Bytes())
	return err
}

// flush sends what was written.
func (e *eventWriter) flush() { e.w.Flush() }

// errResponseNotFound is the 404 for an id the store does not hold.
func errResponseNotFound(id, param string) *apiError {
	e := newError(kindNotFound, "response_not_found", fmt.Sprintf("Response %q was not found. Responses are kept in memory by the gateway instance that created them, for a limited time, and only for the API key that created them; on Lambda every instance has its own store. Send the conversation as input items instead (with store: false and include: [\"reasoning.encrypted_content\"] for reasoning).", id))
	e.Param = param
	return e
}

// handleGetResponse serves GET {prefix}/responses/{id}.
func (s *Server) handleGetResponse(c *gin.Context) {
	e, ok := s.store.get(c.GetString(ctxKeyName), c.Param("id"))
	if !ok {
		s.writeError(c, errResponseNotFound(c.Param("id"), "response_id"))
		return
	}
	c.JSON(http.StatusOK, e.response)
}

// handleDeleteResponse serves DELETE {prefix}/responses/{id}.
func (s *Server) handleDeleteResponse(c *gin.Context) {
	id := c.Param("id")
	if !s.store.delete(c.GetString(ctxKeyName), id) {
		s.writeError(c, errResponseNotFound(id, "response_id"))
		return
	}
	c.JSON(http.StatusOK, openai.DeletedResponse{ID: id, Object: "response", Deleted: true})
}

// handleResponseInputItems serves GET {prefix}/responses/{id}/input_items:
// the request's own input items, newest first unless order=asc.
func (s *Server) handleResponseInputItems(c *gin.Context) {
	e, ok := s.store.get(c.GetString(ctxKeyName), c.Param("id"))
	if !ok {
		s.writeError(c, errResponseNotFound(c.Param("id"), "response_id"))
		return
	}
	items := append([]openai.ResponseItem{}, e.input...)
	if c.Query("order") != "asc" {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	list := openai.ResponseItemList{Object: "list", Data: items}
	if len(items) > 0 {
		list.FirstID, list.LastID = &items[0].ID, &items[len(items)-1].ID
	}
	c.JSON(http.StatusOK, list)
}
