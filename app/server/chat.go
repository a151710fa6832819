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
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/schemas"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"
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
	ctx := c.Request.Context()
	call, err := s.opts.Translator.Translate(ctx, &req, model)
	if err != nil {
		s.writeError(c, err)
		return
	}
	tagRequest(call.Input, ex.RequestID)
	name := req.Model
	if name == "" {
		name = model.ID
	}
	id, created := completionID(), time.Now().Unix()
	if req.Stream {
		s.streamChat(c, call, name, id, created, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}

	ctx = bedrockContext(c, ex)
	upstreamStart := time.Now()
	out := openai.ChatCompletion{ID: id, Object: "chat.completion", Created: created, Model: name, Choices: make([]openai.Choice, call.N)}
	results := make([]*bedrockruntime.ConverseOutput, call.N)
	errs := make([]error, call.N)
	if call.N == 1 {
		// On this goroutine: its stack has already grown through gin and
		// earlier requests on the connection, while a new goroutine would
		// grow (copy) its stack through the SDK's deep middleware chain on
		// every call (about 10% of the gateway's CPU in the benchmark).
		results[0], errs[0] = s.opts.Bedrock.Converse(ctx, call.Input)
	} else {
		var wg sync.WaitGroup
		for i := range call.N {
			wg.Go(func() { results[i], errs[i] = s.opts.Bedrock.Converse(ctx, call.Input) })
		}
		wg.Wait()
	}
	ex.Upstream = time.Since(upstreamStart)
	for _, r := range results {
		if r != nil { // Bedrock bills the choices that succeeded
			ex.Usage = ex.Usage.Add(tokenUsage(r.Usage))
		}
	}
	if err := errors.Join(errs...); err != nil {
		s.writeError(c, firstError(errs))
		return
	}
	for i, r := range results {
		out.Choices[i] = call.Choice(r, i)
		out.Usage = bedrock.AddUsage(out.Usage, bedrock.Usage(r.Usage))
	}
	if out.Usage == nil {
		out.Usage = &openai.Usage{}
	}
	setOverhead(c, ex)
	c.JSON(http.StatusOK, out)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
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
		return &apiError{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Code: "invalid_json", Message: "Request body is empty; send a JSON object."}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &apiError{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Code: "invalid_type", Param: te.Field,
				Message: fmt.Sprintf("Invalid type for '%s': expected %s, got JSON %s.", te.Field, te.Type, te.Value)}
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &apiError{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Code: "invalid_json",
				Message: fmt.Sprintf("Request body is not valid JSON (at byte %d): %v", se.Offset, se)}
		}
		return &apiError{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Code: "invalid_request", Message: "Invalid request body: " + err.Error()}
	}
	return nil
}

func completionID() string {
	return "chatcmpl-" + strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}

// retryableStart reports whether an exception that ended a stream before its
// first event is worth reopening the stream for.
func retryableStart(err error) bool {
	var (
		te *types.ThrottlingException
		su *types.ServiceUnavailableException
		ie *types.InternalServerException
	)
	return errors.As(err, &te) || errors.As(err, &su) || errors.As(err, &ie)
}

// openStream starts ConverseStream and reads its first event before any
// byte is sent to the client, so an exception in the first frame becomes a
// proper HTTP error (after a retry when it is retryable) instead of a 200.
func (s *Server) openStream(ctx context.Context, call *bedrock.Call) (*bedrockruntime.ConverseStreamEventStream, types.ConverseStreamOutput, error) {
	in := call.StreamInput()
	for attempt := 0; ; attempt++ {
		out, err := s.opts.Bedrock.ConverseStream(ctx, in, ownStreamDecoder)
		if err != nil {
			return nil, nil, err
		}
		stream := out.GetStream()
		ev, ok := <-stream.Events()
		if ok {
			return stream, ev, nil
		}
		err = stream.Err()
		stream.Close()
		s.streamException(ctx, err)
		if err == nil {
			err = &apiError{Status: http.StatusBadGateway, Type: openai.TypeServer, Code: "empty_stream", Message: "Bedrock closed the stream without an event."}
		}
		if attempt >= s.opts.StreamRetries || !retryableStart(err) || ctx.Err() != nil {
			return nil, nil, err
		}
		select {
		case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// streamChat answers with server-sent events, forwarding each Bedrock event
// as soon as it arrives. A client that disconnects cancels the request
// context and with it the Bedrock call.
func (s *Server) streamChat(c *gin.Context, call *bedrock.Call, model, id string, created int64, includeUsage bool) {
	ex := exchange(c)
	ctx := bedrockContext(c, ex)
	upstreamStart := time.Now()
	stream, first, err := s.openStream(ctx, call)
	ex.Upstream = time.Since(upstreamStart)
	if err != nil {
		s.writeError(c, err)
		return
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
	conv := call.NewStream(id, model, created)
	defer func() { ex.Usage = openAIUsage(conv.Usage()) }()

	if err := w.chunk(conv.Event(first)); err != nil {
		return
	}
	events := stream.Events()
	for ended := false; !ended; {
		select {
		case ev, ok := <-events:
			if !ok {
				ended = true
				break
			}
			if err := w.chunk(conv.Event(ev)); err != nil {
				return // the client went away; closing the stream ends the Bedrock call
			}
		case <-s.opts.StreamsEnd:
			c.Set(ctxError, errShuttingDown.Code)
			_ = w.event(errShuttingDown.envelope())
			return
		}
	}
	if err := stream.Err(); err != nil {
		s.streamException(ctx, err)
		if errors.Is(ctx.Err(), context.Canceled) {
			return // the client went away: nobody to tell
		}
		ae := toAPIError(err)
		c.Set(ctxError, ae.Code)
		_ = w.event(ae.envelope())
		return
	}
	if includeUsage {
		if err := w.chunk(conv.UsageChunk()); err != nil {
			return
		}
	}
	_ = w.done()
}

// sseWriter writes `data: <json>\n\n` events and flushes each one.
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

func (s *sseWriter) event(v any) error {
	s.buf.Reset()
	s.buf.WriteString("data: ")
	enc := json.NewEncoder(&s.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	s.buf.WriteByte('\n')
	return s.flush()
}

func (s *sseWriter) done() error {
	s.buf.Reset()
	s.buf.WriteString("data: [DONE]\n\n")
	return s.flush()
}

func (s *sseWriter) flush() error {
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return err
	}
	s.w.Flush() // gin's Flush is a no-op where the writer cannot flush (ALB adapter)
	return nil
}

// ownStreamDecoder gives a ConverseStream call its own event-stream codec.
// aws-sdk-go-v2's restJson1 protocol object holds one decoder buffer per
// client (smithy-go v1.28.9 internal/eventstream Codec.payloadBuf), which
// concurrent streams on a shared client would race on and corrupt.
func ownStreamDecoder(o *bedrockruntime.Options) {
	o.Protocol = restjson1.New(schemas.AmazonBedrockFrontendService)
}
