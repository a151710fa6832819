package server_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

// TestStreamsForwardEachEventAsItArrives checks, on every streaming route,
// that an event reaches the client while Bedrock is still waiting to send
// the next one: the encoders write events unflushed and flush only when no
// other event is ready (EventStream.FlushWhenIdle, relay), so an encoder
// that forgot to flush before waiting would hold the first word back until
// the second came.
func TestStreamsForwardEachEventAsItArrives(t *testing.T) {
	// Bedrock's events come gap apart: the first word after firstAt gaps
	// (Anthropic's native stream has a content_block_start before it), the
	// second a gap later. The test stops at the first word, which must not
	// have waited for the second.
	const gap = 2 * time.Second
	h := newHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"first", "second"}, ChunkDelay: gap}
	})
	for _, tt := range []struct {
		name, path, body string
		firstAt          time.Duration
	}{
		{"chat", "/api/v1/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"x"}]}`, 1},
		{"responses", "/api/v1/responses", `{"stream":true,"input":"x"}`, 1},
		{"messages", "/api/v1/messages", `{"model":"` + modelClaude + `","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]}`, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel() // ends the request; the emulator's second word is never waited for
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testKey)
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "second") {
					t.Fatalf("the second word came before the first was seen: %q", sc.Text())
				}
				if strings.Contains(sc.Text(), "first") {
					if took := time.Since(start); took >= (tt.firstAt+1)*gap {
						t.Errorf("the first word took %v: it waited for the second event", took)
					}
					return
				}
			}
			t.Fatalf("the stream ended without the first word: %v", sc.Err())
		})
	}
}
