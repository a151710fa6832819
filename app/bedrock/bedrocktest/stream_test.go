package bedrocktest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// collected is a decoded ConverseStream: one line per event, plus the
// assembled parts.
type collected struct {
	events    []string
	text      string
	reasoning string
	signature string
	redacted  []byte
	tools     map[string]string // name -> assembled input
	stop      types.StopReason
	usage     *types.TokenUsage
	err       error
}

func collect(tb testing.TB, out *bedrockruntime.ConverseStreamOutput) collected {
	tb.Helper()
	stream := out.GetStream()
	defer stream.Close()
	c := collected{tools: map[string]string{}}
	names := map[int32]string{}
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			c.events = append(c.events, "messageStart "+string(v.Value.Role))
		case *types.ConverseStreamOutputMemberContentBlockStart:
			i := aws.ToInt32(v.Value.ContentBlockIndex)
			tu := v.Value.Start.(*types.ContentBlockStartMemberToolUse).Value
			names[i] = aws.ToString(tu.Name)
			c.events = append(c.events, fmt.Sprintf("start %d toolUse %s %s", i, aws.ToString(tu.ToolUseId), aws.ToString(tu.Name)))
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			i := aws.ToInt32(v.Value.ContentBlockIndex)
			switch d := v.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				c.text += d.Value
				c.events = append(c.events, fmt.Sprintf("delta %d text", i))
			case *types.ContentBlockDeltaMemberToolUse:
				c.tools[names[i]] += aws.ToString(d.Value.Input)
				c.events = append(c.events, fmt.Sprintf("delta %d toolUse", i))
			case *types.ContentBlockDeltaMemberReasoningContent:
				switch r := d.Value.(type) {
				case *types.ReasoningContentBlockDeltaMemberText:
					c.reasoning += r.Value
					c.events = append(c.events, fmt.Sprintf("delta %d reasoning", i))
				case *types.ReasoningContentBlockDeltaMemberSignature:
					c.signature += r.Value
					c.events = append(c.events, fmt.Sprintf("delta %d signature", i))
				case *types.ReasoningContentBlockDeltaMemberRedactedContent:
					c.redacted = append(c.redacted, r.Value...)
					c.events = append(c.events, fmt.Sprintf("delta %d redacted", i))
				}
			default:
				tb.Errorf("unexpected delta %T", d)
			}
		case *types.ConverseStreamOutputMemberContentBlockStop:
			c.events = append(c.events, fmt.Sprintf("stop %d", aws.ToInt32(v.Value.ContentBlockIndex)))
		case *types.ConverseStreamOutputMemberMessageStop:
			c.stop = v.Value.StopReason
			c.events = append(c.events, "messageStop "+string(v.Value.StopReason))
		case *types.ConverseStreamOutputMemberMetadata:
			c.usage = v.Value.Usage
			c.events = append(c.events, "metadata")
		default:
			tb.Errorf("unexpected event %T", v)
		}
	}
	c.err = stream.Err()
	return c
}

func streamOf(tb testing.TB, srv *Server, in *bedrockruntime.ConverseStreamInput) collected {
	tb.Helper()
	out, err := runtimeClient(tb, srv).ConverseStream(context.Background(), in)
	if err != nil {
		tb.Fatalf("ConverseStream: %v", err)
	}
	return collect(tb, out)
}

func TestConverseStreamAllEventKinds(t *testing.T) {
	srv := NewServer(t)
	srv.Script(func(Request) *Reply {
		return &Reply{
			Reasoning:         "Think first.",
			Signature:         "sig-1",
			RedactedReasoning: []byte{1, 2, 3},
			Text:              []string{"Hel", "lo"},
			ToolCalls: []ToolCall{
				{ID: "tooluse_a", Name: "get_weather", Input: `{"city":"Paris"}`},
				{ID: "tooluse_b", Name: "get_time", Input: `{}`},
			},
			Usage: &Usage{InputTokens: 12, OutputTokens: 34, CacheReadInputTokens: 5, CacheWriteInputTokens: 7},
		}
	})
	got := streamOf(t, srv, &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String("us." + haiku), Messages: []types.Message{userText("weather?")}, ToolConfig: weatherTools(),
	})
	if got.err != nil {
		t.Fatalf("stream error: %v", got.err)
	}
	want := []string{
		"messageStart assistant",
		"delta 0 reasoning", "delta 0 reasoning", "delta 0 signature", "stop 0", // no contentBlockStart
		"delta 1 redacted", "stop 1",
		"delta 2 text", "delta 2 text", "stop 2", // no contentBlockStart
		"start 3 toolUse tooluse_a get_weather", "delta 3 toolUse", "delta 3 toolUse", "delta 3 toolUse", "stop 3",
		"start 4 toolUse tooluse_b get_time", "delta 4 toolUse", "delta 4 toolUse", "stop 4",
		"messageStop tool_use",
		"metadata",
	}
	if strings.Join(got.events, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got.events, "\n"), strings.Join(want, "\n"))
	}
	if got.reasoning != "Think first." || got.signature != "sig-1" || string(got.redacted) != "\x01\x02\x03" || got.text != "Hello" {
		t.Errorf("reasoning/signature/redacted/text = %q/%q/%v/%q", got.reasoning, got.signature, got.redacted, got.text)
	}
	if got.tools["get_weather"] != `{"city":"Paris"}` || got.tools["get_time"] != `{}` {
		t.Errorf("assembled tool inputs = %v", got.tools)
	}
	u := got.usage
	if aws.ToInt32(u.InputTokens) != 12 || aws.ToInt32(u.OutputTokens) != 34 || aws.ToInt32(u.TotalTokens) != 46 ||
		aws.ToInt32(u.CacheReadInputTokens) != 5 || aws.ToInt32(u.CacheWriteInputTokens) != 7 {
		t.Errorf("usage = %+v, want 12/34/46 cache 5/7", u)
	}
}

func TestConverseStreamDefaultAnswer(t *testing.T) {
	srv := NewServer(t)
	in := &bedrockruntime.ConverseStreamInput{ModelId: aws.String("amazon.nova-micro-v1:0"), Messages: []types.Message{userText("Stream me")}}
	got := streamOf(t, srv, in)
	if got.err != nil {
		t.Fatalf("stream error: %v", got.err)
	}
	if got.text != "Emulated reply to: Stream me" || got.stop != types.StopReasonEndTurn {
		t.Errorf("text/stop = %q/%q, want the echo and end_turn", got.text, got.stop)
	}
	if n := strings.Count(strings.Join(got.events, "\n"), "text"); n != 3 {
		t.Errorf("got %d text deltas, want 3", n)
	}
	// Deterministic: the same request gives the same usage and events.
	again := streamOf(t, srv, in)
	if strings.Join(again.events, ",") != strings.Join(got.events, ",") || aws.ToInt32(again.usage.TotalTokens) != aws.ToInt32(got.usage.TotalTokens) {
		t.Errorf("second stream differs: %v %d vs %v %d", again.events, aws.ToInt32(again.usage.TotalTokens), got.events, aws.ToInt32(got.usage.TotalTokens))
	}
}

func TestConverseStreamExceptions(t *testing.T) {
	srv := NewServer(t)
	tests := []struct {
		typ        string
		after      int
		wantEvents int
		as         func(error) bool
	}{
		{"ThrottlingException", 0, 2, func(err error) bool { var e *types.ThrottlingException; return errors.As(err, &e) }},
		{"ModelStreamErrorException", 3, 3, func(err error) bool {
			var e *types.ModelStreamErrorException
			return errors.As(err, &e) && aws.ToInt32(e.OriginalStatusCode) == 500
		}},
		{"ValidationException", 1, 1, func(err error) bool { var e *types.ValidationException; return errors.As(err, &e) }},
		{"ServiceUnavailableException", -1, 0, func(err error) bool { var e *types.ServiceUnavailableException; return errors.As(err, &e) }},
		{"InternalServerException", 2, 2, func(err error) bool { var e *types.InternalServerException; return errors.As(err, &e) }},
		{"ModelTimeoutException", 2, 2, func(err error) bool { var e *types.ModelTimeoutException; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			srv.Script(func(Request) *Reply {
				return &Reply{StreamError: &Error{Type: tt.typ, Message: "boom"}, StreamErrorAfter: tt.after}
			})
			got := streamOf(t, srv, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku), Messages: []types.Message{userText("hi")}})
			if !tt.as(got.err) {
				t.Fatalf("stream error = %v (%T), want *types.%s", got.err, got.err, tt.typ)
			}
			if _, msg := apiErrorOf(t, got.err); msg != "boom" {
				t.Errorf("message = %q, want boom", msg)
			}
			if len(got.events) != tt.wantEvents {
				t.Errorf("got %d events before the exception (%v), want %d", len(got.events), got.events, tt.wantEvents)
			}
		})
	}
}

func TestConverseStreamErrorBeforeStream(t *testing.T) {
	srv := NewServer(t)
	srv.Script(func(Request) *Reply { return &Reply{Error: &Error{Type: "ThrottlingException"}} })
	_, err := runtimeClient(t, srv).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(haiku), Messages: []types.Message{userText("hi")},
	})
	var te *types.ThrottlingException
	if !errors.As(err, &te) {
		t.Fatalf("error = %v, want *types.ThrottlingException from the HTTP response", err)
	}
}

func TestConverseStreamCancellation(t *testing.T) {
	srv := NewServer(t, WithChunkDelay(50*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, err := runtimeClient(t, srv).ConverseStream(ctx, &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(haiku), Messages: []types.Message{userText("a long answer please")},
	})
	if err != nil {
		t.Fatalf("ConverseStream: %v", err)
	}
	stream := out.GetStream()
	defer stream.Close()
	if _, ok := <-stream.Events(); !ok {
		t.Fatalf("stream closed before the first event: %v", stream.Err())
	}
	if n := srv.Cancellations(); n != 0 {
		t.Fatalf("Cancellations() = %d before cancelling, want 0", n)
	}
	cancel()
	eventually(t, "Cancellations() == 1", func() bool { return srv.Cancellations() == 1 })
}

func TestConverseStreamChunkDelayFromReply(t *testing.T) {
	srv := NewServer(t)
	srv.Script(func(Request) *Reply { return &Reply{Text: []string{"a", "b"}, ChunkDelay: 20 * time.Millisecond} })
	start := time.Now()
	got := streamOf(t, srv, &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku), Messages: []types.Message{userText("hi")}})
	if got.err != nil || got.text != "ab" {
		t.Fatalf("stream = %q, %v; want ab", got.text, got.err)
	}
	// 6 events, 5 gaps of 20ms: a lower bound only, never an upper one.
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("stream took %v, want at least 100ms of chunk delays", d)
	}
}
