package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/server"
)

const (
	testKey    = "sk-loadgen-test"
	chatModel  = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
	embedModel = "cohere.embed-multilingual-v3"
)

// stack is a gateway (server.New on httptest) in front of an emulator.
type stack struct {
	emu     *bedrocktest.Server
	gateway string // .../api/v1
}

func newStack(tb testing.TB) *stack {
	tb.Helper()
	emu := bedrocktest.NewServer(tb)
	rt := bedrockruntime.New(bedrockruntime.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(emu.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       bedrock.ShieldBodies(awshttp.NewBuildableClient()),
	})
	gw := httptest.NewServer(server.New(server.Options{
		Bedrock:               rt,
		Catalogue:             bedrock.NewStaticCatalogue(chatModel, embedModel),
		Auth:                  auth.NewStatic(auth.NewKey("bench", testKey)),
		DefaultModel:          chatModel,
		DefaultEmbeddingModel: embedModel,
	}))
	tb.Cleanup(gw.Close)
	return &stack{emu: emu, gateway: gw.URL + "/api/v1"}
}

func runJSON(tb testing.TB, args ...string) Result {
	tb.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), args, &out); err != nil {
		tb.Fatalf("run %q: %v", args, err)
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		tb.Fatalf("decode result: %v\n%s", err, out.String())
	}
	return res
}

func TestRunAgainstGatewayAndEmulator(t *testing.T) {
	s := newStack(t)
	for _, api := range []string{"openai", "bedrock"} {
		for _, scenario := range scenarios {
			t.Run(api+"/"+scenario, func(t *testing.T) {
				url, c := s.emu.URL, "2"
				if api == "openai" {
					url = s.gateway
				}
				if api == "openai" && (streaming(scenario) || scenario == "mixed") {
					// smithy-go v1.28.9's restjson1 protocol shares one event-stream
					// codec between a client's concurrent ConverseStream calls, and
					// -race flags its (nil) payload buffer; one stream at a time here.
					c = "1"
				}
				res := runJSON(t, "-api", api, "-url", url, "-key", testKey, "-scenario", scenario,
					"-c", c, "-d", "150ms", "-warmup", "20ms")
				if res.Errors != 0 || res.Requests == 0 {
					t.Fatalf("got %d requests, %d errors (%q); want some requests and no errors", res.Requests, res.Errors, res.ErrorSamples)
				}
				if res.Total < res.Requests {
					t.Errorf("total %d < measured %d", res.Total, res.Requests)
				}
				if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
					t.Errorf("latency percentiles out of order: %+v", res.Latency)
				}
				if res.PeakInFlight < 1 || res.PeakInFlight > 2 {
					t.Errorf("peak in flight %d, want 1..2", res.PeakInFlight)
				}
				if streaming(scenario) {
					if res.TTFT == nil || res.TTFT.N != res.Requests || res.TTFT.P50 > res.Latency.P50 {
						t.Errorf("TTFT %+v for %d requests with latency p50 %v", res.TTFT, res.Requests, res.Latency.P50)
					}
					if res.EventsPerStream < 3 {
						t.Errorf("%.1f events per stream, want at least 3", res.EventsPerStream)
					}
				} else if res.TTFT != nil {
					t.Errorf("TTFT set for %s: %+v", scenario, res.TTFT)
				}
			})
		}
	}
}

// TestBedrockBodiesMatchGateway checks that the direct baseline sends what
// the gateway sends to Bedrock for the same OpenAI request, so the two
// measure the same upstream work.
func TestBedrockBodiesMatchGateway(t *testing.T) {
	s := newStack(t)
	for _, tc := range []struct {
		scenario, op string
	}{
		{"chat", "Converse"},
		{"stream", "ConverseStream"},
		{"embed", "InvokeModel"},
		{"responses", "Converse"},
		{"responses-stream", "ConverseStream"},
		{"messages", "Converse"},
		{"messages-stream", "ConverseStream"},
		{"tools", "Converse"}, // one of mixed's requests
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			cfg, err := parseFlags([]string{"-url", s.gateway, "-key", testKey, "-scenario", "chat"})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Scenario = tc.scenario
			if _, err := drive(context.Background(), withOne(cfg)); err != nil {
				t.Fatal(err)
			}
			got := lastBody(t, s.emu, tc.op)
			cfg.API = "bedrock"
			direct, err := newTarget(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, direct.body) {
				t.Errorf("the gateway sent\n%s\nthe direct baseline sends\n%s", got, direct.body)
			}
		})
	}
}

func withOne(c config) config {
	c.Concurrency, c.Duration, c.Warmup, c.Max = 1, time.Second, 0, 1
	return c
}

func lastBody(tb testing.TB, emu *bedrocktest.Server, op string) []byte {
	tb.Helper()
	reqs := emu.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Operation == op {
			return reqs[i].Body
		}
	}
	tb.Fatalf("the emulator saw no %s request", op)
	return nil
}

// jsonEqual compares two JSON objects, ignoring the values (not the keys)
// of requestMetadata: the gateway's request id differs per request.
func jsonEqual(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	var x, y map[string]any
	if err := json.Unmarshal(a, &x); err != nil {
		tb.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		tb.Fatalf("decode %s: %v", b, err)
	}
	for _, doc := range []map[string]any{x, y} {
		if md, ok := doc["requestMetadata"].(map[string]any); ok {
			for k := range md {
				md[k] = "id"
			}
		}
	}
	return reflect.DeepEqual(x, y)
}

// TestBrokenAnswersAreErrors serves answers a real server could send when
// something is wrong and checks each is counted as an error, not a success.
func TestBrokenAnswersAreErrors(t *testing.T) {
	for _, tc := range []struct {
		name, api, scenario string
		handler             http.HandlerFunc
		want                string
	}{
		{"status 500", "openai", "chat", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":{"message":"boom"}}`, http.StatusInternalServerError)
		}, "status 500"},
		{"empty 200", "openai", "chat", func(w http.ResponseWriter, _ *http.Request) {}, "answer lacks"},
		{"stream without DONE", "openai", "stream", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n")
		}, "without data: [DONE]"},
		{"stream error event", "openai", "stream", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: {\"error\":{\"code\":\"x\"}}\n\n")
		}, "error event"},
		{"stream without content", "openai", "stream", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\ndata: [DONE]\n\n")
		}, "no content"},
		{"event stream cut short", "bedrock", "stream", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		}, "without messageStop"},
		{"garbage event stream", "bedrock", "stream", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, strings.Repeat("x", 64))
		}, "decode event stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			var out bytes.Buffer
			err := run(context.Background(), []string{"-api", tc.api, "-scenario", tc.scenario, "-url", srv.URL,
				"-c", "1", "-d", "50ms", "-warmup", "0", "-max", "3"}, &out)
			if err != nil {
				t.Fatal(err)
			}
			var res Result
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if res.Requests != 0 || res.Errors == 0 {
				t.Fatalf("got %d successes and %d errors, want only errors", res.Requests, res.Errors)
			}
			if len(res.ErrorSamples) == 0 || !strings.Contains(res.ErrorSamples[0], tc.want) {
				t.Errorf("error samples %q, want one containing %q", res.ErrorSamples, tc.want)
			}
		})
	}
}

func TestMaxBoundsRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"choices":[]}`)
	}))
	t.Cleanup(srv.Close)
	res := runJSON(t, "-url", srv.URL, "-c", "4", "-d", "5s", "-warmup", "0", "-max", "25")
	if res.Requests != 25 {
		t.Errorf("got %d requests, want exactly -max 25", res.Requests)
	}
	if res.Seconds > 4 {
		t.Errorf("run took %.1fs; -max should have ended it early", res.Seconds)
	}
}

func TestParseFlagsRejects(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-url", "http://x", "-api", "grpc"},
		{"-url", "http://x", "-scenario", "images"},
		{"-url", "http://x", "-c", "0"},
		{"-url", "http://x", "-d", "0"},
		{"-url", "http://x", "extra"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted it", args)
		}
	}
}

func TestSummarize(t *testing.T) {
	ds := make([]time.Duration, 1000)
	for i := range ds {
		ds[len(ds)-1-i] = time.Duration(i+1) * time.Millisecond // reversed: summarize sorts
	}
	got := summarize(ds)
	want := Summary{N: 1000, Min: 1, Mean: 500.5, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if (summarize(nil) != Summary{}) {
		t.Errorf("empty input gave %+v", summarize(nil))
	}
}

// TestSpreadSeesChunkGaps scripts 20 ms between stream events: the spread
// from the first to the last of the three text chunks is then at least
// 40 ms on both APIs (a lower bound set by the emulator's sleeps).
func TestSpreadSeesChunkGaps(t *testing.T) {
	s := newStack(t)
	prompt := "Hello\n@emulate {\"chunk_delay_ms\":20}"
	for _, api := range []string{"openai", "bedrock"} {
		url := s.emu.URL
		if api == "openai" {
			url = s.gateway
		}
		res := runJSON(t, "-api", api, "-url", url, "-key", testKey, "-scenario", "stream", "-prompt", prompt,
			"-c", "1", "-d", "1s", "-warmup", "0", "-max", "2")
		if res.Errors != 0 || res.Spread == nil || res.Spread.N != 2 {
			t.Fatalf("%s: %d errors (%q), spread %+v; want 2 measured streams", api, res.Errors, res.ErrorSamples, res.Spread)
		}
		if res.Spread.P50 < 40 {
			t.Errorf("%s: spread p50 %.1f ms, want >= 40 ms (three chunks 20 ms apart)", api, res.Spread.P50)
		}
	}
}

// TestRunOutlastsSlowRequests runs against a server slower than the whole
// run: every request starts in the warm-up and ends after the measured
// window. The run still measures one, as on a loaded machine, instead of
// failing with nothing measured.
func TestRunOutlastsSlowRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
		fmt.Fprint(w, `{"choices":[{"message":{"content":"ok"}}]}`)
	}))
	defer srv.Close()
	res := runJSON(t, "-api", "openai", "-url", srv.URL, "-scenario", "chat", "-c", "1", "-d", "10ms", "-warmup", "5ms")
	if res.Requests < 1 || res.Errors != 0 {
		t.Errorf("got %d requests, %d errors (%q); want one measured request", res.Requests, res.Errors, res.ErrorSamples)
	}
}
