package bedrock_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

func TestServesIn(t *testing.T) {
	tests := []struct {
		id, region string
		want       bool
	}{
		{"us.anthropic.claude-haiku-4-5-20251001-v1:0", "us-west-2", true},
		{"us.anthropic.claude-haiku-4-5-20251001-v1:0", "eu-central-1", false},
		{"us.anthropic.claude-haiku-4-5-20251001-v1:0", "ca-central-1", true}, // Canada calls us. profiles
		{"eu.anthropic.claude-haiku-4-5-20251001-v1:0", "eu-west-1", true},
		{"eu.anthropic.claude-haiku-4-5-20251001-v1:0", "us-east-1", false},
		{"apac.amazon.nova-lite-v1:0", "ap-northeast-1", true},
		{"jp.anthropic.claude-haiku-4-5-20251001-v1:0", "ap-south-1", false},
		{"global.anthropic.claude-haiku-4-5-20251001-v1:0", "eu-central-1", true},
		{"amazon.nova-lite-v1:0", "eu-central-1", true},
		{"cohere.embed-english-v3", "ap-southeast-1", true},
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", "us-west-2", false},
		{"arn:aws:bedrock:us-west-2:123456789012:application-inference-profile/abc", "us-west-2", true},
	}
	for _, tt := range tests {
		if got := bedrock.ServesIn(tt.id, tt.region); got != tt.want {
			t.Errorf("ServesIn(%q, %q) = %v, want %v", tt.id, tt.region, got, tt.want)
		}
	}
}

// TestFailoverOrder: each model is tried in the service's region, then in
// the fallback regions that can serve it, before the next model; errors
// that would repeat stop at once; the first error is the answer when every
// target fails.
func TestFailoverOrder(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	rt := emu.RuntimeClient(t)
	var moves []string
	svc := bedrock.NewService(bedrock.ServiceOptions{Runtime: rt, Region: "us-east-1",
		Fallbacks: []bedrock.Region{{Name: "eu-central-1", Runtime: rt}, {Name: "us-west-2", Runtime: rt}},
		OnFailover: func(_ context.Context, from, to bedrock.Target, err error) {
			moves = append(moves, from.Region+">"+to.Region+" "+bedrock.Classify(err).Code)
		}})
	throttled := &bedrock.Error{Kind: bedrock.KindThrottled, Code: "ThrottlingException", Err: errors.New("slow down")}
	denied := &bedrock.Error{Kind: bedrock.KindAccessDenied, Code: "AccessDeniedException", Err: errors.New("no")}

	var tried []string
	answers := map[string]error{}
	attempt := func(_ context.Context, tg bedrock.Target) error {
		tried = append(tried, tg.Region+" "+tg.Model)
		return answers[tg.Region+" "+tg.Model]
	}
	answers = map[string]error{"us-east-1 us.a": throttled, "us-west-2 us.a": denied, "us-east-1 global.b": throttled}
	got, err := svc.Failover(context.Background(), "us.a", func() []string { return []string{"global.b"} }, attempt)
	want := "us-east-1 us.a|us-west-2 us.a|us-east-1 global.b|eu-central-1 global.b"
	if strings.Join(tried, "|") != want || err != nil || got != (bedrock.Target{Region: "eu-central-1", Model: "global.b"}) {
		t.Errorf("tried %s, served by %v, %v; want %s, served by eu-central-1 global.b", strings.Join(tried, "|"), got, err, want)
	}
	if want := "us-east-1>us-west-2 ThrottlingException|us-west-2>us-east-1 AccessDeniedException|us-east-1>eu-central-1 ThrottlingException"; strings.Join(moves, "|") != want {
		t.Errorf("failovers reported: %s, want %s", strings.Join(moves, "|"), want)
	}

	tried = nil
	answers = map[string]error{}
	called := false
	if _, err := svc.Failover(context.Background(), "us.a", func() []string { called = true; return nil }, attempt); err != nil || called {
		t.Errorf("a model that answers: %v, fallbacks asked for: %v; want neither", err, called)
	}

	tried = nil
	answers = map[string]error{"us-east-1 global.b": denied}
	if _, err := svc.Failover(context.Background(), "global.b", nil, attempt); err != denied || len(tried) != 1 {
		t.Errorf("AccessDenied in the service's region: tried %v, got %v; want one attempt and its error", tried, err)
	}

	tried = nil
	answers = map[string]error{"us-east-1 global.b": throttled, "eu-central-1 global.b": denied, "us-west-2 global.b": throttled}
	if _, err := svc.Failover(context.Background(), "global.b", nil, attempt); err != throttled || len(tried) != 3 {
		t.Errorf("every region failing: tried %v, got %v; want three attempts and the first error", tried, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tried = nil
	answers = map[string]error{"us-east-1 global.b": throttled}
	if _, err := svc.Failover(ctx, "global.b", nil, attempt); err != throttled || len(tried) != 1 {
		t.Errorf("a cancelled request: tried %v, got %v; want one attempt", tried, err)
	}
}

// TestFailoverRegionClient: a call made with Failover's context goes to
// the target region's client.
func TestFailoverRegionClient(t *testing.T) {
	east, west := bedrocktest.NewServer(t), bedrocktest.NewServer(t)
	east.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Error: &bedrocktest.Error{Type: "ServiceUnavailableException"}}
	})
	svc := bedrock.NewService(bedrock.ServiceOptions{Runtime: east.RuntimeClient(t), Region: "us-east-1",
		Fallbacks: []bedrock.Region{{Name: "us-west-2", Runtime: west.RuntimeClient(t, func(o *bedrockruntime.Options) { o.Region = "us-west-2" })}}})
	var out *bedrockruntime.ConverseOutput
	got, err := svc.Failover(context.Background(), serviceModel, nil, func(ctx context.Context, _ bedrock.Target) (err error) {
		out, err = svc.Converse(ctx, converseInput())
		return err
	})
	if err != nil || out == nil || got.Region != "us-west-2" || len(west.Requests()) != 1 || len(east.Requests()) != 1 {
		t.Errorf("got %v from %v; east saw %d calls, west %d; want west to answer after east's one", err, got, len(east.Requests()), len(west.Requests()))
	}
}
