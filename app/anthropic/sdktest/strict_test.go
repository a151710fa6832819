package sdktest

import (
	"encoding/json"
	"testing"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
)

// recorder is a testing.TB that only records failures.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }

// TestStrictCatchesUnknownMembers proves strict can fail: a member Anthropic's
// schema lacks, at the top or nested, is reported.
func TestStrictCatchesUnknownMembers(t *testing.T) {
	for _, tc := range []struct {
		js   string
		fail bool
	}{
		{`{"type":"message_stop"}`, false},
		{`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":1}}`, true},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","p":"abc"}}`, true},
	} {
		var ev anthropic.MessageStreamEventUnion
		if err := json.Unmarshal([]byte(tc.js), &ev); err != nil {
			t.Fatal(err)
		}
		r := &recorder{TB: t}
		strict(r, "event", ev)
		if r.failed != tc.fail {
			t.Errorf("%s: strict failed=%v, want %v", tc.js, r.failed, tc.fail)
		}
	}
}
