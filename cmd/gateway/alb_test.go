//go:build lambda

package main

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// pathEcho answers with the path and query the handler saw.
var pathEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(r.URL.Path + "?" + r.URL.RawQuery))
})

// TestALBPathIgnoresHost is finding 13 of issue 12: a crafted Host header
// must not change the routed path.
func TestALBPathIgnoresHost(t *testing.T) {
	for _, host := range []string{"gw.example", "evil.example/admin?x=", "evil.example/admin#", "a@b/c", ""} {
		ev := events.ALBTargetGroupRequest{HTTPMethod: "GET", Path: "/api/v1/models",
			Headers: map[string]string{"host": host}, QueryStringParameters: map[string]string{"limit": "2"}}
		resp, err := serveALB(context.Background(), pathEcho, ev)
		if err != nil {
			t.Fatalf("host %q: %v", host, err)
		}
		if resp.Body != "/api/v1/models?limit=2" {
			t.Errorf("host %q: the handler saw %q, want /api/v1/models?limit=2", host, resp.Body)
		}
	}
}

// TestALBBadBase64Is400: a body flagged base64 that is not is the client's
// fault (a 400), not a 502.
func TestALBBadBase64Is400(t *testing.T) {
	ev := events.ALBTargetGroupRequest{HTTPMethod: "POST", Path: "/api/v1/chat/completions", Body: "not base64!", IsBase64Encoded: true}
	if _, err := serveALB(context.Background(), pathEcho, ev); !errors.Is(err, errBadEvent) {
		t.Errorf("got %v, want errBadEvent", err)
	}
	if resp := albError(http.StatusBadRequest, "invalid_request", "x"); resp.StatusCode != 400 || !strings.Contains(resp.Body, "invalid_request_error") {
		t.Errorf("albError(400) = %+v", resp)
	}
}

// FuzzALBRequest: whatever the event, albRequest returns a request or
// errBadEvent, never panics, and the routed path is the event's path, never
// something the Host header wrote.
func FuzzALBRequest(f *testing.F) {
	f.Add("POST", "/api/v1/chat/completions", "gw.example", "eyJhIjoxfQ==", true, "a", "1")
	f.Add("GET", "/api/v1/models/arn%3Aaws%3Abedrock", "evil.example/admin?", "", false, "", "")
	f.Fuzz(func(t *testing.T, method, path, host, body string, b64 bool, qk, qv string) {
		ev := events.ALBTargetGroupRequest{HTTPMethod: method, Path: path, Body: body, IsBase64Encoded: b64,
			Headers: map[string]string{"host": host}, QueryStringParameters: map[string]string{qk: qv}}
		req, err := albRequest(context.Background(), ev)
		if err != nil {
			if !errors.Is(err, errBadEvent) {
				t.Fatalf("error %v is not errBadEvent", err)
			}
			return
		}
		if req.URL.Host != "" || !strings.HasPrefix(req.URL.EscapedPath(), "/") {
			t.Fatalf("URL %q has a host or a relative path", req.URL)
		}
		want := path
		if want == "" {
			want = "/"
		}
		if p, err := url.PathUnescape(want); err == nil && req.URL.Path != p {
			t.Fatalf("path %q routed as %q", path, req.URL.Path)
		}
		if b64 {
			if _, err := base64.StdEncoding.DecodeString(body); err != nil {
				t.Fatal("a bad base64 body was accepted")
			}
		}
	})
}
