package bedrock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

// TestLimitIdle: a stream that stalls mid-way for longer than the idle
// limit ends with a KindTimeout error, long before the stall would end; a
// stream whose events keep coming is untouched by the same limit.
func TestLimitIdle(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	rt := emu.RuntimeClient(t, func(o *bedrockruntime.Options) {
		o.HTTPClient = bedrock.LimitIdle(bedrock.ShieldBodies(awshttp.NewBuildableClient()), 300*time.Millisecond)
	})
	svc := bedrock.NewService(bedrock.ServiceOptions{Runtime: rt})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"a", "b", "c"},
			Fault: &bedrocktest.Fault{Kind: bedrocktest.FaultStall, After: 2, Stall: time.Minute}}
	})
	s, err := svc.ConverseStream(ctx, streamInput())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	events := 0
	for range s.Events() {
		events++
	}
	s.Close()
	var be *bedrock.Error
	if !errors.As(s.Err(), &be) || be.Kind != bedrock.KindTimeout {
		t.Fatalf("stalled stream ended with %v after %d events, want a KindTimeout error", s.Err(), events)
	}
	if !errors.Is(s.Err(), bedrock.ErrIdle) {
		t.Errorf("error %v does not name the idle limit", s.Err())
	}
	if ctx.Err() != nil {
		t.Error("the stall was not cut: the test's own deadline passed")
	}

	emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"a", "b", "c"}}
	})
	s, err = svc.ConverseStream(ctx, streamInput())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	for range s.Events() {
	}
	s.Close()
	if s.Err() != nil {
		t.Errorf("a stream that never stalls ended with %v", s.Err())
	}
}
