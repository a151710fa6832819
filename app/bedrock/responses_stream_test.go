package bedrock

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
	"github.com/openbedrock/gateway/app/openai/openaitest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Helpers building ConverseStream events.
func evText(i int32, s string) types.ConverseStreamOutput {
	return &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{ContentBlockIndex: aws.Int32(i), Delta: &types.ContentBlockDeltaMemberText{Value: s}}}
}

func evReason(i int32, s string) types.ConverseStreamOutput {
	return &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{ContentBlockIndex: aws.Int32(i),
		Delta: &types.ContentBlockDeltaMemberReasoningContent{Value: &types.ReasoningContentBlockDeltaMemberText{Value: s}}}}
}

func evSig(i int32, s string) types.ConverseStreamOutput {
	return &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{ContentBlockIndex: aws.Int32(i),
		Delta: &types.ContentBlockDeltaMemberReasoningContent{Value: &types.ReasoningContentBlockDeltaMemberSignature{Value: s}}}}
}

func evTool(i int32, id, name string) types.ConverseStreamOutput {
	return &types.ConverseStreamOutputMemberContentBlockStart{Value: types.ContentBlockStartEvent{ContentBlockIndex: aws.Int32(i),
		Start: &types.ContentBlockStartMemberToolUse{Value: types.ToolUseBlockStart{ToolUseId: aws.String(id), Name: aws.String(name)}}}}
}

func evArgs(i int32, s string) types.ConverseStreamOutput {
	return &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{ContentBlockIndex: aws.Int32(i),
		Delta: &types.ContentBlockDeltaMemberToolUse{Value: types.ToolUseBlockDelta{Input: aws.String(s)}}}}
}

func evStop(i int32) types.ConverseStreamOutput {
	return &types.ConverseStreamOutputMemberContentBlockStop{Value: types.ContentBlockStopEvent{ContentBlockIndex: aws.Int32(i)}}
}

func evEnd(r types.StopReason) []types.ConverseStreamOutput {
	return []types.ConverseStreamOutput{
		&types.ConverseStreamOutputMemberMessageStop{Value: types.MessageStopEvent{StopReason: r}},
		&types.ConverseStreamOutputMemberMetadata{Value: types.ConverseStreamMetadataEvent{
			Usage: &types.TokenUsage{InputTokens: aws.Int32(10), OutputTokens: aws.Int32(5), TotalTokens: aws.Int32(15), CacheReadInputTokens: aws.Int32(2)}}},
	}
}

func evStart() types.ConverseStreamOutput {
	return &types.ConverseStreamOutputMemberMessageStart{Value: types.MessageStartEvent{Role: types.ConversationRoleAssistant}}
}

// counterIDs makes deterministic item ids.
func counterIDs() func(string) string {
	n := 0
	return func(prefix string) string { n++; return fmt.Sprintf("%s_%d", prefix, n) }
}

func fixedNow() time.Time { return time.Unix(1700000001, 0) }

func testSealer(t testing.TB) *ReasoningSealer {
	return NewReasoningSealer([]byte("a test secret of enough length"))
}

func baseResponse() openai.Response {
	return openai.Response{ID: "resp_1", CreatedAt: 1700000000, Model: "m", ParallelToolCalls: true,
		ToolChoice: json.RawMessage(`"auto"`), Tools: []json.RawMessage{}, Metadata: map[string]string{}}
}

var sealedRE = regexp.MustCompile(`"encrypted_content":"bgw1\.[A-Za-z0-9_-]+"`)

// transcript renders events as the server sends them, with sealed content
// (random nonces) replaced by a marker, and validates each against the
// official schema.
func transcript(t *testing.T, events []openai.StreamEvent) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		openaitest.Validate(t, openaitest.ResponseStreamEvent, b)
		b = sealedRE.ReplaceAll(b, []byte(`"encrypted_content":"<sealed>"`))
		fmt.Fprintf(&buf, "event: %s\ndata: %s\n\n", ev.EventType(), b)
	}
	return buf.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "responses", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("transcript differs from %s (run with -update to accept):\ngot:\n%s", path, got)
	}
}

func TestResponseStreamTranscripts(t *testing.T) {
	weather := &ResponseCall{Call: &Call{}, Tools: map[string]ToolRef{
		"get_weather": {Name: "get_weather"},
		"shell__exec": {Namespace: "shell", Name: "exec"},
		"apply_patch": {Name: "apply_patch", Custom: true},
	}}
	tests := []struct {
		name   string
		call   *ResponseCall
		events []types.ConverseStreamOutput
		err    string // Fail with this message after the events
	}{
		{"text", &ResponseCall{Call: &Call{}}, append([]types.ConverseStreamOutput{
			evStart(), evText(0, "Hel"), evText(0, "lo"), evStop(0)}, evEnd(types.StopReasonEndTurn)...), ""},
		{"tools", weather, append([]types.ConverseStreamOutput{
			evStart(), evText(0, "Checking."), evStop(0),
			evTool(1, "tu_1", "get_weather"), evArgs(1, `{"city":`), evArgs(1, `"Paris"}`), evStop(1),
			evTool(2, "tu_2", "shell__exec"), evArgs(2, `{"cmd":"ls"}`), evStop(2),
			evTool(3, "tu_3", "apply_patch"), evArgs(3, `{"input":"*** Begin Patch"}`), evStop(3),
		}, evEnd(types.StopReasonToolUse)...), ""},
		{"reasoning-summary", &ResponseCall{Call: &Call{}, Summary: true, Encrypted: true, Sealer: testSealer(t)}, append([]types.ConverseStreamOutput{
			evStart(), evReason(0, "Let me "), evReason(0, "think."), evSig(0, "sig"), evStop(0), evText(1, "42"), evStop(1),
		}, evEnd(types.StopReasonEndTurn)...), ""},
		{"reasoning-text", &ResponseCall{Call: &Call{}}, append([]types.ConverseStreamOutput{
			evStart(), evReason(0, "Hmm."), evSig(0, "sig"), evStop(0), evText(1, "ok"), evStop(1),
		}, evEnd(types.StopReasonEndTurn)...), ""},
		{"max-tokens", &ResponseCall{Call: &Call{}}, append([]types.ConverseStreamOutput{
			evStart(), evText(0, "cut sho")}, evEnd(types.StopReasonMaxTokens)...), ""},
		{"json-format", &ResponseCall{Call: &Call{JSONTool: "answer", JSONWrapped: true}}, append([]types.ConverseStreamOutput{
			evStart(), evTool(0, "tu_1", "answer"), evArgs(0, `{"value":`), evArgs(0, `[1,2]}`), evStop(0),
		}, evEnd(types.StopReasonToolUse)...), ""},
		{"error-mid-stream", &ResponseCall{Call: &Call{}}, []types.ConverseStreamOutput{
			evStart(), evText(0, "Hel")}, "Bedrock: the model stream failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.call.Now = fixedNow
			s := tt.call.NewResponseStream(baseResponse(), counterIDs())
			var events []openai.StreamEvent
			events = append(events, s.Start()...)
			for _, ev := range tt.events {
				events = append(events, s.Event(ev)...)
			}
			if tt.err != "" {
				events = append(events, s.Fail("server_error", tt.err)...)
			} else {
				events = append(events, s.Finish()...)
			}
			for i, ev := range events {
				if got := reflect.ValueOf(ev).FieldByName("SequenceNumber").Int(); got != int64(i) {
					t.Errorf("event %d (%s): sequence_number %d, want %d", i, ev.EventType(), got, i)
				}
			}
			golden(t, tt.name, transcript(t, events))
			final, _ := json.Marshal(s.Response())
			openaitest.Validate(t, openaitest.Response, final)
		})
	}
}

// TestResponseCompleteMatchesStream checks that a Converse answer encoded
// whole gives the response a stream of the same answer ends with.
func TestResponseCompleteMatchesStream(t *testing.T) {
	call := &ResponseCall{Call: &Call{}, Tools: map[string]ToolRef{"shell__exec": {Namespace: "shell", Name: "exec"}}}
	out := &bedrockruntime.ConverseOutput{
		Output: &types.ConverseOutputMemberMessage{Value: types.Message{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{
			&types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{Value: types.ReasoningTextBlock{Text: aws.String("Hmm."), Signature: aws.String("sig")}}},
			&types.ContentBlockMemberText{Value: "Running it."},
			&types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: aws.String("tu_1"), Name: aws.String("shell__exec"),
				Input: document.NewLazyDocument(map[string]any{"cmd": "ls"})}},
		}}},
		StopReason: types.StopReasonToolUse,
		Usage:      &types.TokenUsage{InputTokens: aws.Int32(10), OutputTokens: aws.Int32(5), TotalTokens: aws.Int32(15), CacheReadInputTokens: aws.Int32(2)},
	}
	whole := call.Complete(out, baseResponse(), counterIDs())

	s := call.NewResponseStream(baseResponse(), counterIDs())
	s.Start()
	for _, ev := range []types.ConverseStreamOutput{evStart(), evReason(0, "Hmm."), evSig(0, "sig"), evStop(0), evText(1, "Running it."), evStop(1),
		evTool(2, "tu_1", "shell__exec"), evArgs(2, `{"cmd":"ls"}`), evStop(2)} {
		s.Event(ev)
	}
	for _, ev := range evEnd(types.StopReasonToolUse) {
		s.Event(ev)
	}
	s.Finish()
	a, _ := json.Marshal(whole)
	b, _ := json.Marshal(s.Response())
	if !bytes.Equal(a, b) {
		t.Errorf("complete and streamed responses differ:\ncomplete: %s\nstreamed: %s", a, b)
	}
	openaitest.Validate(t, openaitest.Response, a)
	if whole.Output[2].Namespace != "shell" || whole.Output[2].Name != "exec" {
		t.Errorf("function call: got namespace %q name %q, want shell, exec", whole.Output[2].Namespace, whole.Output[2].Name)
	}
	if whole.OutputText != "Running it." {
		t.Errorf("output_text: got %q, want %q", whole.OutputText, "Running it.")
	}
}
