package bedrock

import (
	"context"
	"iter"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// EventStream is an open ConverseStream whose first event has been read.
// An encoder ranges over Events, writing each event out as it comes, then
// checks Err; Close ends the Bedrock call (a client that went away).
type EventStream struct {
	svc    *Service
	ctx    context.Context
	stream *bedrockruntime.ConverseStreamEventStream
	first  types.ConverseStreamOutput
	err    error
}

// Events yields the first event, then each event as Bedrock sends it, until
// the stream ends, fails or the gateway shuts down (see Err). It is meant
// to be ranged over once.
func (s *EventStream) Events() iter.Seq[types.ConverseStreamOutput] {
	return func(yield func(types.ConverseStreamOutput) bool) {
		if s.first != nil {
			ev := s.first
			s.first = nil
			if !yield(ev) {
				return
			}
		}
		events := s.stream.Events()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					if err := s.stream.Err(); err != nil {
						s.svc.streamException(s.ctx, "ConverseStream", err)
						s.err = Classify(err)
					}
					return
				}
				if !yield(ev) {
					return
				}
			case <-s.svc.streamsEnd:
				s.err = ErrStreamsEnded
				return
			}
		}
	}
}

// Err is why Events stopped early: a classified *Error (KindCanceled when
// the client went away), ErrStreamsEnded, or nil when the stream ended well.
func (s *EventStream) Err() error { return s.err }

// Close ends the stream and the Bedrock call.
func (s *EventStream) Close() error { return s.stream.Close() }
