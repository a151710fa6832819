package bedrocktest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
)

func streamInput(prompt string) *bedrockruntime.ConverseStreamInput {
	return &bedrockruntime.ConverseStreamInput{ModelId: aws.String(haiku), Messages: []types.Message{userText(prompt)}}
}

// isConnError reports whether err is a broken connection rather than an
// answer from Bedrock.
func isConnError(err error) bool {
	var api smithy.APIError
	return err != nil && !errors.As(err, &api) &&
		(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF))
}

func TestFaultDirectives(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)

	t.Run("reset before the first byte", func(t *testing.T) {
		_, err := converse(t, c, haiku, `@emulate {"fault":{"kind":"reset"}}`)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("Converse error = %v, want a connection reset", err)
		}
		if _, err := c.ConverseStream(context.Background(), streamInput(`@emulate {"fault":{"kind":"reset"}}`)); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("ConverseStream error = %v, want a connection reset", err)
		}
	})

	for _, kind := range []FaultKind{FaultResetStream, FaultTruncate} {
		t.Run(string(kind)+" mid-stream", func(t *testing.T) {
			got := streamOf(t, srv, streamInput(`@emulate {"text":["a","b","c","d"],"fault":{"kind":"`+string(kind)+`","after":3}}`))
			if want := []string{"messageStart assistant", "delta 0 text", "delta 0 text"}; strings.Join(got.events, "|") != strings.Join(want, "|") {
				t.Errorf("events = %q, want %q (three, then the fault)", got.events, want)
			}
			// smithy-go reads a frame cut short (io.ErrUnexpectedEOF) as the
			// stream's clean end: only the missing metadata event tells.
			if kind == FaultResetStream && !isConnError(got.err) || kind == FaultTruncate && got.err != nil && !isConnError(got.err) {
				t.Errorf("stream error = %v (%T), want a broken connection", got.err, got.err)
			}
		})
	}

	t.Run("truncate on the wire", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/model/"+haiku+"/converse-stream", "application/json",
			strings.NewReader(`{"messages":[{"role":"user","content":[{"text":"@emulate {\"fault\":{\"kind\":\"truncate\"}}"}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %d and read error %v, want 200 and a body cut short", resp.StatusCode, err)
		}
		dec := eventstream.NewDecoder()
		r := bytes.NewReader(body)
		for i := range 2 {
			if _, err := dec.Decode(r, nil); err != nil {
				t.Fatalf("frame %d: %v, want two whole frames", i, err)
			}
		}
		if r.Len() == 0 {
			t.Fatalf("no partial frame after the two whole ones")
		}
		if _, err := dec.Decode(r, nil); err == nil {
			t.Errorf("the third frame decodes, want it cut short")
		}
	})

	t.Run("truncate InvokeModelWithResponseStream", func(t *testing.T) {
		evs, err := streamEvents(t, c, haiku, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,
			"messages":[{"role":"user","content":"@emulate {\"fault\":{\"kind\":\"truncate\"}}"}]}`)
		if len(evs) != 2 || err != nil && !isConnError(err) {
			t.Errorf("got %d events and error %v, want 2 events and the end", len(evs), err)
		}
	})

	t.Run("stall mid-stream, then the rest", func(t *testing.T) {
		got := streamOf(t, srv, streamInput(`@emulate {"text":["a","b"],"fault":{"kind":"stall","stall_ms":50}}`))
		if got.err != nil || got.text != "ab" || got.stop != types.StopReasonEndTurn {
			t.Errorf("got text %q, stop %q, error %v; want the whole answer after the stall", got.text, got.stop, got.err)
		}
	})

	t.Run("stall outlasts the client", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		before := srv.Cancellations()
		_, err := c.Converse(ctx, &bedrockruntime.ConverseInput{ModelId: aws.String(haiku),
			Messages: []types.Message{userText(`@emulate {"fault":{"kind":"stall","stall_ms":60000}}`)}})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Converse error = %v, want the client's deadline", err)
		}
		eventually(t, "the stalled answer to be cancelled", func() bool { return srv.Cancellations() > before })
	})

	t.Run("throttle", func(t *testing.T) {
		_, err := converse(t, c, haiku, `@emulate {"fault":{"kind":"throttle"}}`)
		var te *types.ThrottlingException
		if !errors.As(err, &te) || te.ErrorMessage() != "Too many requests, please wait before trying again." {
			t.Fatalf("error = %v, want ThrottlingException with Bedrock's message", err)
		}
	})

	t.Run("embeddings reset", func(t *testing.T) {
		_, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("amazon.titan-embed-text-v2:0"),
			ContentType: aws.String("application/json"), Body: []byte(`{"inputText":"@emulate {\"fault\":{\"kind\":\"reset\"}}"}`)})
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("InvokeModel error = %v, want a connection reset", err)
		}
	})

	for _, tt := range []struct{ name, prompt, want string }{
		{"unknown kind", `@emulate {"fault":{"kind":"explode"}}`, `unknown fault "explode"`},
		{"truncate on Converse", `@emulate {"fault":{"kind":"truncate"}}`, "applies to ConverseStream and InvokeModelWithResponseStream only"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := converse(t, c, haiku, tt.prompt)
			if code, msg := apiErrorOf(t, err); code != "ValidationException" || !strings.Contains(msg, tt.want) {
				t.Errorf("got %s %q, want ValidationException containing %q", code, msg, tt.want)
			}
		})
	}

	got := srv.FaultsInjected()
	want := map[FaultKind]int{FaultReset: 3, FaultResetStream: 1, FaultTruncate: 3, FaultStall: 2, FaultThrottle: 1}
	for _, k := range faultKinds {
		if got[k] != want[k] {
			t.Errorf("FaultsInjected()[%s] = %d, want %d", k, got[k], want[k])
		}
	}
}

func TestThrottleBurst(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	srv.Throttle(3, 0)
	for i := range 4 {
		_, err := converse(t, c, haiku, "hi")
		var te *types.ThrottlingException
		if throttled := errors.As(err, &te); throttled != (i < 3) {
			t.Errorf("call %d: error %v, want throttled: %v", i, err, i < 3)
		}
	}
	// Listing models is not a runtime call: never throttled.
	if _, err := controlClient(t, srv).ListFoundationModels(context.Background(), nil); err != nil {
		t.Errorf("ListFoundationModels during a burst: %v", err)
	}

	srv.Throttle(0, time.Hour)
	for i := range 3 {
		if _, err := converse(t, c, haiku, "hi"); err == nil {
			t.Errorf("call %d in the throttling window succeeded", i)
		}
	}
}

func TestRandomFaults(t *testing.T) {
	t.Run("every request", func(t *testing.T) {
		srv := NewServer(t, WithFaults(Faults{Reset: 1}))
		c := runtimeClient(t, srv)
		for range 3 {
			if _, err := converse(t, c, haiku, "hi"); !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("Converse error = %v, want a connection reset", err)
			}
		}
		if got := srv.FaultsInjected()[FaultReset]; got != 3 {
			t.Errorf("resets injected = %d, want 3", got)
		}
	})

	t.Run("stream faults spare plain calls", func(t *testing.T) {
		srv := NewServer(t, WithFaults(Faults{Truncate: 1}))
		c := runtimeClient(t, srv)
		if _, err := converse(t, c, haiku, "hi"); err != nil {
			t.Errorf("Converse: %v, want an answer (truncation is for streams)", err)
		}
		if got := streamOf(t, srv, streamInput("hi")); got.usage != nil || len(got.events) != 2 {
			t.Errorf("stream events %q, want two and no metadata (truncated)", got.events)
		}
	})

	t.Run("a throttle burst", func(t *testing.T) {
		srv := NewServer(t, WithFaults(Faults{Throttle: 1, ThrottleBurst: 4}))
		c := runtimeClient(t, srv)
		var outcomes strings.Builder
		for i := range 6 {
			if i == 1 { // no more draws: what follows is the burst alone
				srv.faultMu.Lock()
				srv.faultCfg.Throttle = 0
				srv.faultMu.Unlock()
			}
			_, err := converse(t, c, haiku, "hi")
			var te *types.ThrottlingException
			switch {
			case err == nil:
				outcomes.WriteByte('.')
			case errors.As(err, &te):
				outcomes.WriteByte('T')
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if got, want := outcomes.String(), "TTTT.."; got != want {
			t.Errorf("outcomes %q, want %q (a burst of 4)", got, want)
		}
	})

	t.Run("a throttle window", func(t *testing.T) {
		srv := NewServer(t, WithFaults(Faults{Throttle: 1, ThrottleWindow: time.Hour}))
		converse(t, srv.RuntimeClient(t), haiku, "hi")
		srv.faultMu.Lock()
		srv.faultCfg.Throttle = 0 // no more draws: what follows is the window alone
		srv.faultMu.Unlock()
		for i := range 3 {
			var te *types.ThrottlingException
			if _, err := converse(t, srv.RuntimeClient(t), haiku, "hi"); !errors.As(err, &te) {
				t.Errorf("call %d in the window: error %v, want ThrottlingException", i, err)
			}
		}
	})

	t.Run("seeded draws repeat", func(t *testing.T) {
		outcomes := func() string {
			srv := NewServer(t, WithFaults(Faults{Throttle: 0.3, Reset: 0.3, Seed: 42}))
			c := runtimeClient(t, srv)
			var b strings.Builder
			for range 30 {
				_, err := converse(t, c, haiku, "hi")
				var te *types.ThrottlingException
				switch {
				case err == nil:
					b.WriteByte('.')
				case errors.As(err, &te):
					b.WriteByte('T')
				case errors.Is(err, syscall.ECONNRESET):
					b.WriteByte('R')
				default:
					t.Fatalf("unexpected error %v", err)
				}
			}
			return b.String()
		}
		first, second := outcomes(), outcomes()
		if first != second || !strings.Contains(first, ".") || !strings.Contains(first, "T") || !strings.Contains(first, "R") {
			t.Errorf("outcomes %q then %q, want the same mix of answers, throttles and resets", first, second)
		}
	})
}

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec    string
		want    Faults
		wantErr string
	}{
		{"", Faults{}, ""},
		{"reset=0.05,truncate=0.02,stall=0.01:2s,throttle=0.1", Faults{Reset: 0.05, Truncate: 0.02, Stall: 0.01, StallFor: 2 * time.Second, Throttle: 0.1}, ""},
		{"reset-stream=0.5, throttle=0.1:5 ,seed=7", Faults{ResetStream: 0.5, Throttle: 0.1, ThrottleBurst: 5, Seed: 7}, ""},
		{"reset", Faults{}, "want name=value"},
		{"reset=2", Faults{}, "not between 0 and 1"},
		{"stall=0.1:soon", Faults{}, "not a positive duration"},
		{"throttle=0.01:3s", Faults{Throttle: 0.01, ThrottleWindow: 3 * time.Second}, ""},
		{"throttle=0.1:0", Faults{}, "neither a positive count nor a duration"},
		{"reset=0.1:5", Faults{}, "takes no"},
		{"boom=0.1", Faults{}, `unknown fault "boom"`},
		{"seed=x", Faults{}, "fault seed"},
		{"reset=0.6,throttle=0.6", Faults{}, "more than 1"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseFaults(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFaults(%q) error = %v, want one containing %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseFaults(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
			}
			again, err := ParseFaults(got.String())
			if got.String() != "none" && (err != nil || again != got) {
				t.Errorf("ParseFaults(%q) = %+v, %v; want the round trip %+v", got.String(), again, err, got)
			}
		})
	}
}
