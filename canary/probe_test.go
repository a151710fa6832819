package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve starts h on 127.0.0.1:0 and returns its base URL. Handlers that
// hang must return when their request's context ends, which happens when
// the probe times out and drops the connection.
func serve(tb testing.TB, h http.Handler) string {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// fakeGateway answers GET /health the way the gateway does: the first
// request an instance serves says first_request true, later ones false.
type fakeGateway struct {
	instance string
	mu       sync.Mutex
	served   int
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/health" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	g.mu.Lock()
	g.served++
	first := g.served == 1
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"status":"ok","version":"v0.1.0","instance_id":%q,"started_at":"2026-01-02T03:04:05.123456789Z",`+
		`"uptime_seconds":1.5,"first_request":%t,"cold_start":%t,"runtime":"lambda","models_source":"bedrock","extra":{"x":1}}`,
		g.instance, first, first)
}

// answer returns a handler that always writes status and body.
func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hang returns a handler that never answers until the client gives up.
func hang() http.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
}

func newProber(tb testing.TB, cfg Config) *Prober {
	tb.Helper()
	p, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return p
}

func TestHealthProbe(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.Handler
		wantOK     bool
		wantStatus int
		wantCold   bool
		wantID     string
		wantErr    string // substring of Result.Error
	}{
		{
			name:    "healthy cold first request",
			handler: &fakeGateway{instance: "abc123"}, wantOK: true, wantStatus: 200, wantCold: true, wantID: "abc123",
		},
		{
			name:    "uppercase OK from the python fork",
			handler: answer(200, `{"status":"OK","version":"0.2.8"}`),
			wantOK:  true, wantStatus: 200,
		},
		{
			name:    "cold_start used when first_request is absent",
			handler: answer(200, `{"status":"ok","instance_id":"i1","cold_start":true}`),
			wantOK:  true, wantStatus: 200, wantCold: true, wantID: "i1",
		},
		{
			name:    "first_request wins over cold_start",
			handler: answer(200, `{"status":"ok","instance_id":"i1","first_request":false,"cold_start":true}`),
			wantOK:  true, wantStatus: 200, wantID: "i1",
		},
		{
			name:       "server error",
			handler:    answer(500, `{"error":{"message":"boom"}}`),
			wantStatus: 500, wantErr: "status 500, want 200: {\"error\"",
		},
		{
			name:       "unhealthy status",
			handler:    answer(200, `{"status":"degraded","instance_id":"i2"}`),
			wantStatus: 200, wantID: "i2", wantErr: `health status "degraded"`,
		},
		{
			name:       "malformed JSON",
			handler:    answer(200, `{"status":"ok",`),
			wantStatus: 200, wantErr: "decode health answer",
		},
		{
			name:       "not found",
			handler:    http.NotFoundHandler(),
			wantStatus: 404, wantErr: "status 404",
		},
		{
			name:    "hanging endpoint times out",
			handler: hang(),
			wantErr: "timeout after 200ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := serve(t, tt.handler)
			p := newProber(t, Config{Timeout: 200 * time.Millisecond})
			got := p.Run(t.Context(), []string{base})
			if len(got) != 1 {
				t.Fatalf("got %d results, want 1", len(got))
			}
			r := got[0]
			if r.OK != tt.wantOK || r.StatusCode != tt.wantStatus || r.Cold != tt.wantCold || r.InstanceID != tt.wantID {
				t.Errorf("got ok=%v status=%d cold=%v instance=%q, want ok=%v status=%d cold=%v instance=%q (error %q)",
					r.OK, r.StatusCode, r.Cold, r.InstanceID, tt.wantOK, tt.wantStatus, tt.wantCold, tt.wantID, r.Error)
			}
			if tt.wantErr == "" && r.Error != "" {
				t.Errorf("got error %q, want none", r.Error)
			}
			if !strings.Contains(r.Error, tt.wantErr) {
				t.Errorf("got error %q, want it to contain %q", r.Error, tt.wantErr)
			}
			if r.Target != base || r.Probe != "health" {
				t.Errorf("got target %q probe %q, want %q health", r.Target, r.Probe, base)
			}
			if r.Time.IsZero() || r.Latency <= 0 {
				t.Errorf("got time %v latency %v, want both set", r.Time, r.Latency)
			}
		})
	}
}

func TestHealthProbeSeesWarmAfterCold(t *testing.T) {
	base := serve(t, &fakeGateway{instance: "warm1"})
	p := newProber(t, Config{})
	first := p.Run(t.Context(), []string{base})[0]
	second := p.Run(t.Context(), []string{base})[0]
	if !first.Cold || second.Cold {
		t.Errorf("got cold %v then %v, want true then false", first.Cold, second.Cold)
	}
	if first.Version != "v0.1.0" || first.Runtime != "lambda" || first.StartedAt != "2026-01-02T03:04:05.123456789Z" {
		t.Errorf("got version %q runtime %q started_at %q, want the gateway's", first.Version, first.Runtime, first.StartedAt)
	}
}

func TestHangingEndpointTimeoutFires(t *testing.T) {
	base := serve(t, hang())
	p := newProber(t, Config{Timeout: 100 * time.Millisecond})
	start := time.Now()
	r := p.Run(t.Context(), []string{base})[0]
	// A sanity bound, not a performance target: without a working timeout
	// this would hang until the test binary's own timeout.
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("probe took %v, want the 100ms timeout to end it", elapsed)
	}
	if r.OK || !strings.Contains(r.Error, "timeout") {
		t.Errorf("got ok=%v error %q, want a timeout failure", r.OK, r.Error)
	}
}

func TestParentCancelIsAFailureNotAHang(t *testing.T) {
	base := serve(t, hang())
	p := newProber(t, Config{Timeout: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	r := p.Run(ctx, []string{base})[0]
	if r.OK || !strings.Contains(r.Error, "canceled") {
		t.Errorf("got ok=%v error %q, want a canceled failure", r.OK, r.Error)
	}
}

func TestUnreachableTarget(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there now
	r := newProber(t, Config{Timeout: time.Second}).Run(t.Context(), []string{base})[0]
	if r.OK || r.StatusCode != 0 || r.Error == "" {
		t.Errorf("got ok=%v status=%d error %q, want a connection failure", r.OK, r.StatusCode, r.Error)
	}
}

func TestOversizedBodyFails(t *testing.T) {
	big := `{"status":"ok","pad":"` + strings.Repeat("x", maxBody) + `"}`
	base := serve(t, answer(200, big))
	r := newProber(t, Config{}).Run(t.Context(), []string{base})[0]
	if r.OK || !strings.Contains(r.Error, "body larger than") {
		t.Errorf("got ok=%v error %q, want a body-too-large failure", r.OK, r.Error)
	}
}

func TestRunManyTargetsKeepsOrder(t *testing.T) {
	a := serve(t, &fakeGateway{instance: "a"})
	b := serve(t, answer(503, `{}`))
	c := serve(t, &fakeGateway{instance: "c"})
	got := newProber(t, Config{}).Run(t.Context(), []string{a, b, c})
	want := []struct {
		target string
		ok     bool
	}{{a, true}, {b, false}, {c, true}}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Target != w.target || got[i].OK != w.ok {
			t.Errorf("result %d: got %s ok=%v, want %s ok=%v", i, got[i].Target, got[i].OK, w.target, w.ok)
		}
	}
}

func TestPanickingCheckBecomesFailure(t *testing.T) {
	base := serve(t, answer(200, `{}`))
	p := newProber(t, Config{})
	p.probes = []Probe{{
		Name: "boom", Method: http.MethodGet, Path: "/", Timeout: time.Second,
		Check: func([]byte, *Result) error { panic("bad answer") },
	}}
	r := p.Run(t.Context(), []string{base})[0]
	if r.OK || !strings.Contains(r.Error, "panicked: bad answer") {
		t.Errorf("got ok=%v error %q, want the panic as a failure", r.OK, r.Error)
	}
}

// chatGateway checks the deep probe's request the way the gateway would.
func chatGateway(tb testing.TB, key string) http.HandlerFunc {
	tb.Helper()
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			answer(200, `{"status":"ok","instance_id":"i"}`)(w, r)
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+key {
			answer(401, `{"error":{"message":"Invalid API Key","type":"invalid_request_error"}}`)(w, r)
			return
		}
		var req struct {
			Model     string `json:"model"`
			MaxTokens int    `json:"max_tokens"`
			Messages  []any  `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.MaxTokens != 1 || req.Model == "" || len(req.Messages) != 1 {
			answer(400, fmt.Sprintf(`{"error":{"message":"bad probe request %+v %v"}}`, req, err))(w, r)
			return
		}
		answer(200, `{"id":"chatcmpl-1","object":"chat.completion","model":"`+req.Model+`",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"length"}]}`)(w, r)
	}
}

func TestDeepProbe(t *testing.T) {
	const key = "sk-canary-test-key"
	tests := []struct {
		name    string
		handler http.Handler
		key     Secret
		wantOK  bool
		wantErr string
	}{
		{name: "answers", handler: chatGateway(t, key), key: key, wantOK: true},
		{name: "wrong key", handler: chatGateway(t, key), key: "sk-wrong", wantErr: "status 401"},
		{name: "no choices", handler: answer(200, `{"status":"ok","choices":[]}`), key: key, wantErr: "no choices"},
		{name: "malformed", handler: answer(200, `not json`), key: key, wantErr: "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := serve(t, tt.handler)
			p := newProber(t, Config{Deep: true, APIKey: tt.key, Model: "amazon.nova-micro-v1:0"})
			got := p.Run(t.Context(), []string{base})
			if len(got) != 2 || got[1].Probe != "chat" {
				t.Fatalf("got %d results (%+v), want health then chat", len(got), got)
			}
			r := got[1]
			if r.OK != tt.wantOK || !strings.Contains(r.Error, tt.wantErr) {
				t.Errorf("got ok=%v error %q, want ok=%v error containing %q", r.OK, r.Error, tt.wantOK, tt.wantErr)
			}
		})
	}
}

func TestAPIKeyNeverPrinted(t *testing.T) {
	const key = "sk-do-not-print-me"
	base := serve(t, answer(500, `{}`))
	p := newProber(t, Config{Deep: true, APIKey: key})
	results := p.Run(t.Context(), []string{base})

	var logs bytes.Buffer
	Log(t.Context(), slog.New(slog.NewJSONHandler(&logs, nil)), results)
	var jsonl bytes.Buffer
	if err := WriteJSONL(&jsonl, results); err != nil {
		t.Fatal(err)
	}
	probes, err := json.Marshal(p.Probes())
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{
		"log":        logs.String(),
		"jsonl":      jsonl.String(),
		"probe json": string(probes),
		"probe %v":   fmt.Sprintf("%v", p.Probes()),
		"probe %#v":  fmt.Sprintf("%#v", p.Probes()),
	} {
		if strings.Contains(s, key) {
			t.Errorf("%s contains the API key: %s", name, s)
		}
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"deep without key", Config{Deep: true}, "needs an API key"},
		{"deep without TLS verification", Config{Deep: true, APIKey: "k", InsecureSkipVerify: true}, "without TLS verification"},
		{"negative timeout", Config{Timeout: -time.Second}, "negative"},
		{"relative prefix", Config{RoutePrefix: "api/v1"}, "must start with /"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	p := newProber(t, Config{})
	probes := p.Probes()
	if len(probes) != 1 || probes[0].Name != "health" || probes[0].Timeout != DefaultTimeout {
		t.Errorf("got %+v, want only the health probe with the default timeout (the deep probe is off by default)", probes)
	}
	deep := newProber(t, Config{Deep: true, APIKey: "k", RoutePrefix: "/v1/"}).Probes()
	if len(deep) != 2 || deep[1].Path != "/v1/chat/completions" || !bytes.Contains(deep[1].Body, []byte(`"model":"`+DefaultModel+`"`)) {
		t.Errorf("got %+v, want a chat probe on /v1/chat/completions with the default model", deep)
	}
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "https://gw.example.com", want: []string{"https://gw.example.com"}},
		{in: " https://a.example.com/ , http://127.0.0.1:8080,", want: []string{"https://a.example.com", "http://127.0.0.1:8080"}},
		{in: "https://a.example.com/base/", want: []string{"https://a.example.com/base"}},
		{in: "", wantErr: true},
		{in: " , ", wantErr: true},
		{in: "gw.example.com", wantErr: true},
		{in: "ftp://gw.example.com", wantErr: true},
		{in: "https://gw.example.com/?x=1", wantErr: true},
		{in: "https://user:pw@gw.example.com", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseTargets(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseTargets(%q): got error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("ParseTargets(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFailure(t *testing.T) {
	ok := Result{Target: "https://a", Probe: "health", OK: true}
	bad := Result{Target: "https://b", Probe: "health", Error: "status 500"}
	if err := Failure([]Result{ok, ok}); err != nil {
		t.Errorf("got %v, want nil when all passed", err)
	}
	err := Failure([]Result{ok, bad})
	if !errors.Is(err, ErrProbeFailed) || !strings.Contains(err.Error(), "1 of 2: https://b health: status 500") {
		t.Errorf("got %v, want ErrProbeFailed naming the failed probe", err)
	}
	var pf *ProbeFailure
	if !errors.As(err, &pf) || len(pf.Failed) != 1 || pf.Total != 2 || pf.Failed[0].Target != "https://b" {
		t.Errorf("got %#v, want a *ProbeFailure with the one failed result of two", err)
	}
}
