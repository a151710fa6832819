package server_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
)

func TestParseKeyLimits(t *testing.T) {
	got, err := server.ParseKeyLimits(" team-a:rpm=60,tpm=100000 ; *:concurrent=4;")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]server.KeyLimit{"team-a": {RequestsPerMinute: 60, TokensPerMinute: 100000}, "*": {Concurrent: 4}}
	if len(got) != len(want) || got["team-a"] != want["team-a"] || got["*"] != want["*"] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"team-a", "team-a:rpm", "team-a:rpm=0", "team-a:rps=1", ":rpm=1", "a:rpm=1;a:tpm=2", "a:rpm=-1"} {
		if _, err := server.ParseKeyLimits(bad); err == nil {
			t.Errorf("ParseKeyLimits(%q) succeeded, want an error", bad)
		}
	}
}

// TestKeyRequestsPerMinute: a key over its rpm gets 429 with Retry-After
// and the x-ratelimit-* headers; another key is not affected.
func TestKeyRequestsPerMinute(t *testing.T) {
	h := server.New(server.Options{
		Auth:      auth.NewStatic(auth.NewKey("team-a", "sk-a"), auth.NewKey("team-b", "sk-b")),
		KeyLimits: map[string]server.KeyLimit{"team-a": {RequestsPerMinute: 2}},
		Catalogue: bedrock.NewStaticCatalogue(modelClaude),
	})
	get := func(key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i, wantRemaining := range []string{"1", "0"} {
		rec := get("sk-a")
		if rec.Code != http.StatusOK || rec.Header().Get("x-ratelimit-remaining-requests") != wantRemaining ||
			rec.Header().Get("x-ratelimit-limit-requests") != "2" {
			t.Errorf("request %d: %d, headers %v", i, rec.Code, rec.Header())
		}
	}
	rec := get("sk-a")
	retry, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "rate_limit_exceeded") || retry < 1 || retry > 60 {
		t.Errorf("third request: %d %s, Retry-After %q; want 429 rate_limit_exceeded with Retry-After 1..60", rec.Code, rec.Body, rec.Header().Get("Retry-After"))
	}
	if rec.Header().Get("x-ratelimit-reset-requests") == "" {
		t.Error("no x-ratelimit-reset-requests on the 429")
	}
	if rec := get("sk-b"); rec.Code != http.StatusOK || rec.Header().Get("x-ratelimit-limit-requests") != "" {
		t.Errorf("an unlimited key: %d %v", rec.Code, rec.Header())
	}
}

// TestKeyTokensAndConcurrency: tokens are counted when requests end, and a
// key's requests at once are capped.
func TestKeyTokensAndConcurrency(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.KeyLimits = map[string]server.KeyLimit{server.AnyKey: {TokensPerMinute: 5, Concurrent: 1}}
	})
	chat := `{"messages":[{"role":"user","content":"a prompt of a few tokens\n@emulate {\"delay_ms\":400}"}]}`
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Go(func() { codes[i] = h.post(t, "/api/v1/chat/completions", testKey, chat).StatusCode })
	}
	wg.Wait()
	if !(codes[0] == http.StatusOK && codes[1] == http.StatusTooManyRequests || codes[1] == http.StatusOK && codes[0] == http.StatusTooManyRequests) {
		t.Errorf("two at once with concurrent=1: %v, want one 200 and one 429", codes)
	}
	resp := h.post(t, "/api/v1/chat/completions", testKey, chat)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("x-ratelimit-remaining-tokens") != "0" {
		t.Errorf("after the tokens of the minute were used: %d, remaining tokens %q; want 429 and 0", resp.StatusCode, resp.Header.Get("x-ratelimit-remaining-tokens"))
	}
}

// TestKeyLimitsCoverAnthropic: the Anthropic routes count against the same
// key limits.
func TestKeyLimitsCoverAnthropic(t *testing.T) {
	h := server.New(server.Options{
		Auth:      auth.NewStatic(auth.NewKey("team-a", "sk-a")),
		KeyLimits: map[string]server.KeyLimit{server.AnyKey: {RequestsPerMinute: 1}},
		Catalogue: bedrock.NewStaticCatalogue(modelClaude),
	})
	codes := make([]int, 2)
	for i := range codes {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/messages", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer sk-a")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		codes[i] = rec.Code
	}
	if codes[0] == http.StatusTooManyRequests || codes[1] != http.StatusTooManyRequests {
		t.Errorf("two /messages requests at rpm=1: %v, want the second 429", codes)
	}
}

// TestKeyLimitsShareOneBudget: the OpenAI, Anthropic and Bedrock routes
// draw on one budget per key, not one each.
func TestKeyLimitsShareOneBudget(t *testing.T) {
	h := server.New(server.Options{
		Auth:      auth.NewStatic(auth.NewKey("team-a", "sk-a")),
		KeyLimits: map[string]server.KeyLimit{server.AnyKey: {RequestsPerMinute: 3}},
		Catalogue: bedrock.NewStaticCatalogue(modelClaude),
	})
	var codes []int
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/models"},
		{http.MethodPost, "/api/v1/messages"},
		{http.MethodGet, "/bedrock/foundation-models"},
		{http.MethodGet, "/bedrock/inference-profiles"},
	} {
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer sk-a")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	if codes[0] == http.StatusTooManyRequests || codes[1] == http.StatusTooManyRequests || codes[2] == http.StatusTooManyRequests ||
		codes[3] != http.StatusTooManyRequests {
		t.Errorf("four requests on three APIs at rpm=3: %v, want only the fourth 429", codes)
	}
}

// TestKeyLimitsCoverResponses: POST /responses counts its tokens against
// the key's tokens per minute.
func TestKeyLimitsCoverResponses(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.KeyLimits = map[string]server.KeyLimit{server.AnyKey: {TokensPerMinute: 5}}
	})
	body := `{"model":"` + modelClaude + `","input":"a prompt of a few tokens"}`
	if resp := h.post(t, "/api/v1/responses", testKey, body); resp.StatusCode != http.StatusOK {
		t.Fatalf("first response: %d, want 200", resp.StatusCode)
	}
	resp := h.post(t, "/api/v1/responses", testKey, body)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("x-ratelimit-remaining-tokens") != "0" {
		t.Errorf("after the tokens of the minute were used on /responses: %d, remaining tokens %q; want 429 and 0",
			resp.StatusCode, resp.Header.Get("x-ratelimit-remaining-tokens"))
	}
}
