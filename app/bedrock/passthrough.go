package bedrock

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/eventstream"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Bedrock's own API passes through the gateway with the client's body: the
// SDK still makes the call (endpoint, SigV4 with the gateway's credentials,
// retries, errors, observation), but the body it sends is the client's,
// byte for byte, and the answer handed back is Bedrock's, byte for byte
// (streams frame by frame). The SDK's typed input carries only the model id.

// Operation is a Bedrock Runtime operation that passes through.
type Operation string

// The operations of Bedrock's API the gateway passes through.
const (
	OpConverse       Operation = "Converse"
	OpConverseStream Operation = "ConverseStream"
	OpInvoke         Operation = "InvokeModel"
	OpInvokeStream   Operation = "InvokeModelWithResponseStream"
	OpCountTokens    Operation = "CountTokens"
)

// Streams reports whether the operation answers with an event stream.
func (o Operation) Streams() bool { return o == OpConverseStream || o == OpInvokeStream }

// RawRequest is a call of Bedrock's API made with the client's own body.
type RawRequest struct {
	Operation Operation
	ModelID   string
	Body      []byte
	// Header holds the client's headers; those Bedrock reads
	// (PassedRequestHeader) are sent on.
	Header http.Header
}

// RawResponse is Bedrock's answer to a RawRequest: its headers (those
// PassedResponseHeader keeps) and body.
type RawResponse struct {
	Header http.Header
	Body   []byte
}

// PassedRequestHeader reports whether a client's request header is one
// Bedrock reads and is sent on: content negotiation and the
// X-Amzn-Bedrock-* options (guardrails, trace, latency, service tier).
func PassedRequestHeader(name string) bool {
	name = http.CanonicalHeaderKey(name)
	return name == "Content-Type" || name == "Accept" || strings.HasPrefix(name, "X-Amzn-Bedrock-")
}

// PassedResponseHeader reports whether a header of Bedrock's answer goes to
// the client: the content type and the X-Amzn-Bedrock-* ones (token counts,
// latency, service tier).
func PassedResponseHeader(name string) bool {
	name = http.CanonicalHeaderKey(name)
	return name == "Content-Type" || strings.HasPrefix(name, "X-Amzn-Bedrock-")
}

// maxRawResponse bounds a non-streamed answer read into memory.
const maxRawResponse = 64 << 20

// rawCall holds what the middlewares of one pass-through call exchange.
type rawCall struct {
	req    *RawRequest
	stream bool
	resp   RawResponse
	body   io.ReadCloser // a stream's body, taken from the SDK
}

// options returns the SDK options that send the client's body and keep
// Bedrock's answer.
func (rc *rawCall) options(o *bedrockruntime.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		if err := st.Serialize.Insert(middleware.SerializeMiddlewareFunc("GatewayRawBody", rc.serialize), "OperationSerializer", middleware.After); err != nil {
			return err
		}
		return st.Deserialize.Insert(middleware.DeserializeMiddlewareFunc("GatewayRawAnswer", rc.deserialize), "OperationDeserializer", middleware.After)
	})
}

// serialize replaces the body the SDK serialized with the client's.
func (rc *rawCall) serialize(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected transport type %T", in.Request)
	}
	for name, vs := range rc.req.Header {
		if PassedRequestHeader(name) {
			req.Header[http.CanonicalHeaderKey(name)] = vs
		}
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	var err error
	if req, err = req.SetStream(bytes.NewReader(rc.req.Body)); err != nil {
		return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("set body: %w", err)
	}
	req.ContentLength = int64(len(rc.req.Body))
	in.Request = req
	return next.HandleSerialize(ctx, in)
}

// deserialize keeps a successful answer's headers and body. A stream's body
// is taken away from the SDK, whose own reader then sees an empty stream,
// and relayed frame by frame; any other body is read whole and given back
// to the SDK too. Errors are left to the SDK, which classifies them.
func (rc *rawCall) deserialize(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleDeserialize(ctx, in)
	resp, ok := out.RawResponse.(*smithyhttp.Response)
	if err != nil || !ok || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return out, md, err
	}
	rc.resp.Header = http.Header{}
	for name, vs := range resp.Header {
		if PassedResponseHeader(name) {
			rc.resp.Header[name] = vs
		}
	}
	if rc.stream {
		rc.body = resp.Body
		resp.Body = http.NoBody
		return out, md, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRawResponse+1))
	_ = resp.Body.Close()
	if err != nil {
		return out, md, fmt.Errorf("read Bedrock's answer: %w", err)
	}
	if len(body) > maxRawResponse {
		return out, md, fmt.Errorf("Bedrock's answer is larger than %d bytes", maxRawResponse)
	}
	rc.resp.Body = body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return out, md, nil
}

// invoke makes the SDK call of req's operation with only the model id typed.
func (s *Service) invoke(ctx context.Context, rc *rawCall) (close func(), err error) {
	id := aws.String(rc.req.ModelID)
	opts := []func(*bedrockruntime.Options){s.observed, rc.options}
	switch rc.req.Operation {
	case OpConverse:
		_, err = s.runtime(ctx).Converse(ctx, &bedrockruntime.ConverseInput{ModelId: id}, opts...)
	case OpInvoke:
		_, err = s.runtime(ctx).InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: id, Body: rc.req.Body}, opts...)
	case OpCountTokens:
		_, err = s.runtime(ctx).CountTokens(ctx, &bedrockruntime.CountTokensInput{ModelId: id,
			Input: &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte("{}")}}}, opts...)
	case OpConverseStream:
		var out *bedrockruntime.ConverseStreamOutput
		if out, err = s.runtime(ctx).ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{ModelId: id}, append(opts, ownStreamDecoder)...); err == nil {
			return func() { out.GetStream().Close() }, nil
		}
	case OpInvokeStream:
		var out *bedrockruntime.InvokeModelWithResponseStreamOutput
		if out, err = s.runtime(ctx).InvokeModelWithResponseStream(ctx, &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: id, Body: rc.req.Body}, append(opts, ownStreamDecoder)...); err == nil {
			return func() { out.GetStream().Close() }, nil
		}
	default:
		return nil, fmt.Errorf("operation %q does not pass through", rc.req.Operation)
	}
	return func() {}, err
}

// Raw makes a call of Bedrock's API that does not stream, with the client's
// body, and returns Bedrock's answer as it came.
func (s *Service) Raw(ctx context.Context, req *RawRequest) (*RawResponse, error) {
	if req.Operation.Streams() {
		return nil, fmt.Errorf("%s streams: use RawStream", req.Operation)
	}
	ctx, span := s.startCall(ctx, string(req.Operation), req.ModelID, s.bodyParams(req.Body)...)
	rc := &rawCall{req: req}
	if _, err := s.invoke(ctx, rc); err != nil {
		span.end(err)
		return nil, Classify(err)
	}
	if req.Operation != OpCountTokens {
		span.rawAnswer(rc.resp.Header, rc.resp.Body)
	}
	span.end(nil)
	return &rc.resp, nil
}

// RawStream starts a streaming call of Bedrock's API with the client's body
// and reads its first frame before the caller commits to anything, as
// ConverseStream does: an exception in the first frame is an ordinary
// error, after up to StreamRetries reopenings when it is retryable.
func (s *Service) RawStream(ctx context.Context, req *RawRequest) (*FrameStream, error) {
	if !req.Operation.Streams() {
		return nil, fmt.Errorf("%s does not stream: use Raw", req.Operation)
	}
	ctx, span := s.startCall(ctx, string(req.Operation), req.ModelID, s.bodyParams(req.Body)...)
	for attempt := 0; ; attempt++ {
		rc := &rawCall{req: req, stream: true}
		closeSDK, err := s.invoke(ctx, rc)
		if err != nil {
			span.end(err)
			return nil, Classify(err)
		}
		closeSDK() // its reader saw an empty body; the frames are rc.body's
		fs := &FrameStream{svc: s, ctx: ctx, op: req.Operation, body: rc.body, Header: rc.resp.Header, span: span}
		first, err := fs.next()
		if err == nil && first.Exception == "" {
			fs.first = &first
			span.frame(first)
			return fs, nil
		}
		fs.body.Close() // fs.Close would end the call's span, and it may reopen
		if err == nil {
			err = first.err()
		}
		if errors.Is(err, io.EOF) {
			err = nil // ended without an event
		}
		s.streamException(ctx, string(req.Operation), err)
		if be := s.reopen(ctx, attempt, err); be != nil {
			span.end(be)
			return nil, be
		}
		span.reopened(attempt + 1)
	}
}

// Frame is one message of an event stream, as Bedrock sent it.
type Frame struct {
	// Raw is the whole encoded message, prelude and checksums included.
	Raw []byte
	// EventType is the :event-type header of an event ("chunk",
	// "contentBlockDelta", "metadata"...).
	EventType string
	// Exception is the :exception-type of an exception message, "" for events.
	Exception string
	// Payload is the message's payload (JSON).
	Payload []byte
}

// err is the exception a frame carries, as the SDK would report it.
func (f Frame) err() error {
	var body struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(f.Payload, &body)
	return &smithy.GenericAPIError{Code: f.Exception, Message: body.Message}
}

// maxFrame bounds one event-stream message (the format allows 16 MiB of
// payload and 128 KiB of headers).
const maxFrame = 16<<20 + 128<<10 + 16

// FrameStream is an open event stream of Bedrock's, relayed as it came.
type FrameStream struct {
	// Header holds Bedrock's response headers PassedResponseHeader keeps.
	Header http.Header

	svc   *Service
	ctx   context.Context
	op    Operation
	body  io.ReadCloser
	first *Frame
	err   error
	dec   *eventstream.Decoder
	span  *callSpan
}

// next reads one frame; io.EOF at the stream's clean end.
func (fs *FrameStream) next() (Frame, error) {
	var prelude [4]byte
	if _, err := io.ReadFull(fs.body, prelude[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Frame{}, fmt.Errorf("read event-stream frame: %w", err)
		}
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(prelude[:])
	if n < 16 || n > maxFrame {
		return Frame{}, fmt.Errorf("event-stream frame of %d bytes", n)
	}
	raw := make([]byte, n)
	copy(raw, prelude[:])
	if _, err := io.ReadFull(fs.body, raw[4:]); err != nil {
		return Frame{}, fmt.Errorf("read event-stream frame: %w", err)
	}
	if fs.dec == nil {
		fs.dec = eventstream.NewDecoder()
	}
	msg, err := fs.dec.Decode(bytes.NewReader(raw), nil)
	if err != nil {
		return Frame{}, fmt.Errorf("decode event-stream frame: %w", err)
	}
	f := Frame{Raw: raw, Payload: msg.Payload}
	header := func(name string) string {
		if v := msg.Headers.Get(name); v != nil {
			return v.String()
		}
		return ""
	}
	switch header(":message-type") {
	case "exception":
		f.Exception = header(":exception-type")
	case "error":
		f.Exception = header(":error-code")
	default:
		f.EventType = header(":event-type")
	}
	return f, nil
}

// Frames yields the first frame, then each one as Bedrock sends it, until
// the stream ends, fails or the gateway shuts down (see Err). Exceptions
// are frames too, relayed like events (the client's SDK raises them); Err
// then reports them.
func (fs *FrameStream) Frames() iter.Seq[Frame] {
	return func(yield func(Frame) bool) {
		if fs.first != nil {
			f := *fs.first
			fs.first = nil
			if !yield(f) {
				return
			}
		}
		var ended atomic.Bool
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-fs.svc.streamsEnd:
				ended.Store(true)
				fs.body.Close() // unblocks the read below
			case <-done:
			}
		}()
		defer func() { fs.span.end(fs.err) }()
		for {
			f, err := fs.next()
			switch {
			case ended.Load():
				fs.err = ErrStreamsEnded
				return
			case errors.Is(err, io.EOF):
				return
			case err != nil && fs.ctx.Err() != nil:
				fs.err = Classify(fs.ctx.Err())
				return
			case err != nil:
				fs.err = Classify(err)
				return
			case f.Exception != "":
				err := f.err()
				fs.svc.streamException(fs.ctx, string(fs.op), err)
				fs.err = Classify(err)
				yield(f)
				return
			}
			fs.span.frame(f)
			if !yield(f) {
				return
			}
		}
	}
}

// Err is why Frames stopped early: a classified *Error (an exception
// Bedrock sent, already relayed as a frame, or a broken stream),
// ErrStreamsEnded, or nil when the stream ended well.
func (fs *FrameStream) Err() error { return fs.err }

// Close ends the stream and the Bedrock call.
func (fs *FrameStream) Close() error {
	fs.span.end(fs.err)
	return fs.body.Close()
}

// ExceptionFrame encodes an exception message of Bedrock's event streams,
// for a stream the gateway must end itself (its shutdown).
func ExceptionFrame(exception, message string) []byte {
	payload, _ := json.Marshal(map[string]string{"message": message})
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
	msg.Headers.Set(":exception-type", eventstream.StringValue(exception))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload = payload
	var buf bytes.Buffer
	_ = eventstream.NewEncoder().Encode(&buf, msg)
	return buf.Bytes()
}

// RawUsage reads the tokens an answer of Bedrock's API reports: Converse's
// usage, InvokeModel's X-Amzn-Bedrock-*-Token-Count headers, or a stream
// frame's (ConverseStream's metadata event, the invocation metrics of an
// InvokeModelWithResponseStream chunk). ok is false when the answer or
// frame reports none.
func RawUsage(header http.Header, body []byte) (u TokenUsage, ok bool) {
	if in := header.Get("X-Amzn-Bedrock-Input-Token-Count"); in != "" {
		u.Input, _ = strconv.ParseInt(in, 10, 64)
		u.Output, _ = strconv.ParseInt(header.Get("X-Amzn-Bedrock-Output-Token-Count"), 10, 64)
		u.CacheRead, _ = strconv.ParseInt(header.Get("X-Amzn-Bedrock-Cache-Read-Input-Token-Count"), 10, 64)
		u.CacheWrite, _ = strconv.ParseInt(header.Get("X-Amzn-Bedrock-Cache-Write-Input-Token-Count"), 10, 64)
		return u, true
	}
	var v struct {
		Usage *struct {
			InputTokens           int64 `json:"inputTokens"`
			OutputTokens          int64 `json:"outputTokens"`
			CacheReadInputTokens  int64 `json:"cacheReadInputTokens"`
			CacheWriteInputTokens int64 `json:"cacheWriteInputTokens"`
		} `json:"usage"`
		Bytes []byte `json:"bytes"` // an InvokeModelWithResponseStream chunk
	}
	if json.Unmarshal(body, &v) != nil {
		return u, false
	}
	if v.Usage != nil {
		return TokenUsage{Input: v.Usage.InputTokens, Output: v.Usage.OutputTokens, CacheRead: v.Usage.CacheReadInputTokens, CacheWrite: v.Usage.CacheWriteInputTokens}, true
	}
	var chunk struct {
		Metrics *struct {
			Input      int64 `json:"inputTokenCount"`
			Output     int64 `json:"outputTokenCount"`
			CacheRead  int64 `json:"cacheReadInputTokenCount"`
			CacheWrite int64 `json:"cacheWriteInputTokenCount"`
		} `json:"amazon-bedrock-invocationMetrics"`
	}
	if len(v.Bytes) == 0 || json.Unmarshal(v.Bytes, &chunk) != nil || chunk.Metrics == nil {
		return u, false
	}
	m := chunk.Metrics
	return TokenUsage{Input: m.Input, Output: m.Output, CacheRead: m.CacheRead, CacheWrite: m.CacheWrite}, true
}

// TokenUsage is the tokens one answer reports; Input excludes the cache.
type TokenUsage struct {
	Input, Output, CacheRead, CacheWrite int64
}
