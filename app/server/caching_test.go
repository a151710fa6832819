package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
)

// TestPromptCacheTTL runs ENABLE_PROMPT_CACHING with PROMPT_CACHE_TTL=1h:
// Claude 4.5 gets 1-hour cache points and reports the writes, which usage
// shows; Nova, whose cache keeps 5 minutes, gets its cache points without
// the TTL (the emulator refuses 1h there, as Bedrock does), and so does a
// client's cache_control with ttl 1h.
func TestPromptCacheTTL(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.Translator = &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{}), PromptCaching: true, PromptCacheTTL: "1h"}
	})
	system := strings.Repeat("You answer briefly. ", 20)
	for _, tt := range []struct {
		model, content string
		want1h         bool
	}{
		{modelClaude, `"hi"`, true},
		{"us.amazon.nova-micro-v1:0", `"hi"`, false},
		{"us.amazon.nova-micro-v1:0", `[{"type":"text","text":"context","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"text","text":"q"}]`, false},
	} {
		body := `{"model":"` + tt.model + `","messages":[{"role":"system","content":"` + system + `"},{"role":"user","content":` + tt.content + `}]}`
		resp := h.post(t, "/api/v1/chat/completions", testKey, body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", tt.model, resp.StatusCode, b)
		}
		sent := string(h.lastRequest(t, "Converse").Body)
		if got := strings.Contains(sent, `"ttl":"1h"`); got != tt.want1h {
			t.Errorf("%s: 1h TTL sent %v, want %v: %s", tt.model, got, tt.want1h, sent)
		}
		var out struct {
			Usage struct {
				Details struct {
					Write   int `json:"cache_write_tokens"`
					Write1h int `json:"cache_write_1h_tokens"`
				} `json:"prompt_tokens_details"`
			} `json:"usage"`
		}
		_ = json.Unmarshal(b, &out)
		if tt.want1h && (out.Usage.Details.Write == 0 || out.Usage.Details.Write1h != out.Usage.Details.Write) {
			t.Errorf("%s: usage %s, want the writes reported as 1-hour writes", tt.model, b)
		}
	}
}
