package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/canary"
	"github.com/openbedrock/gateway/internal/testbin"
)

// e2eKey is the API key of the gateways started here, and the deep probe's.
const e2eKey = "sk-canary-e2e-0123456789"

// TestCanaryEndToEnd runs `canary once` twice, with the deep probe, against
// the real gateway built both ways, each backed by the Bedrock emulator:
// the server build as a process on 127.0.0.1, and the Lambda build (the
// bootstrap) under the AWS Lambda Runtime Interface Emulator, reached as
// lambda://function through the Lambda Invoke API (RIE serves its path).
// The first run must see a cold instance and the second the same instance
// warm; `canary report` then summarises both deployments side by side.
func TestCanaryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gateway twice and runs it; skipped with -short")
	}
	dir := t.TempDir()
	gateway := testbin.Path(t, testbin.Gateway)
	testbin.Path(t, testbin.Bootstrap)
	testbin.Path(t, testbin.RIE)
	emu := bedrocktest.NewServer(t)
	gatewayEnv := []string{
		"API_KEY=" + e2eKey,
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=" + emu.URL,
		"AWS_ENDPOINT_URL_BEDROCK=" + emu.URL,
	}
	results := filepath.Join(dir, "results.jsonl")
	var serverURL string

	// The canary's Lambda client reads the standard AWS environment.
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CA_BUNDLE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "no-config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
	} {
		t.Setenv(k, v)
	}

	t.Run("server", func(t *testing.T) {
		addr := testbin.LocalAddr(t)
		host, port, _ := net.SplitHostPort(addr)
		testbin.Start(t, gateway, nil, addr, append(gatewayEnv, "HOST="+host, "PORT="+port)...)
		serverURL = "http://" + addr
		checkColdThenWarm(t, serverURL, "server", results)
	})

	t.Run("lambda", func(t *testing.T) {
		rie := testbin.StartRIE(t, gatewayEnv...)
		t.Setenv("AWS_ENDPOINT_URL_LAMBDA", "http://"+rie.Addr)
		checkColdThenWarm(t, "lambda://function", "lambda", results)
	})

	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"canary", "report", "-in", results}, env(nil), &stdout, &stderr); err != nil {
		t.Fatalf("report: %v\n%s", err, stderr.String())
	}
	for _, row := range []string{serverURL + " | health |", serverURL + " | chat |", "lambda://function | health |", "lambda://function | chat |"} {
		if !strings.Contains(stdout.String(), row) {
			t.Errorf("the report has no row for %q:\n%s", row, stdout.String())
		}
	}
}

// checkColdThenWarm runs `canary once -deep` twice against target, appending
// to the results file, and checks what the two runs saw.
func checkColdThenWarm(tb testing.TB, target, runtime, results string) {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "results.jsonl")
	for range 2 {
		var stdout, stderr bytes.Buffer
		args := []string{"canary", "once", "-url", target, "-deep", "-timeout", "20s", "-out", out}
		if err := run(tb.Context(), args, env(map[string]string{"CANARY_API_KEY": e2eKey}), &stdout, &stderr); err != nil {
			tb.Fatalf("canary once: exit %d: %v\n%s", exitCode(err), err, stderr.String())
		}
		if strings.Contains(stderr.String(), e2eKey) {
			tb.Errorf("the canary logged the API key")
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := canary.ReadJSONL(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	if len(rs) != 4 || rs[0].Probe != "health" || rs[1].Probe != "chat" || rs[2].Probe != "health" || rs[3].Probe != "chat" {
		tb.Fatalf("got %+v, want health and chat results of two runs", rs)
	}
	for _, r := range rs {
		if !r.OK || r.StatusCode != http.StatusOK || r.Target != target {
			tb.Errorf("%s %s: got ok=%v status %d error %q, want a passed probe", r.Target, r.Probe, r.OK, r.StatusCode, r.Error)
		}
	}
	first, second := rs[0], rs[2]
	if !first.Cold || first.Runtime != runtime || first.InstanceID == "" {
		tb.Errorf("first run: got cold=%v runtime %q instance %q, want a cold %s instance", first.Cold, first.Runtime, first.InstanceID, runtime)
	}
	if second.Cold || second.InstanceID != first.InstanceID {
		tb.Errorf("second run: got cold=%v on instance %q, want the warm instance %q", second.Cold, second.InstanceID, first.InstanceID)
	}
	s := canary.Summarize(rs)
	if len(s.Probes) != 2 || s.Probes[0].Probe != "health" || s.Probes[0].Cold != 1 || s.Probes[0].Reporting != 2 || s.DistinctInstances != 1 {
		tb.Errorf("summary: got %+v, want one cold health probe of two on one instance", s)
	}
	f, err := os.OpenFile(results, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		tb.Fatal(err)
	}
}

// TestOnceFailsOnBrokenEndpoints checks that `canary once` exits 1, each
// probe within its timeout, for a gateway answering 500, one that never
// answers, and a lambda:// target whose Lambda endpoint is down.
func TestOnceFailsOnBrokenEndpoints(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"internal"}}`, http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets Close return

	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_PROFILE": "", "AWS_CA_BUNDLE": "", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "no-config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"AWS_ENDPOINT_URL_LAMBDA": "http://" + testbin.LocalAddr(t), // nothing listens there
	} {
		t.Setenv(k, v)
	}

	tests := []struct {
		name, target, wantErr string
	}{
		{"500", failing.URL, "status 500"},
		{"hanging", hanging.URL, "timeout after 300ms"},
		{"lambda endpoint down", "lambda://function", "invoke function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), []string{"canary", "once", "-url", tt.target, "-timeout", "300ms", "-out", "-"}, env(nil), &stdout, &stderr)
			if code := exitCode(err); code != 1 || !errors.Is(err, canary.ErrProbeFailed) {
				t.Fatalf("got exit %d (%v), want 1 for a failed probe", code, err)
			}
			rs, rerr := canary.ReadJSONL(&stdout)
			if rerr != nil || len(rs) != 1 || rs[0].OK || !strings.Contains(rs[0].Error, tt.wantErr) {
				t.Errorf("got results %+v (%v), want one failed probe with an error containing %q", rs, rerr, tt.wantErr)
			}
		})
	}
}
