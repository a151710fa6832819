package bedrocktest

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// stream serves a ConverseStream answer as AWS event-stream frames, in the
// order Bedrock sends them (protocols.md §2.3): messageStart; a reasoning
// block; a text block (neither with contentBlockStart); each tool call as
// contentBlockStart, input fragments and stop; messageStop; metadata.
func (e *Emulator) stream(x *exchange, a *answer) {
	x.w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	x.w.WriteHeader(http.StatusOK)
	s := &streamWriter{e: e, x: x, a: a, enc: eventstream.NewEncoder(), rc: http.NewResponseController(x.w), fault: a.fault}
	if err := s.rc.Flush(); err != nil {
		e.cancellations.Add(1)
		return
	}
	if !s.event("messageStart", obj{"role": "assistant"}) {
		return
	}
	idx := 0
	delta := func(d obj) bool { return s.event("contentBlockDelta", obj{"contentBlockIndex": idx, "delta": d}) }
	stop := func() bool {
		ok := s.event("contentBlockStop", obj{"contentBlockIndex": idx})
		idx++
		return ok
	}
	if a.reasoning != "" {
		for _, chunk := range splitChunks(a.reasoning, 2) {
			if !delta(obj{"reasoningContent": obj{"text": chunk}}) {
				return
			}
		}
		if a.signature != "" && !delta(obj{"reasoningContent": obj{"signature": a.signature}}) {
			return
		}
		if !stop() {
			return
		}
	}
	if len(a.redacted) > 0 {
		if !delta(obj{"reasoningContent": obj{"redactedContent": a.redacted}}) || !stop() {
			return
		}
	}
	if len(a.text) > 0 {
		for _, chunk := range a.text {
			if !delta(obj{"text": chunk}) {
				return
			}
		}
		if !stop() {
			return
		}
	}
	for _, tc := range a.tools {
		start := obj{"contentBlockIndex": idx, "start": obj{"toolUse": obj{"toolUseId": tc.ID, "name": tc.Name}}}
		if !s.event("contentBlockStart", start) {
			return
		}
		for _, frag := range splitChunks(tc.Input, min(3, len(tc.Input))) {
			if !delta(obj{"toolUse": obj{"input": frag}}) {
				return
			}
		}
		if !stop() {
			return
		}
	}
	if !s.event("messageStop", obj{"stopReason": a.stopReason}) {
		return
	}
	md := obj{"usage": usageOf(a.usage), "metrics": metricsJSON{LatencyMs: sinceMs(x)}, "serviceTier": serviceTier{Type: a.tier}}
	if a.trace != nil {
		md["trace"] = a.trace
	}
	if !s.event("metadata", md) {
		return
	}
	if a.streamErr != nil {
		s.exception() // scripted to come after every event
	}
}

type obj = map[string]any

// streamWriter writes one response's frames; an Encoder is not safe for
// concurrent use, so each stream has its own.
type streamWriter struct {
	e   *Emulator
	x   *exchange
	a   *answer
	enc *eventstream.Encoder
	rc  *http.ResponseController
	n   int // events sent
	// fault is the mid-stream fault still to inject, if any.
	fault *Fault
}

// event sends one event, first waiting the chunk delay or sending the
// scripted exception when its turn has come. It reports whether to go on.
func (s *streamWriter) event(eventType string, payload any) bool {
	if s.a.streamErr != nil && s.n >= s.a.streamErrAfter {
		s.exception()
		return false
	}
	if s.n > 0 && !s.e.wait(s.x.r.Context(), s.a.chunkDelay) {
		return false
	}
	msg, err := frame(payload)
	if err != nil {
		s.e.cancellations.Add(1) // cannot happen with these payloads; stop the stream
		return false
	}
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
	if s.fault != nil && s.n >= s.fault.after() && !s.failMidStream(msg) {
		return false
	}
	if !s.write(msg) {
		return false
	}
	s.n++
	return true
}

// exception sends the scripted error as an exception message.
func (s *streamWriter) exception() {
	msg, err := frame(s.a.streamErr.body())
	if err != nil {
		return
	}
	msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
	msg.Headers.Set(":exception-type", eventstream.StringValue(s.a.streamErr.exceptionType()))
	s.write(msg)
}

func frame(payload any) (eventstream.Message, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return eventstream.Message{}, fmt.Errorf("encode event payload: %w", err)
	}
	msg := eventstream.Message{Payload: b}
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	return msg, nil
}

// write encodes and flushes one frame; a failure means the client is gone.
func (s *streamWriter) write(msg eventstream.Message) bool {
	if s.x.r.Context().Err() != nil {
		s.e.cancellations.Add(1)
		return false
	}
	if err := s.enc.Encode(s.x.w, msg); err != nil {
		s.e.cancellations.Add(1)
		return false
	}
	if err := s.rc.Flush(); err != nil {
		s.e.cancellations.Add(1)
		return false
	}
	return true
}
