package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	openaigo "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/server"
)

const testKey = "sk-test-0123456789"

// harness is a gateway in front of a Bedrock emulator, both on 127.0.0.1.
type harness struct {
	emu    *bedrocktest.Server
	url    string // gateway base URL
	client openaigo.Client
	logs   *syncBuffer
	// handler is the gateway, for tests that serve it themselves (TLS).
	handler http.Handler
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newHarness(tb testing.TB, configure ...func(*server.Options)) *harness {
	tb.Helper()
	emu := bedrocktest.NewServer(tb)
	return newHarnessOn(tb, emu, emu.RuntimeClient(tb), configure...)
}

// newHarnessOn is newHarness with the emulator and the runtime client given.
func newHarnessOn(tb testing.TB, emu *bedrocktest.Server, rt bedrock.Runtime, configure ...func(*server.Options)) *harness {
	tb.Helper()
	logs := &syncBuffer{}
	opts := server.Options{
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Bedrock:      rt,
		Catalogue:    bedrock.NewStaticCatalogue(modelClaude),
		Auth:         auth.NewStatic(auth.NewKey("default", testKey)),
		DefaultModel: modelClaude,
		Version:      "test",
		Origins:      []string{"*"},
	}
	for _, c := range configure {
		c(&opts)
	}
	handler := server.New(opts)
	srv := httptest.NewServer(handler)
	tb.Cleanup(srv.Close)
	client := openaigo.NewClient(option.WithBaseURL(srv.URL+"/api/v1"), option.WithAPIKey(testKey),
		option.WithMaxRetries(0), option.WithRequestTimeout(20*time.Second))
	return &harness{emu: emu, url: srv.URL, client: client, logs: logs, handler: handler}
}

// post sends a raw request to the gateway.
func (h *harness) post(tb testing.TB, path, key, body string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return resp
}

// lastRequest returns the emulator's last request of an operation.
func (h *harness) lastRequest(tb testing.TB, op string) bedrocktest.Request {
	tb.Helper()
	reqs := h.emu.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Operation == op {
			return reqs[i]
		}
	}
	tb.Fatalf("the emulator saw no %s request", op)
	return bedrocktest.Request{}
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ = context.Background
