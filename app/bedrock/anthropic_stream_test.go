package bedrock

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/anthropic"
)

// anthropicTranscript runs events through an AnthropicStream and renders
// the SSE the client would read; tail is sent after them (an error event).
func anthropicTranscript(t *testing.T, evs []types.ConverseStreamOutput, tail ...anthropic.Event) []byte {
	t.Helper()
	s := NewAnthropicStream("msg_1", "amazon.nova-pro-v1:0")
	var buf bytes.Buffer
	write := func(out []anthropic.Event) {
		for _, ev := range out {
			if err := anthropic.AppendEvent(&buf, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(s.Start())
	for _, ev := range evs {
		write(s.Event(ev))
	}
	if len(tail) > 0 {
		write(tail)
	} else {
		write(s.Finish())
	}
	return buf.Bytes()
}

func TestAnthropicStreamGolden(t *testing.T) {
	cat := func(parts ...[]types.ConverseStreamOutput) []types.ConverseStreamOutput {
		var out []types.ConverseStreamOutput
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	one := func(evs ...types.ConverseStreamOutput) []types.ConverseStreamOutput { return evs }
	for _, tc := range []struct {
		name string
		evs  []types.ConverseStreamOutput
		tail []anthropic.Event
	}{
		{"text", cat(one(evStart(), evText(0, "Hel"), evText(0, "lo"), evStop(0)), evEnd(types.StopReasonEndTurn)), nil},
		{"tools", cat(one(evStart(), evText(0, "Let me look."), evStop(0),
			evTool(1, "tooluse_1", "get_weather"), evArgs(1, `{"city":`), evArgs(1, `"Paris"}`), evStop(1),
			evTool(2, "tooluse_2", "get_time"), evArgs(2, `{}`), evStop(2)), evEnd(types.StopReasonToolUse)), nil},
		{"thinking", cat(one(evStart(), evReason(0, "Think"), evReason(0, "ing."), evSig(0, "c2ln"), evStop(0),
			evText(1, "42"), evStop(1)), evEnd(types.StopReasonMaxTokens)), nil},
		{"error-mid-stream", one(evStart(), evText(0, "Hel")),
			[]anthropic.Event{anthropic.NewError(anthropic.ErrOverloaded, "Bedrock: Too many requests, please wait before trying again.", "req_1")}},
		{"no-metadata", one(evStart(), evText(0, "cut")), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, filepath.Join("..", "anthropic", tc.name), anthropicTranscript(t, tc.evs, tc.tail...))
		})
	}
}
