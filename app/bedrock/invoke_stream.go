package bedrock

import (
	"bytes"
	"context"
	"iter"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// InvokeStream is an open InvokeModelWithResponseStream whose first chunk
// has been read. Each chunk is the model's own stream event (for Claude, the
// JSON of an Anthropic stream event). Range over Chunks, then check Err;
// Close ends the Bedrock call.
type InvokeStream struct {
	svc    *Service
	ctx    context.Context
	stream *bedrockruntime.InvokeModelWithResponseStreamEventStream
	first  []byte
	err    error
	// last is the latest chunk: Bedrock adds its invocation metrics to the
	// last chunk of every whole stream.
	last []byte
	span *callSpan
}

// InvokeModelBody makes one InvokeModel call with a JSON body (a model's
// native request, such as Claude's Anthropic body) and returns the JSON
// answer.
func (s *Service) InvokeModelBody(ctx context.Context, modelID string, body []byte) ([]byte, error) {
	out, err := s.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(modelID), Body: body,
		ContentType: aws.String("application/json"), Accept: aws.String("application/json")})
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

// InvokeModelStream starts InvokeModelWithResponseStream with a JSON body
// and reads its first chunk before the caller commits to anything, like
// ConverseStream: an exception in the first frame is an ordinary error,
// after up to StreamRetries reopenings when it is retryable.
func (s *Service) InvokeModelStream(ctx context.Context, modelID string, body []byte) (*InvokeStream, error) {
	in := &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(modelID), Body: body,
		ContentType: aws.String("application/json"), Accept: aws.String("application/json")}
	ctx, span := s.startCall(ctx, "InvokeModelWithResponseStream", modelID, s.bodyParams(body)...)
	for attempt := 0; ; attempt++ {
		out, err := s.runtime(ctx).InvokeModelWithResponseStream(ctx, in, s.observed, ownStreamDecoder)
		if err != nil {
			span.end(err)
			return nil, Classify(err)
		}
		stream := out.GetStream()
		first, err := nextChunk(stream)
		if err == nil && first != nil {
			span.chunk(first)
			return &InvokeStream{svc: s, ctx: ctx, stream: stream, first: first, span: span}, nil
		}
		stream.Close()
		s.streamException(ctx, "InvokeModelWithResponseStream", err)
		if be := s.reopen(ctx, attempt, err); be != nil {
			span.end(be)
			return nil, be
		}
		span.reopened(attempt + 1)
	}
}

// nextChunk reads the next chunk; nil with a nil error is the stream's end.
func nextChunk(stream *bedrockruntime.InvokeModelWithResponseStreamEventStream) ([]byte, error) {
	for ev := range stream.Events() {
		if c, ok := ev.(*types.ResponseStreamMemberChunk); ok {
			return c.Value.Bytes, nil
		}
	}
	return nil, stream.Err()
}

// Chunks yields the first chunk, then each chunk as Bedrock sends it, until
// the stream ends, fails or the gateway shuts down (see Err).
func (s *InvokeStream) Chunks() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if s.first != nil {
			c := s.first
			s.first = nil
			s.last = c
			if !yield(c) {
				return
			}
		}
		events := s.stream.Events()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					err := s.stream.Err()
					if err == nil && !bytes.Contains(s.last, []byte(`"amazon-bedrock-invocationMetrics"`)) {
						err = cutShort(s.ctx, "InvokeModelWithResponseStream", "its invocation metrics")
					}
					if err != nil {
						s.svc.streamException(s.ctx, "InvokeModelWithResponseStream", err)
						s.err = Classify(err)
					}
					s.span.end(s.err)
					return
				}
				c, isChunk := ev.(*types.ResponseStreamMemberChunk)
				if !isChunk {
					continue
				}
				s.last = c.Value.Bytes
				s.span.chunk(c.Value.Bytes)
				if !yield(c.Value.Bytes) {
					return
				}
			case <-s.svc.streamsEnd:
				s.err = ErrStreamsEnded
				s.span.end(s.err)
				return
			}
		}
	}
}

// Err is why Chunks stopped early: a classified *Error, ErrStreamsEnded, or
// nil when the stream ended well.
func (s *InvokeStream) Err() error { return s.err }

// Close ends the stream and the Bedrock call.
func (s *InvokeStream) Close() error {
	s.span.end(s.err)
	return s.stream.Close()
}

// CountTokens counts the input tokens of an InvokeModel body, for the
// models that support it; for the others Bedrock answers a
// ValidationException (CountTokensUnsupported).
func (s *Service) CountTokens(ctx context.Context, modelID string, body []byte) (int, error) {
	ctx, span := s.startCall(ctx, "CountTokens", modelID)
	out, err := s.runtime(ctx).CountTokens(ctx, &bedrockruntime.CountTokensInput{ModelId: aws.String(modelID),
		Input: &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: body}}}, s.observed)
	span.countTokens(out)
	span.end(err)
	if err != nil {
		return 0, Classify(err)
	}
	if out.InputTokens == nil {
		return 0, nil
	}
	return int(*out.InputTokens), nil
}

// CountTokensUnsupported reports whether err is Bedrock refusing to count
// tokens for the model (rather than refusing the request).
func CountTokensUnsupported(err error) bool {
	be := Classify(err)
	return be != nil && be.Kind == KindInvalid && strings.Contains(be.Message(), "counting tokens")
}
