// The Lambda build is tested as a black box: the test runs the bootstrap
// internal/testbin builds with -tags lambda, so this file needs no tag of
// its own.
// It is left out of the -tags lambda test run only so that `make test` runs
// it once.

//go:build !lambda

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/openbedrock/gateway/app/auth/authtest"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/internal/testbin"
)

// rieTestKey is the API key the events in testdata/alb carry.
const rieTestKey = "sk-lambda-rie-test-0123456789abcdef"

// rieOversizedMarker is the prompt of testdata/alb/oversized.*.json; the
// emulator answers it with more text than an ALB accepts from Lambda.
const rieOversizedMarker = "lambda-test: oversized reply"

// rieEscapedMarker is the prompt of testdata/alb/oversized-escaped.*.json;
// the emulator answers it with quotes, which JSON escapes twice on the way
// to the ALB (in the chat body, then in the response JSON around it).
const rieEscapedMarker = "lambda-test: escaped reply"

// albMaxResponse is what an ALB takes from a Lambda target: 1 MB of response JSON.
const albMaxResponse = 1 << 20

// TestLambdaUnderRIE runs the Lambda bootstrap under the AWS Lambda Runtime
// Interface Emulator and sends it the ALB target-group events of
// testdata/alb, in both header forms. The gateway reaches the Bedrock
// emulator for chat and models, and moto for its key: SECRET_ARN_PARAMETER
// names an SSM parameter holding the ARN of a KMS-encrypted secret, as
// template.yaml deploys it. It logs the measured cold start.
func TestLambdaUnderRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Lambda bootstrap and runs it under RIE; skipped with -short")
	}
	moto := launchMoto(t) // starts while the binaries build
	testbin.Path(t, testbin.Bootstrap)
	keyEnv := rieKeyEnv(t, moto)

	emu := bedrocktest.NewServer(t)
	emu.Script(func(r bedrocktest.Request) *bedrocktest.Reply {
		if bytes.Contains(r.Body, []byte(rieOversizedMarker)) {
			// About 1.3 MB: more than the 1 MB an ALB takes from Lambda.
			return &bedrocktest.Reply{Text: []string{strings.Repeat("All work and no play makes a big reply. ", 32<<10)}}
		}
		if bytes.Contains(r.Body, []byte(rieEscapedMarker)) {
			// 300 KiB of text, a 600 KiB chat body, 1.2 MiB of response JSON.
			return &bedrocktest.Reply{Text: []string{strings.Repeat(`"`, 300<<10)}}
		}
		return nil
	})
	gatewayEnv := slices.Concat(keyEnv, []string{
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=" + emu.URL,
		"AWS_ENDPOINT_URL_BEDROCK=" + emu.URL,
	})
	rie := testbin.StartRIE(t, append(gatewayEnv, "LOG_FORMAT=json")...)

	// The first invocation starts the bootstrap: a cold start.
	first := invoke(t, rie, readEvent(t, "health.multivalue.json"))
	firstAnswered := time.Since(rie.Started)
	cold := decodeHealth(t, first, false)
	if !cold.FirstRequest || cold.Runtime != "lambda" || cold.Version != testbin.Version || cold.InstanceID == "" {
		t.Errorf("first /health: got %+v, want first_request true, runtime lambda, version %s and an instance id", cold, testbin.Version)
	}
	initMS := waitLog(t, rie, `"msg":"gateway initialised"`, regexp.MustCompile(`"init_ms":([0-9.]+)`))
	reportMS := waitLog(t, rie, "INIT REPORT", regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`))
	t.Logf("cold start: gateway init_ms=%s, RIE init duration %s ms, RIE start to first answer %s",
		initMS, reportMS, firstAnswered.Round(time.Millisecond))

	tests := []struct {
		event  string
		status int
		check  func(tb testing.TB, r albReply)
	}{
		{"health", http.StatusOK, checkHealthReply},
		{"models", http.StatusOK, checkModelsReply},
		{"chat", http.StatusOK, checkChatReply},
		{"chat-stream", http.StatusOK, checkStreamReply},
		{"bad-key", http.StatusUnauthorized, checkBadKeyReply},
		{"oversized", http.StatusBadGateway, checkOversizedReply},
		{"oversized-stream", http.StatusBadGateway, checkOversizedReply},
		{"oversized-escaped", http.StatusBadGateway, checkOversizedReply},
	}
	for _, form := range []string{"headers", "multivalue"} {
		for _, tt := range tests {
			t.Run(tt.event+"."+form, func(t *testing.T) {
				resp := invoke(t, rie, readEvent(t, tt.event+"."+form+".json"))
				r := newALBReply(t, resp, form == "headers")
				if resp.StatusCode != tt.status {
					t.Fatalf("got status %d, want %d; body:\n%.500s", resp.StatusCode, tt.status, r.body)
				}
				if resp.StatusDescription == "" {
					t.Errorf("statusDescription is empty; ALB needs it")
				}
				tt.check(t, r)
			})
		}
	}

	warm := decodeHealth(t, invoke(t, rie, readEvent(t, "health.headers.json")), true)
	if warm.FirstRequest || warm.InstanceID != cold.InstanceID {
		t.Errorf("later /health: got first_request %v on instance %q, want false on the cold instance %q",
			warm.FirstRequest, warm.InstanceID, cold.InstanceID)
	}
	ops := map[string]int{}
	for _, r := range emu.Requests() {
		ops[r.Operation]++
	}
	if ops["Converse"] == 0 || ops["ConverseStream"] == 0 || ops["ListFoundationModels"] == 0 {
		t.Errorf("the Bedrock emulator saw %v; want Converse, ConverseStream and ListFoundationModels from the Lambda", ops)
	}
	logs := rie.Output()
	if strings.Contains(logs, rieTestKey) {
		t.Errorf("the API key appears in the function's output")
	}
	if !strings.Contains(logs, `"msg":"API keys loaded"`) {
		t.Errorf("no \"API keys loaded\" line in the output:\n%s", logs)
	}
	checkEMF(t, logs) // metrics as CloudWatch EMF lines on stdout (emf_test.go)

	// LAMBDA_MODE=function-url: the same bootstrap behind a Function URL in
	// RESPONSE_STREAM mode, served through lambdaurl. RIE collects the
	// stream, so this checks the streaming response's framing and content,
	// not that it arrives incrementally.
	t.Run("function-url stream", func(t *testing.T) {
		rie := testbin.StartRIE(t, slices.Concat(gatewayEnv, []string{"LOG_FORMAT=json", "LAMBDA_MODE=function-url"})...)
		prelude, body := invokeStream(t, rie, functionURLEvent(t, `{"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","stream":true,`+
			`"messages":[{"role":"user","content":"Stream to me through the Function URL"}]}`))
		if prelude.StatusCode != http.StatusOK {
			t.Fatalf("got status %d, want 200; body:\n%s", prelude.StatusCode, body)
		}
		header := http.Header{}
		for k, v := range prelude.Headers {
			header.Set(k, v)
		}
		checkSSE(t, header, body, "Emulated reply to: Stream to me through the Function URL")
	})
}

// functionURLEvent is the event a Function URL sends for an authorised POST
// of body to the chat route; its shape follows aws-lambda-go v1.55.1
// events/testdata/lambda-urls-request.json.
func functionURLEvent(tb testing.TB, body string) []byte {
	tb.Helper()
	const host = "abcdefghijklmnopqrstuvwxyz0123456.lambda-url.us-east-1.on.aws"
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0",
		RawPath: "/api/v1/chat/completions",
		Headers: map[string]string{
			"authorization":     "Bearer " + rieTestKey,
			"content-type":      "application/json",
			"accept":            "text/event-stream",
			"host":              host,
			"x-forwarded-for":   "25.12.198.67",
			"x-forwarded-proto": "https",
		},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID: "anonymous", RequestID: "c4b3f2a8-0001-4e55-9d1b-1f0c2a3e4d5f", APIID: "abcdefghijklmnopqrstuvwxyz0123456",
			DomainName: host, DomainPrefix: "abcdefghijklmnopqrstuvwxyz0123456", Time: "25/Nov/2026:10:00:00 +0000", TimeEpoch: 1795600800000,
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method: http.MethodPost, Path: "/api/v1/chat/completions", Protocol: "HTTP/1.1", SourceIP: "25.12.198.67", UserAgent: "OpenAI/Python 1.54.0",
			},
		},
		Body: body,
	}
	b, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// albReply is a function's ALB response, with the header form the target
// group reads and the decoded body.
type albReply struct {
	resp   events.ALBTargetGroupResponse
	header http.Header
	body   []byte
}

// newALBReply checks the header form and decodes the body. A target group
// without multi-value headers (single) reads only `headers`; one with them
// reads only `multiValueHeaders`.
func newALBReply(tb testing.TB, resp events.ALBTargetGroupResponse, single bool) albReply {
	tb.Helper()
	r := albReply{resp: resp, header: http.Header{}, body: []byte(resp.Body)}
	if single {
		if len(resp.Headers) == 0 {
			tb.Errorf("single-value event: the response has no `headers`; the ALB would send none (multiValueHeaders: %v)", resp.MultiValueHeaders)
		}
		for k, v := range resp.Headers {
			r.header.Set(k, v)
		}
	} else {
		if len(resp.MultiValueHeaders) == 0 {
			tb.Errorf("multi-value event: the response has no `multiValueHeaders` (headers: %v)", resp.Headers)
		}
		for k, vs := range resp.MultiValueHeaders {
			for _, v := range vs {
				r.header.Add(k, v)
			}
		}
	}
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			tb.Fatalf("decode base64 body: %v", err)
		}
		r.body = b
	}
	return r
}

func (r albReply) decode(tb testing.TB, v any) {
	tb.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("got Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("decode body: %v\n%.2000s", err, r.body)
	}
}

// healthBody is the part of GET /health the test reads.
type healthBody struct {
	Status       string `json:"status"`
	Version      string `json:"version"`
	Runtime      string `json:"runtime"`
	InstanceID   string `json:"instance_id"`
	FirstRequest bool   `json:"first_request"`
}

func decodeHealth(tb testing.TB, resp events.ALBTargetGroupResponse, single bool) healthBody {
	tb.Helper()
	var h healthBody
	newALBReply(tb, resp, single).decode(tb, &h)
	if resp.StatusCode != http.StatusOK || h.Status != "ok" {
		tb.Fatalf("/health: got %d %+v, want 200 ok", resp.StatusCode, h)
	}
	return h
}

func checkHealthReply(tb testing.TB, r albReply) {
	tb.Helper()
	var h healthBody
	r.decode(tb, &h)
	if h.Status != "ok" || h.Runtime != "lambda" || h.FirstRequest {
		tb.Errorf("got %+v, want status ok, runtime lambda, not the first request", h)
	}
}

func checkModelsReply(tb testing.TB, r albReply) {
	tb.Helper()
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	r.decode(tb, &list)
	found := false
	for _, m := range list.Data {
		found = found || m.ID == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
	}
	if list.Object != "list" || !found {
		tb.Errorf("got object %q with %d models, want a list holding us.anthropic.claude-haiku-4-5-20251001-v1:0 (from the emulator's catalogue)",
			list.Object, len(list.Data))
	}
}

func checkChatReply(tb testing.TB, r albReply) {
	tb.Helper()
	var c struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	r.decode(tb, &c)
	const want = "Emulated reply to: Hello from behind the ALB"
	if c.Object != "chat.completion" || len(c.Choices) != 1 || c.Choices[0].Message.Content != want || c.Choices[0].FinishReason != "stop" {
		tb.Errorf("got %+v, want one assistant choice %q finishing with stop", c, want)
	}
}

// checkStreamReply asserts that a stream:true request behind the ALB gets the
// whole SSE transcript at once.
func checkStreamReply(tb testing.TB, r albReply) {
	tb.Helper()
	checkSSE(tb, r.header, r.body, "Emulated reply to: Stream to me through the ALB")
}

// checkSSE asserts a complete chat completion stream of wantText: a role
// chunk, the content, a finish chunk and [DONE].
func checkSSE(tb testing.TB, header http.Header, sse []byte, wantText string) {
	tb.Helper()
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		tb.Errorf("got Content-Type %q, want text/event-stream", ct)
	}
	body := string(sse)
	if !strings.HasSuffix(body, "data: [DONE]\n\n") {
		tb.Fatalf("the SSE body does not end with data: [DONE]:\n%s", body)
	}
	type chunk struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Choices []struct {
			Delta struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
	}
	var chunks []chunk
	frames := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
	for _, ev := range frames[:len(frames)-1] {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			tb.Fatalf("event %q is not a data line", ev)
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			tb.Fatalf("chunk %q: %v", data, err)
		}
		chunks = append(chunks, c)
	}
	if len(chunks) < 3 {
		tb.Fatalf("got %d chunks, want a role chunk, content and a finish chunk:\n%s", len(chunks), body)
	}
	var text strings.Builder
	for i, c := range chunks {
		if c.Object != "chat.completion.chunk" || c.ID != chunks[0].ID || len(c.Choices) != 1 {
			tb.Errorf("chunk %d: got object %q id %q with %d choices, want chat.completion.chunk, id %q, one choice",
				i, c.Object, c.ID, len(c.Choices), chunks[0].ID)
			continue
		}
		text.WriteString(c.Choices[0].Delta.Content)
	}
	if role := chunks[0].Choices[0].Delta.Role; role != "assistant" {
		tb.Errorf("first chunk: got role %q, want assistant", role)
	}
	if fr := chunks[len(chunks)-1].Choices[0].FinishReason; fr == nil || *fr != "stop" {
		tb.Errorf("last chunk before [DONE]: got finish_reason %v, want stop", fr)
	}
	if text.String() != wantText {
		tb.Errorf("got streamed text %q, want %q", text.String(), wantText)
	}
}

// openAIError is the OpenAI error envelope.
type openAIError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}

func checkBadKeyReply(tb testing.TB, r albReply) {
	tb.Helper()
	var e openAIError
	r.decode(tb, &e)
	if e.Error.Code != "invalid_api_key" || e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
		tb.Errorf("got %+v, want an invalid_api_key invalid_request_error with a message", e)
	}
	if bytes.Contains(r.body, []byte("sk-not-the-key")) {
		tb.Errorf("the error echoes the presented key: %s", r.body)
	}
}

// checkOversizedReply asserts that an answer larger than an ALB takes is
// replaced by a clear error, not cut.
func checkOversizedReply(tb testing.TB, r albReply) {
	tb.Helper()
	var e openAIError
	r.decode(tb, &e)
	if e.Error.Code != "response_too_large" || !strings.Contains(e.Error.Message, "1 MB") {
		tb.Errorf("got %+v, want a response_too_large error naming the 1 MB limit", e)
	}
	if len(r.body) > 4<<10 {
		tb.Errorf("got a %d-byte body, want only the error envelope", len(r.body))
	}
}

func readEvent(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "alb", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// invoke posts an event to RIE and decodes the function's ALB response,
// which must fit what an ALB accepts.
func invoke(tb testing.TB, p *testbin.Process, event []byte) events.ALBTargetGroupResponse {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.InvokeURL, bytes.NewReader(event))
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("invoke: %v; output:\n%s", err, p.Output())
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read invoke response: %v", err)
	}
	var out events.ALBTargetGroupResponse
	if err := json.Unmarshal(payload, &out); err != nil || out.StatusCode == 0 {
		tb.Fatalf("RIE answered %d with no ALB response (%v): %.2000s\noutput:\n%s", resp.StatusCode, err, payload, p.Output())
	}
	if len(payload) > albMaxResponse {
		tb.Errorf("the function answered %d bytes of response JSON (status %d); an ALB rejects more than %d with its own 502",
			len(payload), out.StatusCode, albMaxResponse)
	}
	return out
}

// invokeStream posts an event to a function answering in streaming mode
// and splits RIE's answer into the prelude (status and headers) and the
// body, which the runtime separates with eight NUL bytes.
func invokeStream(tb testing.TB, p *testbin.Process, event []byte) (events.LambdaFunctionURLStreamingResponse, []byte) {
	tb.Helper()
	resp, err := http.Post(p.InvokeURL, "application/json", bytes.NewReader(event))
	if err != nil {
		tb.Fatalf("invoke: %v; output:\n%s", err, p.Output())
	}
	defer resp.Body.Close()
	payload, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read invoke response: %v", err)
	}
	head, body, ok := bytes.Cut(payload, make([]byte, 8))
	var prelude events.LambdaFunctionURLStreamingResponse
	if !ok || json.Unmarshal(head, &prelude) != nil {
		tb.Fatalf("RIE answered %d without a streaming prelude: %.2000q\noutput:\n%s", resp.StatusCode, payload, p.Output())
	}
	return prelude, body
}

// waitLog waits for a line of output containing marker and returns the
// first submatch of re in it.
func waitLog(tb testing.TB, p *testbin.Process, marker string, re *regexp.Regexp) string {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.SplitSeq(p.Output(), "\n") {
			if strings.Contains(line, marker) {
				if m := re.FindStringSubmatch(line); m != nil {
					return m[1]
				}
				tb.Fatalf("line %q does not match %s", line, re)
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %q line in the output:\n%s", marker, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// launchMoto starts moto_server on 127.0.0.1 and kills it when the test
// ends; it does not wait for it to answer. It returns nil when moto_server
// is not installed, except under CI=true where that fails.
func launchMoto(tb testing.TB) *authtest.Moto {
	tb.Helper()
	path, ok := authtest.Find(tb)
	if !ok {
		return nil
	}
	m, err := authtest.Start(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	return m
}

// rieKeyEnv returns the gateway's key settings. With moto, it is the
// template's design: a KMS key, a secret encrypted with it holding
// rieTestKey, and an SSM parameter holding the secret's ARN. Without moto
// (nil), it is API_KEY.
func rieKeyEnv(tb testing.TB, moto *authtest.Moto) []string {
	tb.Helper()
	if moto == nil {
		tb.Logf("moto_server is not on PATH: the key comes from API_KEY instead of SSM and Secrets Manager")
		return []string{"API_KEY=" + rieTestKey}
	}
	if err := moto.Ready(30 * time.Second); err != nil {
		tb.Fatal(err)
	}
	// template.yaml's default SecretArnParameterName.
	f := authtest.NewKeyFixture(tb, authtest.Config(moto.URL), "gateway-api-key", "BedrockApiKey", rieTestKey)
	return []string{
		"SECRET_ARN_PARAMETER=" + f.ParamName,
		"AWS_ENDPOINT_URL_SSM=" + moto.URL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + moto.URL,
	}
}
