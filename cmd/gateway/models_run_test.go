//go:build !lambda

package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

// runGateway runs the gateway command in process against an emulator,
// with the AWS endpoint variables pointing at it, until the test ends.
func runGateway(tb testing.TB, emuURL string, env map[string]string) string {
	tb.Helper()
	tb.Setenv("AWS_ENDPOINT_URL_BEDROCK", emuURL)
	tb.Setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", emuURL)
	tb.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	tb.Setenv("AWS_CA_BUNDLE", env["AWS_CA_BUNDLE"]) // the SDK reads it from the process environment
	tb.Setenv("AWS_PROFILE", "")
	tb.Setenv("AWS_CONFIG_FILE", tb.TempDir()+"/none")
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", tb.TempDir()+"/none")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	vars := map[string]string{"HOST": "127.0.0.1", "PORT": port, "API_KEY": "run-key", "AWS_REGION": "us-east-1",
		"SHUTDOWN_DRAIN_DELAY": "0s", "SHUTDOWN_TIMEOUT": "2s", "MODEL_REFRESH_INTERVAL": "0"}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"gateway"}, func(k string) string { return vars[k] }, io.Discard, io.Discard)
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Error("run did not return after cancel")
		}
	})
	return "http://127.0.0.1:" + port
}

// modelsHealth polls /health until cond accepts its "models" object.
func modelsHealth(tb testing.TB, url string, cond func(map[string]any) bool) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var h struct {
			Models map[string]any `json:"models"`
		}
		if resp, err := http.Get(url + "/health"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if h.Models != nil && cond(h.Models) {
				return h.Models
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for /health models; last %v", h.Models)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func listModels(tb testing.TB, url string) string {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/models", nil)
	req.Header.Set("Authorization", "Bearer run-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /models: %d %s", resp.StatusCode, body)
	}
	return string(body)
}

func TestRunDiscoversModels(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	url := runGateway(t, emu.URL, nil)
	h := modelsHealth(t, url, func(m map[string]any) bool { return m["source"] == "bedrock" })
	if h["count"].(float64) < 20 || h["refreshed_at"] == nil {
		t.Errorf("/health models: %v", h)
	}
	if body := listModels(t, url); !strings.Contains(body, `"team-chat"`) || !strings.Contains(body, `"us.anthropic.claude-sonnet-4-5-20250929-v1:0"`) {
		t.Errorf("GET /models lacks discovered models: %s", body)
	}
}

func TestRunWithoutDiscovery(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	url := runGateway(t, emu.URL, map[string]string{"ENABLE_MODEL_DISCOVERY": "false", "MODELS": "amazon.nova-pro-v1:0"})
	h := modelsHealth(t, url, func(map[string]any) bool { return true })
	if h["source"] != "static" || h["count"] != float64(3) {
		t.Errorf("/health models: got %v, want the static list of 3", h)
	}
	if body := listModels(t, url); !strings.Contains(body, `"amazon.nova-pro-v1:0"`) || !strings.Contains(body, `"cohere.embed-multilingual-v3"`) {
		t.Errorf("GET /models: %s", body)
	}
	for _, r := range emu.Requests() {
		if r.Operation == "ListFoundationModels" || r.Operation == "ListInferenceProfiles" {
			t.Errorf("the control plane was called (%s) with discovery off", r.Operation)
		}
	}
}

// TestRunWithBedrockAPIKey runs the gateway with AWS_BEARER_TOKEN_BEDROCK:
// its Converse and control-plane calls reach the emulator with
// "Authorization: Bearer <key>" and no SigV4 signature.
//
// Bearer tokens are only sent over HTTPS (smithy-go's SignHTTPSMessage), as
// Bedrock's endpoints are: the emulator is served over TLS here, its
// certificate trusted through AWS_CA_BUNDLE.
func TestRunWithBedrockAPIKey(t *testing.T) {
	emu := bedrocktest.New()
	ts := httptest.NewTLSServer(emu)
	t.Cleanup(ts.Close)
	ca := filepath.Join(t.TempDir(), "emulator-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	const key = "ABSKQmVkcm9ja0FQSUtleS10ZXN0"
	url := runGateway(t, ts.URL, map[string]string{"AWS_BEARER_TOKEN_BEDROCK": key, "AWS_CA_BUNDLE": ca})
	modelsHealth(t, url, func(m map[string]any) bool { return m["source"] == "bedrock" })
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/chat/completions",
		strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer run-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	seen := map[string]bool{}
	for _, r := range emu.Requests() {
		seen[r.Operation] = true
		if got := r.Header.Get("Authorization"); got != "Bearer "+key || r.Header.Get("X-Amz-Date") != "" {
			t.Errorf("%s: Authorization %q, X-Amz-Date %q; want the bearer key and no SigV4", r.Operation, got, r.Header.Get("X-Amz-Date"))
		}
	}
	if !seen["Converse"] || !seen["ListFoundationModels"] {
		t.Errorf("operations seen: %v, want Converse and ListFoundationModels", seen)
	}
}

// TestRunSignsWithoutBedrockAPIKey is the counterpart: without a key the
// calls are SigV4-signed.
func TestRunSignsWithoutBedrockAPIKey(t *testing.T) {
	emu := bedrocktest.NewServer(t)
	url := runGateway(t, emu.URL, nil)
	modelsHealth(t, url, func(m map[string]any) bool { return m["source"] == "bedrock" })
	for _, r := range emu.Requests() {
		if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "AWS4-HMAC-SHA256 ") {
			t.Errorf("%s: Authorization %q, want a SigV4 signature", r.Operation, got)
		}
	}
}

// TestRunFailsOver: with FALLBACK_REGIONS and BEDROCK_REGION_ENDPOINTS the
// gateway builds a client per region at start-up: when AWS_REGION's
// endpoint throttles, the call lands on the fallback region's.
func TestRunFailsOver(t *testing.T) {
	primary, west := bedrocktest.NewServer(t), bedrocktest.NewServer(t)
	primary.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Error: &bedrocktest.Error{Type: "ThrottlingException"}}
	})
	url := runGateway(t, primary.URL, map[string]string{"FALLBACK_REGIONS": "us-west-2", "BEDROCK_REGION_ENDPOINTS": "us-west-2=" + west.URL,
		"AWS_MAX_ATTEMPTS": "1"})
	modelsHealth(t, url, func(m map[string]any) bool { return m["source"] == "bedrock" })
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/chat/completions", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer run-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Gateway-Region") != "us-west-2" {
		t.Fatalf("chat: %d %s from %q, want 200 from us-west-2", resp.StatusCode, body, resp.Header.Get("X-Gateway-Region"))
	}
	var converse []string
	for _, r := range west.Requests() {
		if r.Operation == "Converse" {
			converse = append(converse, r.Header.Get("Authorization"))
		}
	}
	if len(converse) != 1 || !strings.Contains(converse[0], "/us-west-2/bedrock/aws4_request") {
		t.Errorf("the fallback emulator's Converse calls were signed %v, want one for us-west-2", converse)
	}
}
