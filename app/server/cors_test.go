package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openbedrock/gateway/app/server"
)

// TestCORSPreflightNamesHeaders is finding 8 of issue 12: Allow-Headers
// names Authorization and the SDKs' headers instead of "*", which browsers
// never let cover Authorization and refuse with credentials.
func TestCORSPreflightNamesHeaders(t *testing.T) {
	for _, origins := range [][]string{{"*"}, {"https://*.app.example"}} {
		h, _ := netHandler(t, func(o *server.Options) { o.Origins = origins })
		req := httptest.NewRequest(http.MethodOptions, "/api/v1/chat/completions", nil)
		req.Header.Set("Origin", "https://ui.app.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-stainless-os,x-stainless-retry-count,x-evil")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Errorf("%v: preflight status %d, want 204", origins, rec.Code)
		}
		got := rec.Header().Get("Access-Control-Allow-Headers")
		if got != "authorization, content-type, x-stainless-os, x-stainless-retry-count" {
			t.Errorf("%v: Access-Control-Allow-Headers = %q, want the allowed requested headers by name", origins, got)
		}
		if rec.Header().Get("Access-Control-Allow-Credentials") == "true" && strings.Contains(got, "*") {
			t.Errorf("%v: credentials with a wildcard header list", origins)
		}
	}
}

// TestCORSRefusedOriginSaysWhy: a refused origin gets an error envelope,
// not an empty 403.
func TestCORSRefusedOriginSaysWhy(t *testing.T) {
	h, _ := netHandler(t, func(o *server.Options) { o.Origins = []string{"https://app.example"} })
	for _, origin := range []string{"https://evil.example", "https://app.example.evil"} {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/chat/completions", strings.NewReader(`{}`))
		req.Header.Set("Origin", origin)
		req.Header.Set("Authorization", "Bearer "+netTestKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var env struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != http.StatusForbidden || env.Error.Code != "origin_not_allowed" ||
			!strings.Contains(env.Error.Message, origin) {
			t.Errorf("%s: got %d %s, want 403 origin_not_allowed naming the origin", origin, rec.Code, rec.Body)
		}
	}
}
