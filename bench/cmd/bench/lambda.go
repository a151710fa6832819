package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// lambdaResult is the Lambda build's cold start under the Runtime Interface
// Emulator (RIE), which starts the bootstrap at the first invocation as
// Lambda does.
type lambdaResult struct {
	Measured bool
	Reason   string // why it was not measured
	// FirstAnswer is the first invocation's round trip: process start,
	// init and the first chat answer. InitMS is what the gateway logs as
	// init_ms; ReportMS is RIE's INIT REPORT duration.
	FirstAnswer      []time.Duration
	InitMS, ReportMS []float64
	Err              string
}

// rieInvokePath is the one route RIE serves.
const rieInvokePath = "/2015-03-31/functions/function/invocations"

// lambdaInits measures the Lambda build's cold start n times.
func (h *harness) lambdaInits(ctx context.Context, emuURL string) lambdaResult {
	if h.bin.lambdaErr != nil {
		return lambdaResult{Reason: "the Lambda bootstrap or RIE did not build: " + h.bin.lambdaErr.Error()}
	}
	h.logf("Lambda init under RIE, %d runs", h.prof.LambdaInits)
	res := lambdaResult{Measured: true}
	for range h.prof.LambdaInits {
		if ctx.Err() != nil {
			break
		}
		took, initMS, reportMS, err := h.lambdaInit(ctx, emuURL)
		if err != nil {
			res.Err = err.Error()
			continue
		}
		res.FirstAnswer = append(res.FirstAnswer, took)
		res.InitMS = append(res.InitMS, initMS)
		res.ReportMS = append(res.ReportMS, reportMS)
	}
	if len(res.FirstAnswer) == 0 {
		res.Measured, res.Reason = false, "every run failed: "+res.Err
	}
	return res
}

var rieReportRe = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

func (h *harness) lambdaInit(ctx context.Context, emuURL string) (time.Duration, float64, float64, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, 0, 0, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return 0, 0, 0, err
	}
	env := append(h.gatewayEnv(emuURL, "127.0.0.1:0", false, false),
		"LOG_LEVEL=info", "AWS_LAMBDA_FUNCTION_TIMEOUT=30", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024")
	p, err := startIn("aws-lambda-rie", filepath.Dir(h.bin.bootstrap), h.bin.rie,
		[]string{"--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, "./bootstrap"}, env, true)
	if err != nil {
		return 0, 0, 0, err
	}
	defer p.kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("RIE did not listen; output:\n%s", p.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	event, err := albChatEvent()
	if err != nil {
		return 0, 0, 0, err
	}
	start := time.Now()
	if err := invokeRIE(ctx, "http://"+addr+rieInvokePath, event); err != nil {
		return 0, 0, 0, fmt.Errorf("%w; output:\n%s", err, lastLines(p.out.String(), 20))
	}
	took := time.Since(start)
	// The INIT REPORT line may follow the answer by a moment.
	reportMS := -1.0
	for wait := time.Now().Add(time.Second); time.Now().Before(wait); time.Sleep(10 * time.Millisecond) {
		if m := rieReportRe.FindStringSubmatch(p.out.String()); m != nil {
			reportMS, _ = strconv.ParseFloat(m[1], 64)
			break
		}
	}
	return took, logInitMS(p.out.String()), reportMS, nil
}

// albChatEvent is an ALB target-group event carrying a chat request, in the
// shape of aws-lambda-go's events/testdata/alb-lambda-target-request-headers-only.json.
func albChatEvent() ([]byte, error) {
	body := `{"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`
	ev := map[string]any{
		"requestContext": map[string]any{"elb": map[string]any{
			"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/bench/0123456789abcdef"}},
		"httpMethod": "POST", "path": "/api/v1/chat/completions", "queryStringParameters": map[string]string{},
		"headers": map[string]string{
			"content-type": "application/json", "authorization": "Bearer " + benchKey, "host": "bench.example.com",
			"x-forwarded-for": "127.0.0.1", "x-forwarded-port": "443", "x-forwarded-proto": "https",
		},
		"body": body, "isBase64Encoded": false,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode ALB event: %w", err)
	}
	return b, nil
}

func invokeRIE(ctx context.Context, url string, event []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("invoke: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("invoke: read answer: %w", err)
	}
	var out struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != http.StatusOK || out.StatusCode != http.StatusOK {
		return fmt.Errorf("invoke: RIE status %d, function answer %.300s", resp.StatusCode, b)
	}
	return nil
}
