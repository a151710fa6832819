package server_test

import (
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/server"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

// Keys of the per-key usage tests: their values must never reach /metrics.
const (
	keyTeamA = "sk-team-a-5f2c9e1d7b"
	keyTeamB = "sk-team-b-8a4d0c3f6e"
	keyTeamC = "sk-team-c-1b7e5a9d2c"
)

// newUsageHarness serves three named keys and counts usage per key name,
// at most maxNames of them.
func newUsageHarness(tb testing.TB, maxNames int) *observedHarness {
	tb.Helper()
	authn := auth.NewStatic(auth.NewKey("team-a", keyTeamA), auth.NewKey("team-b", keyTeamB), auth.NewKey("team-c", keyTeamC))
	h := newObservedHarnessWith(tb, metrics.Options{KeyNames: authn.Names, MaxKeyNames: maxNames},
		func(o *server.Options) { o.Auth = authn })
	h.emu.Script(func(r bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"ok"}, Usage: &bedrocktest.Usage{InputTokens: 10, OutputTokens: 2}}
	})
	return h
}

// usageRequest is one request on a route that calls Bedrock.
type usageRequest struct {
	name, path, body string
}

func usageRequests() []usageRequest {
	return []usageRequest{
		{"chat", "/api/v1/chat/completions", `{"model":"` + modelClaude + `","messages":[{"role":"user","content":"hi"}]}`},
		{"chat stream", "/api/v1/chat/completions", `{"model":"` + modelClaude + `","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"responses", "/api/v1/responses", `{"model":"` + modelClaude + `","input":"hi","store":false}`},
		{"messages", "/api/v1/messages", `{"model":"` + modelClaude + `","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`},
		{"bedrock converse", "/bedrock/model/" + modelClaude + "/converse", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`},
		{"embeddings", "/api/v1/embeddings", `{"model":"` + modelTitan + `","input":"hello embeddings"}`}, // 5 tokens in the emulator
	}
}

// send posts every request with key and checks each succeeded.
func (h *observedHarness) send(tb testing.TB, key string, reqs []usageRequest) {
	tb.Helper()
	for _, r := range reqs {
		resp := h.post(tb, r.path, key, r.body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("%s: status %d: %s", r.name, resp.StatusCode, b)
		}
	}
}

// TestUsagePerKey checks /metrics counts requests, tokens and cost per key
// name on every route that calls Bedrock, and never shows a key.
func TestUsagePerKey(t *testing.T) {
	h := newUsageHarness(t, 100)
	reqs := usageRequests()
	h.send(t, keyTeamA, reqs)
	h.send(t, keyTeamB, reqs[:2])
	chats := float64(len(reqs) - 1) // all but the embeddings
	if resp := h.post(t, "/api/v1/chat/completions", "sk-nobody", reqs[0].body); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown key: status %d, want 401", resp.StatusCode)
	}
	// The access log line, and so the observer, comes after the response.
	waitFor(t, "the per-key counts", func() bool {
		m := h.scrape(t)
		return sample(m, "gateway_key_requests_total", map[string]string{"key": "team-a"}) == float64(len(reqs)) &&
			sample(m, "gateway_key_requests_total", map[string]string{"key": "team-b"}) == 2
	})
	m := h.scrape(t)
	checks := []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"model": modelClaude, "key": "team-a", "type": "input"}, 10 * chats},
		{map[string]string{"model": modelClaude, "key": "team-a", "type": "output"}, 2 * chats},
		{map[string]string{"model": modelTitan, "key": "team-a", "type": "input"}, 5},
		{map[string]string{"model": modelClaude, "key": "team-b", "type": "input"}, 20},
	}
	for _, c := range checks {
		if got := sample(m, "gateway_tokens_total", c.labels); got != c.want {
			t.Errorf("gateway_tokens_total%v = %g, want %g", c.labels, got, c.want)
		}
	}
	// 10×3 + 2×15 = 60 per million a request.
	if got, want := sample(m, "gateway_cost_usd_total", map[string]string{"model": modelClaude, "key": "team-a"}), 60e-6*chats; !near(got, want) {
		t.Errorf("team-a cost %g, want %g", got, want)
	}
	if got := sample(m, "gateway_key_requests_total", map[string]string{"key": "team-c"}); got != -1 {
		t.Errorf("team-c, which sent nothing, has %g requests", got)
	}

	resp, err := http.Get(h.metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, k := range []string{keyTeamA, keyTeamB, "sk-nobody", "sk-team"} {
		if strings.Contains(string(body), k) {
			t.Errorf("/metrics holds a key (%s)", k)
		}
	}
}

// TestUsagePerKeyOverflow checks the names past the cap share "other".
func TestUsagePerKeyOverflow(t *testing.T) {
	h := newUsageHarness(t, 1)
	reqs := usageRequests()[:1]
	h.send(t, keyTeamA, reqs)
	h.send(t, keyTeamB, reqs)
	h.send(t, keyTeamC, reqs)
	waitFor(t, "the per-key counts", func() bool {
		return sample(h.scrape(t), "gateway_key_requests_total", map[string]string{"key": metrics.Other}) == 2
	})
	m := h.scrape(t)
	if got := sample(m, "gateway_key_requests_total", map[string]string{"key": "team-a"}); got != 1 {
		t.Errorf("team-a requests %g, want 1", got)
	}
	if got := sample(m, "gateway_tokens_total", map[string]string{"key": metrics.Other, "type": "input"}); got != 20 {
		t.Errorf("other's input tokens %g, want 20", got)
	}
	for name, f := range m {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "key" && (l.GetValue() == "team-b" || l.GetValue() == "team-c") {
					t.Errorf("%s has key=%s, a name past the cap of 1", name, l.GetValue())
				}
			}
		}
	}
}
