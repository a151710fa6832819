package bedrock

import (
	"context"
	"fmt"
	"io"
	"iter"
	"runtime"

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
	// ended is set by the metadata event, Bedrock's last: a stream that
	// stops before it was cut short.
	ended bool
	span  *callSpan
	// flush, when set, runs each time Events is about to wait for Bedrock.
	flush func()
}

// FlushWhenIdle has Events call flush each time it is about to wait for
// Bedrock's next event. An encoder that writes each event without flushing
// it then sends the events that arrived together in one write, and each
// one as soon as no other is ready: forwarding stays immediate, and a burst
// of events costs one system call instead of one each.
func (s *EventStream) FlushWhenIdle(flush func()) { s.flush = flush }

// Events yields the first event, then each event as Bedrock sends it, until
// the stream ends, fails or the gateway shuts down (see Err). It is meant
// to be ranged over once.
func (s *EventStream) Events() iter.Seq[types.ConverseStreamOutput] {
	return func(yield func(types.ConverseStreamOutput) bool) {
		if s.first != nil {
			ev := s.first
			s.first = nil
			s.see(ev)
			if !yield(ev) {
				return
			}
		}
		events := s.stream.Events()
		for {
			ev, ok, ended := s.next(events)
			if ended {
				s.err = ErrStreamsEnded
				s.span.end(s.err)
				return
			}
			if !ok {
				err := s.stream.Err()
				if err == nil && !s.ended {
					err = cutShort(s.ctx, "ConverseStream", "its metadata event")
				}
				if err != nil {
					s.svc.streamException(s.ctx, "ConverseStream", err)
					s.err = Classify(err)
				}
				s.span.end(s.err)
				return
			}
			s.see(ev)
			s.span.event(ev)
			if !yield(ev) {
				return
			}
		}
	}
}

// next receives the next event (ok false when the SDK closed the channel),
// or reports that the gateway is shutting its streams down. When no event
// is ready it gives the SDK's reader goroutines one chance to hand over one
// already in flight, then flushes and waits.
func (s *EventStream) next(events <-chan types.ConverseStreamOutput) (ev types.ConverseStreamOutput, ok, ended bool) {
	if s.flush != nil {
		for try := 0; try < 2; try++ {
			select {
			case ev, ok = <-events:
				return ev, ok, false
			case <-s.svc.streamsEnd:
				return nil, false, true
			default:
			}
			if try == 0 {
				runtime.Gosched()
			}
		}
		s.flush()
	}
	select {
	case ev, ok = <-events:
		return ev, ok, false
	case <-s.svc.streamsEnd:
		return nil, false, true
	}
}

// see notes the metadata event, which ends a whole stream.
func (s *EventStream) see(ev types.ConverseStreamOutput) {
	if _, ok := ev.(*types.ConverseStreamOutputMemberMetadata); ok {
		s.ended = true
	}
}

// cutShort is the error of a stream that ended before last, the event
// Bedrock ends every stream with: the request's own end (a deadline, a
// client gone) when that came first, else a cut connection. smithy-go
// reads a frame cut short by a closed connection (io.ErrUnexpectedEOF) as
// the stream's clean end, so only the missing last event tells a broken
// stream from a whole one.
func cutShort(ctx context.Context, op, last string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return &Error{Kind: KindConnection, Code: "ConnectionError",
		Err: fmt.Errorf("%s ended before %s: the connection to Bedrock was cut: %w", op, last, io.ErrUnexpectedEOF)}
}

// Err is why Events stopped early: a classified *Error (KindCanceled when
// the client went away, KindConnection when the stream was cut short),
// ErrStreamsEnded, or nil when the stream ended well.
func (s *EventStream) Err() error { return s.err }

// Close ends the stream and the Bedrock call.
func (s *EventStream) Close() error {
	s.span.end(s.err)
	return s.stream.Close()
}
