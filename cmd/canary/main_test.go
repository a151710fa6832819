package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/openbedrock/gateway/canary"
)

// gateway starts a fake gateway on 127.0.0.1:0: healthy /health, or
// status 500 when broken.
func gateway(tb testing.TB, broken bool) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken {
			http.Error(w, `{"error":"down"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok","version":"v0.1.0","instance_id":"cafe","first_request":false,"runtime":"server"}`)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// env returns a getenv backed by a map.
func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// countLines counts the non-empty lines of a file.
func countLines(tb testing.TB, path string) int {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}

func TestRunExitCodes(t *testing.T) {
	ok := gateway(t, false)
	bad := gateway(t, true)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"no mode", []string{"canary"}, nil, 2},
		{"unknown mode", []string{"canary", "probe"}, nil, 2},
		{"help", []string{"canary", "help"}, nil, 0},
		{"once -h", []string{"canary", "once", "-h"}, nil, 0},
		{"once healthy", []string{"canary", "once", "-url", ok}, nil, 0},
		{"once failing", []string{"canary", "once", "-url", bad}, nil, 1},
		{"once one of two failing", []string{"canary", "once", "-url", ok + "," + bad}, nil, 1},
		{"once targets from env", []string{"canary", "once"}, map[string]string{"CANARY_TARGETS": ok}, 0},
		{"once no target", []string{"canary", "once"}, nil, 2},
		{"once bad url", []string{"canary", "once", "-url", "gw.example.com"}, nil, 2},
		{"once unknown flag", []string{"canary", "once", "-url", ok, "-nope"}, nil, 2},
		{"once stray argument", []string{"canary", "once", "-url", ok, "extra"}, nil, 2},
		{"once deep without key", []string{"canary", "once", "-url", ok, "-deep"}, nil, 2},
		{"once bad env timeout", []string{"canary", "once", "-url", ok}, map[string]string{"CANARY_TIMEOUT": "soon"}, 2},
		{"once unwritable out", []string{"canary", "once", "-url", ok, "-out", filepath.Join(t.TempDir(), "no", "r.jsonl")}, nil, 1},
		{"loop bad interval", []string{"canary", "loop", "-url", ok, "-interval", "0s"}, nil, 2},
		{"report no input", []string{"canary", "report"}, nil, 2},
		{"report missing file", []string{"canary", "report", "-in", filepath.Join(t.TempDir(), "missing.jsonl")}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, env(tt.env), &stdout, &stderr)
			if got := exitCode(err); got != tt.want {
				t.Errorf("got exit %d (error %v), want %d; stderr:\n%s", got, err, tt.want, stderr.String())
			}
		})
	}
}

func TestOnceFailureWrapsErrProbeFailed(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"canary", "once", "-url", gateway(t, true)}, env(nil), &stdout, &stderr)
	if !errors.Is(err, canary.ErrProbeFailed) {
		t.Errorf("got %v, want ErrProbeFailed", err)
	}
	if !strings.Contains(stderr.String(), `"level":"ERROR","msg":"probe"`) {
		t.Errorf("stderr %q, want an error log line for the probe", stderr.String())
	}
}

func TestOnceWritesResultsAndMetrics(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "results.jsonl")
	prom := filepath.Join(dir, "canary.prom")
	a, b := gateway(t, false), gateway(t, false)
	args := []string{"canary", "once", "-url", a, "-url", b, "-out", out, "-textfile", prom}
	for range 2 {
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), args, env(nil), &stdout, &stderr); err != nil {
			t.Fatalf("run: %v\n%s", err, stderr.String())
		}
	}
	if n := countLines(t, out); n != 4 {
		t.Errorf("got %d result lines, want 4 (2 targets x 2 runs, appended)", n)
	}
	f, err := os.Open(prom)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("textfile does not parse: %v", err)
	}
	if mf := families["canary_probe_success"]; mf == nil || len(mf.GetMetric()) != 2 {
		t.Errorf("got %v, want canary_probe_success for both targets", mf)
	}
}

func TestOnceOutToStdout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"canary", "once", "-url", gateway(t, false), "-out", "-"}, env(nil), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	results, err := canary.ReadJSONL(&stdout)
	if err != nil || len(results) != 1 || results[0].InstanceID != "cafe" {
		t.Errorf("got %+v, %v; want one result from instance cafe on stdout", results, err)
	}
}

func TestLoopCount(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.jsonl")
	var stdout, stderr bytes.Buffer
	// The loop records failures and keeps going: a broken target is not an error.
	args := []string{"canary", "loop", "-url", gateway(t, false) + "," + gateway(t, true), "-interval", "10ms", "-count", "3", "-out", out}
	if err := run(t.Context(), args, env(nil), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if n := countLines(t, out); n != 6 {
		t.Errorf("got %d result lines, want 6 (2 targets x 3 runs)", n)
	}
}

func TestLoopStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	out := filepath.Join(t.TempDir(), "results.jsonl")
	errc := make(chan error, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		errc <- run(ctx, []string{"canary", "loop", "-url", gateway(t, false), "-interval", "1h", "-out", out}, env(nil), &stdout, &stderr)
	}()
	// Wait for the first run to be recorded, then interrupt the wait for the next.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, _ := os.ReadFile(out); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first run never recorded")
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("got %v, want nil when interrupted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("loop did not stop after cancel")
	}
}

func TestReport(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	write := func(name string, results ...canary.Result) string {
		path := filepath.Join(dir, name)
		var buf bytes.Buffer
		if err := canary.WriteJSONL(&buf, results); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	v1 := write("v1.jsonl",
		canary.Result{Time: at, Target: "https://v1", Probe: "health", OK: true, Cold: true, InstanceID: "i1", Latency: 700 * time.Millisecond},
		canary.Result{Time: at.Add(5 * time.Minute), Target: "https://v1", Probe: "health", OK: true, InstanceID: "i1", Latency: 40 * time.Millisecond},
	)
	v2 := write("v2.jsonl",
		canary.Result{Time: at, Target: "https://v2", Probe: "health", OK: true, InstanceID: "s1", Latency: 15 * time.Millisecond},
	)
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"canary", "report", "-in", v1, "-in", v2}, env(nil), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{
		"# Canary report",
		"| https://v1 | health | 2 | 0 | 0.0% | 1 | 50.0% |",
		"| https://v1 | health | cold | 1 | 700.0 | 700.0 | 700.0 |",
		"| https://v2 | health | 1 | 0 | 0.0% | 0 | 0.0% |",
		"2 distinct instances.",
		"| https://v1 | i1 |  | 2026-01-05T09:00:00Z | 2026-01-05T09:05:00Z | 5m0s | 2 | 1 |",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestLambdaHandlerFromEnv(t *testing.T) {
	ok, bad := gateway(t, false), gateway(t, true)
	tests := []struct {
		name      string
		env       map[string]string
		wantSetup int // exit code of building the handler
		wantFail  bool
		wantLines int
	}{
		{name: "healthy", env: map[string]string{"CANARY_TARGETS": ok, "CANARY_NAMESPACE": "Test/NS"}, wantLines: 1},
		{name: "one failing", env: map[string]string{"CANARY_TARGETS": ok + "," + bad}, wantFail: true, wantLines: 2},
		{name: "no targets", env: map[string]string{}, wantSetup: 2},
		{name: "bad deep flag", env: map[string]string{"CANARY_TARGETS": ok, "CANARY_DEEP": "maybe"}, wantSetup: 2},
		{name: "deep without key", env: map[string]string{"CANARY_TARGETS": ok, "CANARY_DEEP": "true"}, wantSetup: 2},
		{name: "insecure with deep", env: map[string]string{"CANARY_TARGETS": ok, "CANARY_DEEP": "true", "CANARY_API_KEY": "k", "CANARY_INSECURE_SKIP_VERIFY": "true"}, wantSetup: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			h, err := newLambdaHandler(t.Context(), env(tt.env), &stdout, &stderr)
			if got := exitCode(err); got != tt.wantSetup {
				t.Fatalf("setup: got exit %d (%v), want %d", got, err, tt.wantSetup)
			}
			if err != nil {
				return
			}
			err = h(t.Context(), json.RawMessage(`{"source":"aws.events"}`))
			if errors.Is(err, canary.ErrProbeFailed) != tt.wantFail {
				t.Errorf("got %v, want failure %v", err, tt.wantFail)
			}
			lines := 0
			sc := bufio.NewScanner(&stdout)
			for sc.Scan() {
				var ev struct {
					AWS struct {
						CloudWatchMetrics []struct{ Namespace string } `json:"CloudWatchMetrics"`
					} `json:"_aws"`
				}
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || len(ev.AWS.CloudWatchMetrics) != 1 {
					t.Errorf("stdout line %q is not an EMF event (%v)", sc.Text(), err)
					continue
				}
				if want := cmp(tt.env["CANARY_NAMESPACE"], canary.DefaultNamespace); ev.AWS.CloudWatchMetrics[0].Namespace != want {
					t.Errorf("got namespace %q, want %q", ev.AWS.CloudWatchMetrics[0].Namespace, want)
				}
				lines++
			}
			if lines != tt.wantLines {
				t.Errorf("got %d EMF lines on stdout, want %d", lines, tt.wantLines)
			}
		})
	}
}

// cmp returns v, or def when v is empty.
func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func TestLoadSettings(t *testing.T) {
	s, err := loadSettings(env(map[string]string{
		"CANARY_TARGETS": "https://a.example.com/, https://b.example.com", "CANARY_DEEP": "true",
		"CANARY_API_KEY": "sk-x", "CANARY_MODEL": "m", "CANARY_ROUTE_PREFIX": "/v1", "CANARY_TIMEOUT": "3s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%v %v %q %s %s %v", s.targets, s.deep, string(s.apiKey), s.model, s.prefix, s.timeout)
	want := `[https://a.example.com https://b.example.com] true "sk-x" m /v1 3s`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	d, err := loadSettings(env(nil))
	if err != nil || d.timeout != canary.DefaultTimeout || d.deep || len(d.targets) != 0 {
		t.Errorf("got %+v, %v; want defaults: 7s, deep off, no targets", d, err)
	}
}

func TestOnceLambdaTarget(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2015-03-31/functions/gw-fn/invocations" {
			http.Error(w, `{"Message":"not found"}`, http.StatusNotFound)
			return
		}
		io.WriteString(w, `{"statusCode":200,"multiValueHeaders":{"Content-Type":["application/json"]},`+
			`"body":"{\"status\":\"ok\",\"instance_id\":\"fn-1\",\"first_request\":true}"}`)
	}))
	t.Cleanup(api.Close)
	// The AWS SDK reads the process environment, not run's getenv.
	for k, v := range map[string]string{
		"AWS_CA_BUNDLE": "", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"), "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL_LAMBDA": api.URL,
	} {
		t.Setenv(k, v)
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"canary", "once", "-url", "lambda://gw-fn", "-out", "-"}, env(nil), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	results, err := canary.ReadJSONL(&stdout)
	if err != nil || len(results) != 1 || results[0].InstanceID != "fn-1" || !results[0].Cold {
		t.Errorf("got %+v, %v; want one cold result from instance fn-1", results, err)
	}
}
