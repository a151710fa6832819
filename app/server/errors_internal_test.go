package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestEnvelopePerRouteGroup: a route group's envelope renders every error
// of its requests, its middleware's included; other routes keep OpenAI's.
func TestEnvelopePerRouteGroup(t *testing.T) {
	s := &Server{opts: Options{Auth: denyAll{}}, log: slog.New(slog.DiscardHandler)}
	e := gin.New()
	other := func(_ *gin.Context, ae *apiError) (int, any) {
		return ae.status(), map[string]string{"code": ae.Code, "status": http.StatusText(ae.status())}
	}
	e.Group("/other", useEnvelope(other), s.authenticate()).POST("/x", func(*gin.Context) {})
	e.Group("/api", s.authenticate()).POST("/x", func(*gin.Context) {})
	tests := []struct{ path, want string }{
		{"/other/x", `{"code":"missing_api_key","status":"Unauthorized"}`},
		{"/api/x", `{"error":{"message":"You didn't provide an API key. Send it as 'Authorization: Bearer \u003ckey\u003e'.","type":"invalid_request_error","param":null,"code":"missing_api_key"}}`},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, nil))
		if w.Code != http.StatusUnauthorized || w.Body.String() != tt.want {
			t.Errorf("%s: %d %s, want 401 %s", tt.path, w.Code, w.Body, tt.want)
		}
	}
}

type denyAll struct{}

func (denyAll) Authenticate(context.Context, string) (string, bool) { return "", false }
