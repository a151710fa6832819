package bedrock

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// TestUntracedCallsAllocateNothing: with tracing off, what each call does
// for its span costs no allocation.
func TestUntracedCallsAllocateNothing(t *testing.T) {
	s := NewService(ServiceOptions{Region: "us-east-1"})
	in := &bedrockruntime.ConverseInput{ModelId: aws.String("amazon.nova-lite-v1:0"),
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(5), Temperature: aws.Float32(0.5)},
		Messages:        []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "hi"}}}}}
	out := &bedrockruntime.ConverseOutput{Usage: &types.TokenUsage{InputTokens: aws.Int32(1), OutputTokens: aws.Int32(2)}, StopReason: types.StopReasonEndTurn}
	var stop types.ConverseStreamOutput = &types.ConverseStreamOutputMemberMessageStop{}
	chunk := []byte(`{"type":"message_stop"}`)
	allocs := testing.AllocsPerRun(100, func() {
		_, span := s.startCall(context.Background(), "Converse", aws.ToString(in.ModelId), s.inferenceParams(in.InferenceConfig)...)
		span.input(in.System, in.Messages)
		span.usage(out.Usage)
		span.finish(string(out.StopReason))
		span.output(out.Output, out.StopReason)
		span.event(stop)
		span.chunk(chunk)
		span.end(nil)
	})
	if allocs != 0 {
		t.Errorf("got %v allocations per untraced call, want 0", allocs)
	}
}
