package bedrocktest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestRoute(t *testing.T) {
	tests := []struct {
		method, path string
		want         routed
	}{
		{"POST", "/model/anthropic.claude-haiku-4-5-20251001-v1%3A0/converse", routed{"Converse", haiku}},
		{"POST", "/model/us.x%3A0/converse-stream", routed{"ConverseStream", "us.x:0"}},
		{"POST", "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.x%3A0/invoke",
			routed{"InvokeModel", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.x:0"}},
		{"GET", "/foundation-models", routed{op: "ListFoundationModels"}},
		{"GET", "/foundation-models/amazon.nova-pro-v1%3A0", routed{"GetFoundationModel", "amazon.nova-pro-v1:0"}},
		{"GET", "/inference-profiles", routed{op: "ListInferenceProfiles"}},
		{"GET", "/inference-profiles/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123",
			routed{"GetInferenceProfile", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"}},
		{"GET", "/model/x/converse", routed{}},    // wrong method
		{"POST", "/model/a/b/converse", routed{}}, // an unescaped slash splits the id
		{"POST", "/model/x/count-tokens", routed{"CountTokens", "x"}},
		{"POST", "/model/x/invoke-with-response-stream", routed{"InvokeModelWithResponseStream", "x"}},
		{"POST", "/model/x/apply-guardrail", routed{}},  // not emulated
		{"POST", "/model/bad%ZZ/converse", routed{}},    // bad escape
		{"GET", "/inference-profiles/", routed{}},       // empty label
		{"DELETE", "/inference-profiles/abc", routed{}}, // wrong method
		{"GET", "/foundation-models/a/b", routed{}},     // too deep
		{"POST", "/model/x/converse/extra", routed{}},   // too deep
		{"POST", "//model/x/converse", routed{}},        // empty first segment
		{"POST", "/MODEL/x/converse", routed{}},         // case matters
		{"POST", "/model/x%2Fy/converse", routed{"Converse", "x/y"}},
	}
	for _, tt := range tests {
		if got := route(tt.method, tt.path); got != tt.want {
			t.Errorf("route(%s %s) = %+v, want %+v", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestRequestLogIsBounded(t *testing.T) {
	e := New()
	for i := range 2*maxRequests + 1 {
		e.record(Request{Operation: strconv.Itoa(i)})
	}
	got := e.Requests()
	if len(got) < maxRequests || len(got) > 2*maxRequests {
		t.Errorf("kept %d requests, want between %d and %d", len(got), maxRequests, 2*maxRequests)
	}
	if last := got[len(got)-1].Operation; last != strconv.Itoa(2*maxRequests) {
		t.Errorf("newest request = %s, want %d", last, 2*maxRequests)
	}
}

func TestRequestsAreCopies(t *testing.T) {
	e := New()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/foundation-models", nil)
	req.Header.Set("X-Test", "a")
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "modelSummaries") {
		t.Fatalf("ServeHTTP = %d %s, want 200 with modelSummaries", rec.Code, rec.Body)
	}
	first := e.Requests()
	first[0].Header.Set("X-Test", "changed")
	first[0].Operation = "changed"
	if again := e.Requests(); again[0].Header.Get("X-Test") != "a" || again[0].Operation != "ListFoundationModels" {
		t.Errorf("Requests() shares state with an earlier copy: %+v", again[0])
	}
}

func TestRequestAccessKeyID(t *testing.T) {
	tests := []struct {
		name, auth, want string
	}{
		{"sigv4", "AWS4-HMAC-SHA256 Credential=KEYID123/20261204/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", "KEYID123"},
		{"bearer", "Bearer bedrock-api-key", ""},
		{"none", "", ""},
		{"no credential", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Request{Header: http.Header{}}
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if got := r.AccessKeyID(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
