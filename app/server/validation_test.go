package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/openbedrock/gateway/app/server"
)

// goTypeName matches what a Go type looks like in a message.
var goTypeName = regexp.MustCompile(`\[\][a-z]|\b(openai|bedrock|json|main|server)\.[A-Z]|\bmap\[|\bint64\b|\bfloat64\b|\bstruct\b|Go (value|type)`)

// TestValidationErrorsSpeakJSON is finding 14 of issue 12: validation
// errors name JSON types, never Go ones, and always carry a code.
func TestValidationErrorsSpeakJSON(t *testing.T) {
	h, _ := netHandler(t, func(o *server.Options) { o.DefaultModel = modelClaude })
	for _, tt := range []struct{ path, body string }{
		{"/api/v1/chat/completions", `{"messages":"hi"}`},
		{"/api/v1/chat/completions", `{"messages":[1]}`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":5}]}`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"n":"two"}`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"n":1.5}`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"stop":{"a":1}}`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"tools":{}}`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"max_tokens":1e300}`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"stream":"yes"}`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"temperature":5}`},
		{"/api/v1/chat/completions", `{"messages":[]}`},
		{"/api/v1/chat/completions", `[]`},
		{"/api/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":1e300}}`},
		{"/api/v1/embeddings", `{"input":{"a":1}}`},
		{"/api/v1/embeddings", `{"input":"x","dimensions":"big"}`},
		{"/api/v1/embeddings", `[]`},
	} {
		req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
		req.Header.Set("Authorization", "Bearer "+netTestKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var env struct {
			Error struct {
				Message string  `json:"message"`
				Code    *string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &env)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", tt.body, rec.Code, rec.Body)
		}
		if goTypeName.MatchString(env.Error.Message) {
			t.Errorf("%s: message names a Go type: %q", tt.body, env.Error.Message)
		}
		if env.Error.Code == nil || *env.Error.Code == "" {
			t.Errorf("%s: no code: %s", tt.body, rec.Body)
		}
	}
}
