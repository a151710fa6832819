package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/server"
)

const (
	modelGlobalClaude = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
	modelHaiku        = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
	modelCohere       = "cohere.embed-english-v3"
)

// failoverGateway is a gateway whose region (us-east-1) is one emulator
// and whose fallback regions are others, each its own emulator on
// 127.0.0.1, wired to its region as FALLBACK_REGIONS and
// BEDROCK_REGION_ENDPOINTS wire them.
type failoverGateway struct {
	url     string
	primary *bedrocktest.Server
	regions map[string]*bedrocktest.Server // the fallback regions' emulators
	logs    *syncBuffer
}

func newFailoverGateway(tb testing.TB, fallbackRegions []string, configure ...func(*server.Options)) *failoverGateway {
	tb.Helper()
	g := &failoverGateway{primary: bedrocktest.NewServer(tb), regions: map[string]*bedrocktest.Server{}, logs: &syncBuffer{}}
	opts := server.Options{
		Logger:       slog.New(slog.NewJSONHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Bedrock:      g.primary.RuntimeClient(tb),
		Region:       "us-east-1",
		Catalogue:    bedrock.NewStaticCatalogue(modelClaude, modelGlobalClaude, modelHaiku, modelNova2, modelCohere, modelTitan),
		Auth:         auth.NewStatic(auth.NewKey("default", testKey)),
		DefaultModel: modelClaude,
	}
	for _, r := range fallbackRegions {
		emu := bedrocktest.NewServer(tb)
		g.regions[r] = emu
		opts.Fallbacks = append(opts.Fallbacks, bedrock.Region{Name: r,
			Runtime: emu.RuntimeClient(tb, func(o *bedrockruntime.Options) { o.Region = r })})
	}
	for _, c := range configure {
		c(&opts)
	}
	srv := httptest.NewServer(server.New(opts))
	tb.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

// fail makes emu answer every call for a model in models (all when none
// are named) with the exception typ before any event.
func fail(emu *bedrocktest.Server, typ string, models ...string) {
	emu.Script(func(r bedrocktest.Request) *bedrocktest.Reply {
		if len(models) == 0 || contains(models, r.ModelID) {
			return &bedrocktest.Reply{Error: &bedrocktest.Error{Type: typ}}
		}
		return nil
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// operations counts the runtime calls an emulator received.
func operations(emu *bedrocktest.Server) int {
	n := 0
	for _, r := range emu.Requests() {
		if r.ModelID != "" {
			n++
		}
	}
	return n
}

func (g *failoverGateway) post(tb testing.TB, path, body string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("anthropic-version", "2023-06-01")
	if !strings.HasPrefix(path, "/api/v1/messages") {
		req.Header.Del("anthropic-version")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestFailoverRegion: the gateway's region throttles or is unavailable,
// so every API's call lands on the fallback region, before any byte went
// to the client; the response names the region and model that served.
func TestFailoverRegion(t *testing.T) {
	routes := []struct {
		name, path, body, model string
	}{
		{"chat", "/api/v1/chat/completions", `{"model":"` + modelClaude + `","messages":[{"role":"user","content":"hi"}]}`, modelClaude},
		{"chat stream", "/api/v1/chat/completions", `{"model":"` + modelClaude + `","stream":true,"messages":[{"role":"user","content":"hi"}]}`, modelClaude},
		{"responses", "/api/v1/responses", `{"model":"` + modelClaude + `","input":"hi"}`, modelClaude},
		{"responses stream", "/api/v1/responses", `{"model":"` + modelClaude + `","input":"hi","stream":true}`, modelClaude},
		{"messages (Claude, native)", "/api/v1/messages", `{"model":"` + modelClaude + `","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`, modelClaude},
		{"messages stream (Claude, native)", "/api/v1/messages", `{"model":"` + modelClaude + `","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, modelClaude},
		{"messages (Converse)", "/api/v1/messages", `{"model":"` + modelNova2 + `","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`, modelNova2},
		{"messages stream (Converse)", "/api/v1/messages", `{"model":"` + modelNova2 + `","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, modelNova2},
		{"embeddings", "/api/v1/embeddings", `{"model":"` + modelCohere + `","input":["a","b"]}`, modelCohere},
		{"bedrock converse", "/bedrock/model/" + modelClaude + "/converse", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`, modelClaude},
		{"bedrock converse-stream", "/bedrock/model/" + modelClaude + "/converse-stream", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`, modelClaude},
		{"bedrock invoke", "/bedrock/model/" + modelClaude + "/invoke", anthropicBody, modelClaude},
	}
	for _, exception := range []string{"ThrottlingException", "ServiceUnavailableException"} {
		g := newFailoverGateway(t, []string{"us-west-2"})
		fail(g.primary, exception)
		for _, r := range routes {
			t.Run(exception+"/"+r.name, func(t *testing.T) {
				before := operations(g.regions["us-west-2"])
				resp, body := g.post(t, r.path, r.body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("got %d %s, want 200 from the fallback region", resp.StatusCode, body)
				}
				if got, want := resp.Header.Get(server.RegionHeader)+" "+resp.Header.Get(server.ModelHeader), "us-west-2 "+r.model; got != want {
					t.Errorf("served by %q, want %q", got, want)
				}
				if operations(g.regions["us-west-2"]) == before {
					t.Error("the fallback region's emulator saw no call")
				}
				if strings.Contains(body, exception) || strings.Contains(body, "rate_limit") {
					t.Errorf("the answer mentions the primary's failure: %s", body)
				}
			})
		}
		waitFor(t, "the access log", func() bool { return strings.Contains(g.logs.String(), `"region":"us-west-2","failed_over":true`) })
		if !strings.Contains(g.logs.String(), `"msg":"bedrock failover"`) {
			t.Error("no failover in the log")
		}
	}
}

// TestFailoverNotAfterFirstEvent: a stream that fails after its first
// event has gone to the client ends with an error event; it is never
// started again elsewhere.
func TestFailoverNotAfterFirstEvent(t *testing.T) {
	g := newFailoverGateway(t, []string{"us-west-2"})
	g.primary.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"a", "b", "c"}, StreamError: &bedrocktest.Error{Type: "throttlingException"}, StreamErrorAfter: 2}
	})
	for _, r := range []struct{ name, path, body, want string }{
		{"chat", "/api/v1/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "rate_limit"},
		{"responses", "/api/v1/responses", `{"model":"` + modelClaude + `","input":"hi","stream":true}`, "rate_limit"},
		{"messages", "/api/v1/messages", `{"model":"` + modelNova2 + `","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "rate_limit"},
		{"bedrock converse-stream", "/bedrock/model/" + modelClaude + "/converse-stream", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`, "throttlingException"},
	} {
		t.Run(r.name, func(t *testing.T) {
			resp, body := g.post(t, r.path, r.body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, r.want) {
				t.Errorf("got %d %q, want a stream ending with %s", resp.StatusCode, body, r.want)
			}
			if got := resp.Header.Get(server.RegionHeader); got != "us-east-1" {
				t.Errorf("served by %q, want us-east-1", got)
			}
		})
	}
	if n := operations(g.regions["us-west-2"]); n != 0 {
		t.Errorf("the fallback region saw %d calls, want none", n)
	}
}

// TestFailoverModel: with MODEL_FALLBACKS, a model throttled in every
// region gives way to its fallback, translated for it; the answer names
// the model that served, in its model field too.
func TestFailoverModel(t *testing.T) {
	g := newFailoverGateway(t, []string{"us-west-2"}, func(o *server.Options) {
		o.ModelFallbacks = map[string][]string{"sonnet": {modelHaiku, modelNova2}, modelCohere: {modelTitan}}
		o.ModelAliases = map[string]string{"sonnet": modelClaude}
	})
	fail(g.primary, "ThrottlingException", modelClaude)
	fail(g.regions["us-west-2"], "ServiceUnavailableException", modelClaude)

	resp, body := g.post(t, "/api/v1/chat/completions", `{"model":"sonnet","messages":[{"role":"user","content":"hi"}]}`)
	var out struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal([]byte(body), &out)
	if resp.StatusCode != http.StatusOK || out.Model != modelHaiku {
		t.Fatalf("got %d %s, want 200 from %s", resp.StatusCode, body, modelHaiku)
	}
	if got, want := resp.Header.Get(server.RegionHeader)+" "+resp.Header.Get(server.ModelHeader), "us-east-1 "+modelHaiku; got != want {
		t.Errorf("served by %q, want %q", got, want)
	}

	// The second fallback, a model of another family, gets the request
	// translated for it.
	fail(g.primary, "ThrottlingException", modelClaude, modelHaiku)
	fail(g.regions["us-west-2"], "ThrottlingException", modelClaude, modelHaiku)
	resp, body = g.post(t, "/api/v1/chat/completions", `{"model":"sonnet","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get(server.ModelHeader) != modelNova2 || !strings.Contains(body, `"model":"`+modelNova2+`"`) {
		t.Errorf("got %d %q %s, want a stream from %s", resp.StatusCode, resp.Header.Get(server.ModelHeader), body, modelNova2)
	}

	// On the Messages API a Claude model falls back to Claude models only
	// (it is served natively); a fallback of the other kind is skipped.
	m := newFailoverGateway(t, nil, func(o *server.Options) {
		o.ModelFallbacks = map[string][]string{modelClaude: {modelNova2, modelHaiku}}
	})
	fail(m.primary, "ThrottlingException", modelClaude)
	resp, body = m.post(t, "/api/v1/messages", `{"model":"`+modelClaude+`","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != http.StatusOK || resp.Header.Get(server.ModelHeader) != modelHaiku {
		t.Errorf("Messages: %d %s from %q, want 200 from %s", resp.StatusCode, body, resp.Header.Get(server.ModelHeader), modelHaiku)
	}
	if !strings.Contains(m.logs.String(), "MODEL_FALLBACKS names a model the gateway cannot serve") {
		t.Error("the skipped fallback was not logged")
	}

	// Embeddings and Bedrock's API never change the model, though it has
	// fallbacks that would answer.
	fail(g.primary, "ThrottlingException", modelClaude, modelCohere)
	fail(g.regions["us-west-2"], "ThrottlingException", modelClaude, modelCohere)
	if resp, body := g.post(t, "/bedrock/model/"+modelClaude+"/converse", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("Bedrock's API with every region throttled: %d %s, want 429", resp.StatusCode, body)
	}
	if resp, body := g.post(t, "/api/v1/embeddings", `{"model":"`+modelCohere+`","input":"hi"}`); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("embeddings with every region throttled: %d %s, want 429", resp.StatusCode, body)
	}
}

// TestFailoverGeography: a geographic profile (us.) fails over only to a
// region of its geography; a global. profile anywhere.
func TestFailoverGeography(t *testing.T) {
	g := newFailoverGateway(t, []string{"eu-central-1"})
	fail(g.primary, "ThrottlingException")
	chat := func(model string) *http.Response {
		resp, _ := g.post(t, "/api/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
		return resp
	}
	if resp := chat(modelClaude); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a us. profile with only eu-central-1 to fall back to: %d, want the primary's 429 with Retry-After", resp.StatusCode)
	}
	if n := operations(g.regions["eu-central-1"]); n != 0 {
		t.Errorf("eu-central-1 saw %d calls for a us. profile, want none", n)
	}
	if resp := chat(modelGlobalClaude); resp.StatusCode != http.StatusOK || resp.Header.Get(server.RegionHeader) != "eu-central-1" {
		t.Errorf("a global. profile: %d from %q, want 200 from eu-central-1", resp.StatusCode, resp.Header.Get(server.RegionHeader))
	}
}

// TestFailoverErrors: errors that another region would repeat do not fail
// over; a fallback that fails for its own reasons leaves the primary's
// error as the answer; without fallbacks the gateway answers as before.
func TestFailoverErrors(t *testing.T) {
	chat := `{"model":"` + modelClaude + `","messages":[{"role":"user","content":"hi"}]}`
	t.Run("validation", func(t *testing.T) {
		g := newFailoverGateway(t, []string{"us-west-2"})
		fail(g.primary, "ValidationException")
		if resp, body := g.post(t, "/api/v1/chat/completions", chat); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("got %d %s, want 400", resp.StatusCode, body)
		}
		if n := operations(g.regions["us-west-2"]); n != 0 {
			t.Errorf("the fallback region saw %d calls, want none", n)
		}
	})
	t.Run("fallback region refuses", func(t *testing.T) {
		g := newFailoverGateway(t, []string{"us-west-2", "us-east-2"})
		fail(g.primary, "ThrottlingException")
		fail(g.regions["us-west-2"], "AccessDeniedException")
		fail(g.regions["us-east-2"], "ServiceUnavailableException")
		resp, body := g.post(t, "/api/v1/chat/completions", chat)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "rate_limit_exceeded") {
			t.Errorf("got %d %s, want the primary's 429", resp.StatusCode, body)
		}
		if operations(g.regions["us-east-2"]) != 1 {
			t.Error("the second fallback region was not tried")
		}
	})
	t.Run("primary out of reach", func(t *testing.T) {
		g := newFailoverGateway(t, []string{"us-west-2"})
		g.primary.Close() // connections refused
		if resp, body := g.post(t, "/api/v1/chat/completions", chat); resp.StatusCode != http.StatusOK || resp.Header.Get(server.RegionHeader) != "us-west-2" {
			t.Errorf("got %d %s from %q, want 200 from us-west-2", resp.StatusCode, body, resp.Header.Get(server.RegionHeader))
		}
	})
	t.Run("no fallbacks", func(t *testing.T) {
		g := newFailoverGateway(t, nil)
		fail(g.primary, "ThrottlingException")
		resp, body := g.post(t, "/api/v1/chat/completions", chat)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get(server.RegionHeader) != "" {
			t.Errorf("got %d %s (region %q), want 429", resp.StatusCode, body, resp.Header.Get(server.RegionHeader))
		}
		fail(g.primary, "ValidationException", "none")
		if resp, _ := g.post(t, "/api/v1/chat/completions", chat); resp.StatusCode != http.StatusOK || resp.Header.Get(server.RegionHeader) != "us-east-1" {
			t.Errorf("got %d from %q, want 200 from us-east-1", resp.StatusCode, resp.Header.Get(server.RegionHeader))
		}
	})
}

func TestParseModelFallbacks(t *testing.T) {
	got, err := server.ParseModelFallbacks(" sonnet = us.a | eu.b ; global.c=d;")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"sonnet": {"us.a", "eu.b"}, "global.c": {"d"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"a", "a=", "=b", "a=b||c", "a=a", "a=b;a=c"} {
		if _, err := server.ParseModelFallbacks(bad); err == nil {
			t.Errorf("ParseModelFallbacks(%q) succeeded, want an error", bad)
		}
	}
}

// TestFailoverHeadersExposed: browser code may read where a request was served.
func TestFailoverHeadersExposed(t *testing.T) {
	h := newHarness(t)
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/v1/chat/completions", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Origin", "https://ui.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	exposed := resp.Header.Get("Access-Control-Expose-Headers")
	if resp.StatusCode != http.StatusOK || !strings.Contains(exposed, server.RegionHeader) || !strings.Contains(exposed, server.ModelHeader) ||
		resp.Header.Get(server.ModelHeader) != modelClaude {
		t.Errorf("got %d, model %q, exposed headers %q; want 200 and both headers exposed", resp.StatusCode, resp.Header.Get(server.ModelHeader), exposed)
	}
}

// TestFailoverFirstFrame: a stream whose first frame is a throttling
// exception (after its reopenings in the region) fails over: nothing had
// gone to the client.
func TestFailoverFirstFrame(t *testing.T) {
	g := newFailoverGateway(t, []string{"us-west-2"})
	g.primary.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{StreamError: &bedrocktest.Error{Type: "throttlingException"}, StreamErrorAfter: -1}
	})
	for _, r := range []struct{ name, path, body string }{
		{"chat", "/api/v1/chat/completions", `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"bedrock converse-stream", "/bedrock/model/" + modelClaude + "/converse-stream", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`},
	} {
		t.Run(r.name, func(t *testing.T) {
			resp, body := g.post(t, r.path, r.body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get(server.RegionHeader) != "us-west-2" || strings.Contains(body, "hrottl") {
				t.Errorf("got %d from %q: %q; want a clean stream from us-west-2", resp.StatusCode, resp.Header.Get(server.RegionHeader), body)
			}
		})
	}
}
