package anthropic

import (
	"encoding/json"
	"testing"
)

func TestContentDecodesStringOrBlocks(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     int
		text     string
	}{
		{"string", `"hi"`, 1, "hi"},
		{"blocks", `[{"type":"text","text":"a"},{"type":"text","text":"b"}]`, 2, "ab"},
		{"null", `null`, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Content
			if err := json.Unmarshal([]byte(tc.in), &c); err != nil {
				t.Fatal(err)
			}
			if len(c) != tc.want || TextOf(c) != tc.text {
				t.Errorf("got %+v, want %d blocks with text %q", c, tc.want, tc.text)
			}
		})
	}
	var c Content
	if err := json.Unmarshal([]byte(`42`), &c); err == nil {
		t.Error("a number decoded as content")
	}
}

func TestBlocksEncodeTheirTypeMembers(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{ContentBlock{Type: BlockText}, `{"type":"text","text":""}`},
		{ContentBlock{Type: BlockToolUse, ID: "t", Name: "f"}, `{"type":"tool_use","id":"t","name":"f","input":{}}`},
		{ContentBlock{Type: BlockThinking, Thinking: "x"}, `{"type":"thinking","thinking":"x","signature":""}`},
		{ContentBlock{Type: BlockRedactedThinking, Data: "ab"}, `{"type":"redacted_thinking","data":"ab"}`},
		{BlockDelta{Type: DeltaInputJSON}, `{"type":"input_json_delta","partial_json":""}`},
		{BlockDelta{Type: DeltaSignature, Signature: "s"}, `{"type":"signature_delta","signature":"s"}`},
	} {
		b, err := json.Marshal(tc.in)
		if err != nil || string(b) != tc.want {
			t.Errorf("got %s (%v), want %s", b, err, tc.want)
		}
	}
}
