package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai"
)

// handleChat serves POST {prefix}/chat/completions.
func (s *Server) handleChat(c *gin.Context) {
	var req openai.ChatCompletionRequest
	if err := decodeJSON(c.Request.Body, &req); err != nil {
		s.writeError(c, err)
		return
	}
	model, err := s.resolveModel(req.Model)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ex := exchange(c)
	setModel(c, ex, model)
	call, err := s.opts.Translator.Translate(c.Request.Context(), &req, model)
	if err != nil {
		s.writeError(c, err)
		return
	}
	bedrock.TagRequest(call.Input, ex.RequestID)
	name := req.Model
	if name == "" {
		name = model.ID
	}
	// translate makes the call for the model that serves: a fallback
	// model (MODEL_FALLBACKS) gets the request translated for it.
	translate := func(ctx context.Context, m bedrock.Model) (*bedrock.Call, error) {
		if m.ID == model.ID {
			return call, nil
		}
		fc, err := s.opts.Translator.Translate(ctx, &req, m)
		if err != nil {
			return nil, err
		}
		bedrock.TagRequest(fc.Input, ex.RequestID)
		return fc, nil
	}
	id, created := completionID(), time.Now().Unix()
	if req.Stream {
		s.streamChat(c, model, name, translate, id, created, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}

	var out openai.ChatCompletion
	upstreamStart := time.Now()
	served, err := s.withFailover(c, model, req.Model, s.resolveModel, func(ctx context.Context, m bedrock.Model) error {
		call, err := translate(ctx, m)
		if err != nil {
			return err
		}
		results, err := s.bedrock.ConverseN(ctx, call.Input, call.N)
		for _, r := range results {
			if trace, ok := bedrock.GuardrailIntervened(r); ok {
				s.log.InfoContext(ctx, "guardrail intervened", "request_id", ex.RequestID, "model", m.ID, "trace", trace)
			}
			if r != nil { // Bedrock bills the choices that succeeded, failed over or not
				ex.Usage = ex.Usage.Add(openAIUsage(bedrock.Usage(r.Usage)))
			}
		}
		if err != nil {
			return err
		}
		out = openai.ChatCompletion{ID: id, Object: "chat.completion", Created: created, Model: name, Choices: make([]openai.Choice, len(results))}
		for i, r := range results {
			out.Choices[i] = call.Choice(r, i)
			u := bedrock.Usage(r.Usage)
			bedrock.AddReasoningTokens(u, len(out.Choices[i].Message.ReasoningContent))
			out.Usage = bedrock.AddUsage(out.Usage, u)
		}
		out.ServiceTier = bedrock.ServedTier(results[0].ServiceTier)
		return nil
	})
	ex.Upstream = time.Since(upstreamStart)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if served.ID != model.ID {
		out.Model = served.ID // the model that answered, not the one asked for
	}
	ex.ServiceTier = out.ServiceTier
	if out.Usage == nil {
		out.Usage = &openai.Usage{}
	}
	setOverhead(c, ex)
	c.JSON(http.StatusOK, out)
}

// resolveModel applies DEFAULT_MODEL and the aliases and resolves the id
// in the catalogue (models.go).
func (s *Server) resolveModel(id string) (bedrock.Model, error) {
	return s.resolveModelFor(id, kindChat)
}

// decodeJSON reads a request body into v with OpenAI-style errors.
func decodeJSON(r io.Reader, v any) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return invalidRequest("", "invalid_json", "Request body is empty; send a JSON object.")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalidType(te)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return invalidRequest("", "invalid_json", fmt.Sprintf("Request body is not valid JSON (at byte %d): %v", se.Offset, se))
		}
		return invalidRequest("", "invalid_request", "Invalid request body: "+err.Error())
	}
	return nil
}

func completionID() string {
	return "chatcmpl-" + strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}

// streamChat answers with server-sent events, forwarding each Bedrock event
// as soon as it arrives. The stream is opened (its first event read)
// through the failover, with translate making the call for each model;
// once the first byte is sent it never fails over. A client that
// disconnects cancels the request context and with it the Bedrock call.
func (s *Server) streamChat(c *gin.Context, model bedrock.Model, name string, translate func(context.Context, bedrock.Model) (*bedrock.Call, error),
	id string, created int64, includeUsage bool) {
	ex := exchange(c)
	ctx := bedrockContext(c, ex)
	upstreamStart := time.Now()
	var stream *bedrock.EventStream
	var call *bedrock.Call
	served, err := s.withFailover(c, model, name, s.resolveModel, func(ctx context.Context, m bedrock.Model) (err error) {
		if call, err = translate(ctx, m); err != nil {
			return err
		}
		stream, err = s.bedrock.ConverseStream(ctx, call.StreamInput())
		return err
	})
	ex.Upstream = time.Since(upstreamStart)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if served.ID != model.ID {
		name = served.ID
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
	w := &sseWriter{w: c.Writer}
	stream.FlushWhenIdle(w.flush)
	defer w.flush()
	conv := call.NewStream(id, name, created)
	defer func() {
		ex.Usage, ex.ServiceTier = openAIUsage(conv.Usage()), conv.Tier()
		if trace, ok := conv.GuardrailIntervened(); ok {
			s.log.InfoContext(ctx, "guardrail intervened", "request_id", ex.RequestID, "model", ex.Model, "trace", trace, "stream", true)
		}
	}()

	for ev := range stream.Events() {
		if err := w.chunk(conv.Event(ev)); err != nil {
			return // the client went away; closing the stream ends the Bedrock call
		}
	}
	if err := stream.Err(); err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return // the client went away: nobody to tell
		}
		_ = w.event(s.failure(c, err).openAIError())
		return
	}
	if includeUsage {
		if err := w.chunk(conv.UsageChunk()); err != nil {
			return
		}
	}
	_ = w.done()
}

// sseWriter writes `data: <json>\n\n` events. They are flushed when the
// Bedrock stream has no other event ready (EventStream.FlushWhenIdle) and
// at the end (done).
type sseWriter struct {
	w   gin.ResponseWriter
	buf bytes.Buffer
}

func (s *sseWriter) chunk(ch *openai.ChatCompletionChunk) error {
	if ch == nil {
		return nil
	}
	return s.event(ch)
}

// event writes one event, unflushed.
func (s *sseWriter) event(v any) error {
	s.buf.Reset()
	s.buf.WriteString("data: ")
	enc := json.NewEncoder(&s.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	s.buf.WriteByte('\n')
	_, err := s.w.Write(s.buf.Bytes())
	return err
}

// done ends the stream with [DONE] and flushes.
func (s *sseWriter) done() error {
	if _, err := s.w.WriteString("data: [DONE]\n\n"); err != nil {
		return err
	}
	s.flush()
	return nil
}

// flush sends what was written. gin's Flush is a no-op where the writer
// cannot flush (the ALB adapter).
func (s *sseWriter) flush() { s.w.Flush() }
