package server_test

import (
	"strings"
	"testing"
)

// TestUnknownURLNamesTheRoutes: an unknown URL under the prefix lists the
// routes there; one outside says where the API lives.
func TestUnknownURLNamesTheRoutes(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		path      string
		want, not string
	}{
		{"/api/v1/chat/complete", "The routes are: POST /api/v1/chat/completions, POST /api/v1/embeddings, POST /api/v1/messages, POST /api/v1/messages/count_tokens, GET /api/v1/models, GET /api/v1/models/{id}, POST /api/v1/responses, DELETE /api/v1/responses/{id}, GET /api/v1/responses/{id}, GET /api/v1/responses/{id}/input_items, POST /api/v1/responses/input_tokens.", "lives under"},
		{"/v1/chat/completions", "The API lives under /api/v1: POST /api/v1/chat/completions", "The routes are"},
	}
	for _, tt := range tests {
		resp := h.post(t, tt.path, testKey, `{}`)
		e := checkError(t, resp, 404, "")
		msg := e["message"].(string)
		if e["code"] != "unknown_url" || !strings.Contains(msg, tt.want) || strings.Contains(msg, tt.not) {
			t.Errorf("%s: %v, want a message with %q", tt.path, e, tt.want)
		}
	}
}
