package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/anthropic"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/app/metrics"
)

// The Anthropic Messages API (Claude Code, the Anthropic SDKs): POST
// {prefix}/messages and {prefix}/messages/count_tokens. Claude models get
// the client's body natively through InvokeModel; other models go through
// the chat translation onto Converse.

// TokenCountHeader is set on count_tokens answers that are the gateway's
// own estimate (embedded tokenizer) rather than Bedrock's count.
const TokenCountHeader = "X-Gateway-Token-Count"

// messagesHead is what the gateway reads of every Messages body before
// deciding how to serve it; a Claude body is passed on as it came.
type messagesHead struct {
	Model  string `json:"model"`
	Stream bool   `json:"stream"`
}

// requestBody returns the body readBody kept in memory.
func requestBody(c *gin.Context) ([]byte, error) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalidRequest("", "invalid_json", "Request body is empty; send a JSON object.")
	}
	return body, nil
}

// handleMessages serves POST {prefix}/messages.
func (s *Server) handleMessages(c *gin.Context) {
	body, err := requestBody(c)
	if err != nil {
		s.writeError(c, err)
		return
	}
	var head messagesHead
	if err := decodeJSON(bytes.NewReader(body), &head); err != nil {
		s.writeError(c, err)
		return
	}
	model, err := s.resolveAnthropicModel(head.Model)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ex := exchange(c)
	setModel(c, ex, model)
	// A fallback model (MODEL_FALLBACKS) must be served the same way:
	// Claude natively, other models through Converse.
	resolve := func(name string) (bedrock.Model, error) {
		m, err := s.resolveAnthropicModel(name)
		if err == nil && m.IsClaude() != model.IsClaude() {
			return m, fmt.Errorf("%s and %s are not served the same way on the Messages API (Claude natively, other models on Converse)", model.ID, m.ID)
		}
		return m, err
	}
	if model.IsClaude() {
		s.messagesNative(c, body, model, head, resolve)
		return
	}
	var req anthropic.MessagesRequest
	if err := decodeJSON(bytes.NewReader(body), &req); err != nil {
		s.writeError(c, err)
		return
	}
	chat, err := bedrock.AnthropicToChat(&req)
	if err != nil {
		s.writeError(c, err)
		return
	}
	call, err := s.opts.Translator.Translate(c.Request.Context(), chat, model)
	if err != nil {
		s.writeError(c, err)
		return
	}
	bedrock.TagRequest(call.Input, ex.RequestID)
	translate := func(ctx context.Context, m bedrock.Model) (*bedrock.Call, error) {
		if m.ID == model.ID {
			return call, nil
		}
		fc, err := s.opts.Translator.Translate(ctx, chat, m)
		if err == nil {
			bedrock.TagRequest(fc.Input, ex.RequestID)
		}
		return fc, err
	}
	id := messageID()
	upstreamStart := time.Now()
	if !head.Stream {
		var msg anthropic.Response
		_, err := s.withFailover(c, model, head.Model, resolve, func(ctx context.Context, m bedrock.Model) error {
			call, err := translate(ctx, m)
			if err != nil {
				return err
			}
			out, err := s.bedrock.Converse(ctx, call.Input)
			if err != nil {
				return err
			}
			msg = bedrock.AnthropicMessage(out, id, servedName(head.Model, model, m))
			return nil
		})
		ex.Upstream = time.Since(upstreamStart)
		if err != nil {
			s.writeError(c, err)
			return
		}
		ex.Usage = anthropicUsage(msg.Usage)
		setOverhead(c, ex)
		c.JSON(http.StatusOK, msg)
		return
	}
	var stream *bedrock.EventStream
	served, err := s.withFailover(c, model, head.Model, resolve, func(ctx context.Context, m bedrock.Model) error {
		call, err := translate(ctx, m)
		if err != nil {
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
	defer stream.Close()
	enc := bedrock.NewAnthropicStream(id, servedName(head.Model, model, served))
	defer func() { ex.Usage = anthropicUsage(enc.Usage()) }()
	w := s.startAnthropicStream(c, ex)
	if w.write(append(enc.Start(), anthropic.PingEvent{Type: anthropic.EventPing})...) != nil {
		return
	}
	if !relay(s, w, stream.Events(), stream.Close, encodeWith(w, enc.Event)) {
		return
	}
	if err := stream.Err(); err != nil {
		w.fail(s, c, err)
		return
	}
	_ = w.write(enc.Finish()...)
	w.flush()
}

// servedName is the model name an answer gives: the client's for the model
// it asked for, the model id of a fallback that served instead.
func servedName(requested string, asked, served bedrock.Model) string {
	if served.ID != asked.ID {
		return served.ID
	}
	return requested
}

// messagesNative serves a Claude model with the client's body, through
// InvokeModel or InvokeModelWithResponseStream. Betas Bedrock would refuse
// are dropped (and named in a header); Bedrock's answer is in Anthropic's
// format already and is relayed as it comes.
func (s *Server) messagesNative(c *gin.Context, raw []byte, model bedrock.Model, head messagesHead, resolve func(string) (bedrock.Model, error)) {
	ex := exchange(c)
	// body is the InvokeModel body for m, with the betas m accepts.
	body := func(m bedrock.Model) ([]byte, error) {
		kept, dropped := bedrock.BedrockBetas(c.Request.Header.Values("anthropic-beta"), m)
		c.Writer.Header().Del(DroppedBetasHeader)
		if len(dropped) > 0 {
			c.Header(DroppedBetasHeader, strings.Join(dropped, ","))
		}
		return bedrock.AnthropicInvokeBody(raw, kept)
	}
	if _, err := body(model); err != nil {
		s.writeError(c, err)
		return
	}
	upstreamStart := time.Now()
	if !head.Stream {
		var out []byte
		_, err := s.withFailover(c, model, head.Model, resolve, func(ctx context.Context, m bedrock.Model) error {
			b, err := body(m)
			if err != nil {
				return err
			}
			out, err = s.bedrock.InvokeModelBody(ctx, m.ID, b)
			return err
		})
		ex.Upstream = time.Since(upstreamStart)
		if err != nil {
			s.writeError(c, err)
			return
		}
		var msg struct {
			Usage anthropic.Usage `json:"usage"`
		}
		_ = json.Unmarshal(out, &msg) // for metrics only: the body goes out as Bedrock sent it
		ex.Usage = anthropicUsage(msg.Usage)
		setOverhead(c, ex)
		c.Data(http.StatusOK, "application/json", out)
		return
	}
	var st *bedrock.InvokeStream
	_, err := s.withFailover(c, model, head.Model, resolve, func(ctx context.Context, m bedrock.Model) error {
		b, err := body(m)
		if err != nil {
			return err
		}
		st, err = s.bedrock.InvokeModelStream(ctx, m.ID, b)
		return err
	})
	ex.Upstream = time.Since(upstreamStart)
	if err != nil {
		s.writeError(c, err)
		return
	}
	defer st.Close()
	var usage anthropic.Usage
	defer func() { ex.Usage = anthropicUsage(usage) }()
	w := s.startAnthropicStream(c, ex)
	if !relay(s, w, st.Chunks(), st.Close, func(chunk []byte) error { return w.chunk(chunk, &usage) }) {
		return
	}
	if err := st.Err(); err != nil {
		w.fail(s, c, err)
		return
	}
	w.flush()
}

// DroppedBetasHeader names the anthropic-beta values the gateway did not
// pass to Bedrock, which does not accept them for the model.
const DroppedBetasHeader = "X-Gateway-Dropped-Betas"

// anthropicWriter writes Anthropic server-sent events and flushes each batch.
type anthropicWriter struct {
	w    gin.ResponseWriter
	buf  bytes.Buffer
	last time.Time // of the last write, for pings
}

// startAnthropicStream commits the response as an event stream.
func (s *Server) startAnthropicStream(c *gin.Context, ex *metrics.Exchange) *anthropicWriter {
	ex.Stream = true
	s.opts.Observer.StreamStarted(ex)
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	setOverhead(c, ex)
	ex.TTFT = time.Since(ex.Start)
	c.Status(http.StatusOK)
	return &anthropicWriter{w: c.Writer}
}

// write writes events, unflushed.
func (a *anthropicWriter) write(evs ...anthropic.Event) error {
	a.buf.Reset()
	for _, ev := range evs {
		if err := anthropic.AppendEvent(&a.buf, ev); err != nil {
			return err
		}
	}
	return a.put()
}

// ping writes a ping event and flushes it.
func (a *anthropicWriter) ping() error {
	if err := a.write(anthropic.PingEvent{Type: anthropic.EventPing}); err != nil {
		return err
	}
	a.flush()
	return nil
}

// put writes the buffered events, unflushed: relay flushes when no other
// event is ready, and the handler's end flushes the rest.
func (a *anthropicWriter) put() error {
	if a.buf.Len() == 0 {
		return nil
	}
	if _, err := a.w.Write(a.buf.Bytes()); err != nil {
		return err
	}
	a.last = time.Now()
	return nil
}

// flush sends what was written.
func (a *anthropicWriter) flush() { a.w.Flush() }

// chunk relays one event of a native Claude stream, noting its usage. The
// message_stop loses Bedrock's amazon-bedrock-invocationMetrics member,
// which Anthropic's schema does not have; message_start is followed by a
// ping, as Anthropic sends.
func (a *anthropicWriter) chunk(b []byte, u *anthropic.Usage) error {
	var ev struct {
		Type    string `json:"type"`
		Message *struct {
			Usage anthropic.Usage `json:"usage"`
		} `json:"message"`
		Usage *struct {
			InputTokens              *int `json:"input_tokens"`
			OutputTokens             *int `json:"output_tokens"`
			CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
			CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(b, &ev); err != nil || ev.Type == "" || strings.ContainsAny(ev.Type, "\r\n") {
		return nil // not an event a client could read: skip it
	}
	switch ev.Type {
	case anthropic.EventMessageStart:
		if ev.Message != nil {
			*u = ev.Message.Usage
		}
	case anthropic.EventMessageDelta:
		if d := ev.Usage; d != nil {
			set := func(dst *int, src *int) {
				if src != nil {
					*dst = *src
				}
			}
			set(&u.OutputTokens, d.OutputTokens)
			set(&u.InputTokens, d.InputTokens)
			set(&u.CacheCreationInputTokens, d.CacheCreationInputTokens)
			set(&u.CacheReadInputTokens, d.CacheReadInputTokens)
		}
	case anthropic.EventMessageStop:
		b = []byte(`{"type":"message_stop"}`)
	}
	a.buf.Reset()
	a.buf.WriteString("event: ")
	a.buf.WriteString(ev.Type)
	a.buf.WriteString("\ndata: ")
	a.buf.Write(bytes.TrimSpace(b))
	a.buf.WriteString("\n\n")
	if ev.Type == anthropic.EventMessageStart {
		_ = anthropic.AppendEvent(&a.buf, anthropic.PingEvent{Type: anthropic.EventPing})
	}
	return a.put()
}

// fail ends a started stream with an error event, unless the client is gone.
func (a *anthropicWriter) fail(s *Server, c *gin.Context, err error) {
	if errors.Is(c.Request.Context().Err(), context.Canceled) {
		return // the client went away: nobody to tell
	}
	_ = a.write(s.failure(c, err).anthropicError(c.GetString(ctxRequestID)))
	a.flush()
}

// encodeWith writes what an encoder makes of each upstream event.
func encodeWith[T any](w *anthropicWriter, enc func(T) []anthropic.Event) func(T) error {
	return func(ev T) error { return w.write(enc(ev)...) }
}

// relay sends the events of an open stream with send as they come, and a
// ping whenever nothing was sent for the server's PingInterval. It reports
// false when the client went away (send failed). The events are read on a
// goroutine of their own; on the way out, stop (the stream's Close) ends
// it if it is still waiting on Bedrock.
func relay[T any](s *Server, w *anthropicWriter, events iter.Seq[T], stop func() error, send func(T) error) bool {
	ch := make(chan T)
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for ev := range events {
			select {
			case ch <- ev:
			case <-done:
				return
			}
		}
	}()
	defer func() {
		close(done)
		select {
		case <-ended:
		default:
			_ = stop() // the client went away while Bedrock was still talking
			<-ended
		}
		// The stream's Err is safe to read once the goroutine is over.
	}()
	tick := time.NewTicker(s.opts.PingInterval)
	defer tick.Stop()
	for {
		// Send the events that are ready without flushing; flush before
		// waiting for more (see EventStream.FlushWhenIdle).
		select {
		case ev := <-ch:
			if send(ev) != nil {
				return false
			}
			continue
		case <-ended:
			return true
		default:
		}
		runtime.Gosched() // one chance for an event already on its way
		select {
		case ev := <-ch:
			if send(ev) != nil {
				return false
			}
			continue
		default:
		}
		w.flush()
		select {
		case ev := <-ch:
			if send(ev) != nil {
				return false
			}
		case <-ended: // every event sent was received: ch is unbuffered
			return true
		case <-tick.C:
			if time.Since(w.last) >= s.opts.PingInterval && w.ping() != nil {
				return false
			}
		}
	}
}

// anthropicUsage is an Anthropic usage for metrics and cost.
func anthropicUsage(u anthropic.Usage) cost.Usage {
	return cost.Usage{Input: int64(u.InputTokens), Output: int64(u.OutputTokens),
		CacheRead: int64(u.CacheReadInputTokens), CacheWrite: int64(u.CacheCreationInputTokens)}
}

func messageID() string {
	return "msg_" + strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}
