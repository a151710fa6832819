package bedrock_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

const serviceModel = "us.anthropic.claude-haiku-4-5-20251001-v1:0"

func converseInput() *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{ModelId: aws.String(serviceModel), Messages: []types.Message{{
		Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}}}
}

func streamInput() *bedrockruntime.ConverseStreamInput {
	in := converseInput()
	return &bedrockruntime.ConverseStreamInput{ModelId: in.ModelId, Messages: in.Messages}
}

// reports collects what the service tells its Observe hook.
type reports struct {
	mu  sync.Mutex
	got []bedrock.CallReport
}

func (r *reports) observe(_ context.Context, c bedrock.CallReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, c)
}

func (r *reports) list() []bedrock.CallReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bedrock.CallReport(nil), r.got...)
}

// TestServiceConverseN: n calls at once; the outputs that succeeded come
// back with the first error, classified, and every call is observed.
func TestServiceConverseN(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	var calls atomic.Int32
	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		if calls.Add(1) == 2 {
			return &bedrocktest.Reply{Error: &bedrocktest.Error{Type: "ThrottlingException", Message: "slow down"}}
		}
		return &bedrocktest.Reply{Text: []string{"ok"}}
	})
	var seen reports
	svc := bedrock.NewService(bedrock.ServiceOptions{Runtime: emu.RuntimeClient(t), Observe: seen.observe})
	outs, err := svc.ConverseN(context.Background(), converseInput(), 3)
	var be *bedrock.Error
	if !errors.As(err, &be) || be.Kind != bedrock.KindThrottled {
		t.Fatalf("err %v, want a classified throttling error", err)
	}
	ok := 0
	for _, o := range outs {
		if o != nil {
			ok++
		}
	}
	if len(outs) != 3 || ok != 2 {
		t.Errorf("%d outputs, %d of them answers; want 3 and 2", len(outs), ok)
	}
	if r := seen.list(); len(r) != 3 || r[0].Operation != "Converse" || r[0].Attempts != 1 {
		t.Errorf("observed %+v, want three Converse calls", r)
	}
}

// TestServiceConverseStream: a retryable first-frame exception reopens the
// stream; a validation one does not; a mid-stream one ends Events with Err.
func TestServiceConverseStream(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	var seen reports
	svc := bedrock.NewService(bedrock.ServiceOptions{Runtime: emu.RuntimeClient(t), Observe: seen.observe})
	ctx := context.Background()

	var calls atomic.Int32
	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		if calls.Add(1) == 1 {
			return &bedrocktest.Reply{StreamError: &bedrocktest.Error{Type: "ServiceUnavailableException", Message: "busy"}, StreamErrorAfter: -1}
		}
		return &bedrocktest.Reply{Text: []string{"a", "b"}}
	})
	st, err := svc.ConverseStream(ctx, streamInput())
	if err != nil || calls.Load() != 2 {
		t.Fatalf("after a first-frame ServiceUnavailable: err %v, %d calls; want a stream on the second", err, calls.Load())
	}
	text := ""
	for ev := range st.Events() {
		if d, ok := ev.(*types.ConverseStreamOutputMemberContentBlockDelta); ok {
			text += d.Value.Delta.(*types.ContentBlockDeltaMemberText).Value
		}
	}
	st.Close()
	if st.Err() != nil || text != "ab" {
		t.Errorf("text %q err %v, want ab", text, st.Err())
	}

	calls.Store(0)
	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		calls.Add(1)
		return &bedrocktest.Reply{StreamError: &bedrocktest.Error{Type: "ValidationException", Message: "bad"}, StreamErrorAfter: -1}
	})
	_, err = svc.ConverseStream(ctx, streamInput())
	if be := bedrock.Classify(err); be == nil || be.Kind != bedrock.KindInvalid || calls.Load() != 1 {
		t.Errorf("err %v after %d calls, want one call and a validation error", err, calls.Load())
	}

	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"a", "b", "c"}, StreamError: &bedrocktest.Error{Type: "ModelStreamErrorException", Message: "broke"}, StreamErrorAfter: 2}
	})
	st, err = svc.ConverseStream(ctx, streamInput())
	if err != nil {
		t.Fatal(err)
	}
	for range st.Events() {
	}
	st.Close()
	if be := bedrock.Classify(st.Err()); be == nil || be.Kind != bedrock.KindModelError {
		t.Errorf("Err() = %v, want a model error", st.Err())
	}
	last := seen.list()[len(seen.list())-1]
	if last.Operation != "ConverseStream" || bedrock.Classify(last.Err).Code != "ModelStreamErrorException" {
		t.Errorf("last report %+v, want the stream's exception", last)
	}
}

// TestServiceStreamsEnd: closing StreamsEnd ends open streams with
// ErrStreamsEnded.
func TestServiceStreamsEnd(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"a", "b", "c", "d", "e"}, ChunkDelay: 200 * time.Millisecond}
	})
	end := make(chan struct{})
	svc := bedrock.NewService(bedrock.ServiceOptions{Runtime: emu.RuntimeClient(t), StreamsEnd: end})
	st, err := svc.ConverseStream(context.Background(), streamInput())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	for range st.Events() {
		if n++; n == 1 {
			close(end)
		}
	}
	if !errors.Is(st.Err(), bedrock.ErrStreamsEnded) {
		t.Errorf("Err() = %v after %d events, want ErrStreamsEnded", st.Err(), n)
	}
}
