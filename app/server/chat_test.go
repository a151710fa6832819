package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	openaigo "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/openai/openaitest"
	"github.com/openbedrock/gateway/app/server"
)

const modelClaude = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

func userParams(text string) openaigo.ChatCompletionNewParams {
	return openaigo.ChatCompletionNewParams{
		Model:    modelClaude,
		Messages: []openaigo.ChatCompletionMessageParamUnion{openaigo.UserMessage(text)},
	}
}

// converseBody decodes the body Bedrock received.
func converseBody(tb testing.TB, r bedrocktest.Request) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("decode Bedrock request: %v", err)
	}
	return m
}

func TestChatPlain(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"Hello", ", world"}, Usage: &bedrocktest.Usage{InputTokens: 10, OutputTokens: 4, CacheReadInputTokens: 3, CacheWriteInputTokens: 2}}
	})
	resp, err := h.client.Chat.Completions.New(context.Background(), userParams("hi"))
	if err != nil {
		t.Fatal(err)
	}
	openaitest.Validate(t, openaitest.ChatCompletion, []byte(resp.RawJSON()))
	c := resp.Choices[0]
	if c.Message.Content != "Hello, world" || c.FinishReason != "stop" || resp.Model != modelClaude || resp.Object != "chat.completion" {
		t.Errorf("got content %q finish %q model %q", c.Message.Content, c.FinishReason, resp.Model)
	}
	if u := resp.Usage; u.PromptTokens != 15 || u.CompletionTokens != 4 || u.TotalTokens != 19 || u.PromptTokensDetails.CachedTokens != 3 {
		t.Errorf("usage %+v, want prompt 15 (10+3 read+2 write), completion 4, cached 3", u)
	}
	if !strings.HasPrefix(resp.ID, "chatcmpl-") {
		t.Errorf("id %q", resp.ID)
	}
}

func TestChatStream(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"One", " two", " three"}, Usage: &bedrocktest.Usage{InputTokens: 7, OutputTokens: 3}}
	})
	p := userParams("count")
	p.StreamOptions = openaigo.ChatCompletionStreamOptionsParam{IncludeUsage: openaigo.Bool(true)}
	stream := h.client.Chat.Completions.NewStreaming(context.Background(), p)
	var acc openaigo.ChatCompletionAccumulator
	var chunks []openaigo.ChatCompletionChunk
	for stream.Next() {
		ch := stream.Current()
		openaitest.Validate(t, openaitest.ChatCompletionChunk, []byte(ch.RawJSON()))
		chunks = append(chunks, ch)
		if !acc.AddChunk(ch) {
			t.Fatalf("accumulator rejected chunk %s", ch.RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 3 {
		t.Fatalf("got %d chunks", len(chunks))
	}
	if chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Errorf("first chunk has no role: %s", chunks[0].RawJSON())
	}
	last := chunks[len(chunks)-1]
	if len(last.Choices) != 0 || last.Usage.TotalTokens != 10 {
		t.Errorf("last chunk should be the usage chunk, got %s", last.RawJSON())
	}
	if got := acc.Choices[0].Message.Content; got != "One two three" {
		t.Errorf("content %q", got)
	}
	if acc.Choices[0].FinishReason != "stop" {
		t.Errorf("finish %q", acc.Choices[0].FinishReason)
	}
}

func TestChatStreamWireFormat(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"Hi"}}
	})
	resp := h.post(t, "/api/v1/chat/completions", testKey, `{"model":"`+modelClaude+`","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Header)
	}
	body, _ := io.ReadAll(resp.Body)
	events := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
	if events[len(events)-1] != "data: [DONE]" {
		t.Errorf("stream does not end with [DONE]: %q", body)
	}
	var id string
	for _, ev := range events[:len(events)-1] {
		var ch struct {
			ID    string `json:"id"`
			Usage any    `json:"usage"`
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &ch); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		if id == "" {
			id = ch.ID
		}
		if ch.ID != id {
			t.Errorf("chunk id %q differs from %q", ch.ID, id)
		}
		if ch.Usage != nil {
			t.Errorf("usage sent without include_usage: %s", ev)
		}
	}
}

var weatherTool = openaigo.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:       "get_weather",
	Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
})

func TestChatTools(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(r bedrocktest.Request) *bedrocktest.Reply {
		if strings.Contains(string(r.Body), `"toolResult"`) {
			return &bedrocktest.Reply{Text: []string{"Sunny in Paris, rain in Oslo."}}
		}
		return &bedrocktest.Reply{Text: []string{"Checking."}, ToolCalls: []bedrocktest.ToolCall{
			{ID: "tu_1", Name: "get_weather", Input: `{"city":"Paris"}`},
			{ID: "tu_2", Name: "get_weather", Input: `{"city":"Oslo"}`},
		}}
	})
	p := userParams("weather in Paris and Oslo?")
	p.Tools = []openaigo.ChatCompletionToolUnionParam{weatherTool}
	ctx := context.Background()

	resp, err := h.client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	openaitest.Validate(t, openaitest.ChatCompletion, []byte(resp.RawJSON()))
	msg := resp.Choices[0].Message
	if resp.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 2 || msg.Content != "Checking." {
		t.Fatalf("got finish %q, %d tool calls, content %q", resp.Choices[0].FinishReason, len(msg.ToolCalls), msg.Content)
	}
	if tc := msg.ToolCalls[1]; tc.ID != "tu_2" || tc.Function.Name != "get_weather" || tc.Function.Arguments != `{"city":"Oslo"}` {
		t.Errorf("tool call %+v", tc)
	}

	// Streaming: indexes 0 and 1, id and name only on each call's first delta.
	stream := h.client.Chat.Completions.NewStreaming(ctx, p)
	var acc openaigo.ChatCompletionAccumulator
	seen := map[int64]int{}
	for stream.Next() {
		ch := stream.Current()
		openaitest.Validate(t, openaitest.ChatCompletionChunk, []byte(ch.RawJSON()))
		acc.AddChunk(ch)
		for _, c := range ch.Choices {
			for _, tc := range c.Delta.ToolCalls {
				if seen[tc.Index] > 0 && (tc.ID != "" || tc.Function.Name != "") {
					t.Errorf("id or name repeated on a later delta: %s", ch.RawJSON())
				}
				seen[tc.Index]++
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].Function.Arguments != `{"city":"Paris"}` || calls[1].Function.Name != "get_weather" || seen[0] < 2 || seen[1] < 2 {
		t.Fatalf("accumulated tool calls %+v (deltas per index %v)", calls, seen)
	}

	// Multi-turn with the results.
	p.Messages = append(p.Messages, resp.Choices[0].Message.ToParam(),
		openaigo.ToolMessage("sunny", "tu_1"), openaigo.ToolMessage("rain", "tu_2"))
	resp, err = h.client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Sunny in Paris, rain in Oslo." {
		t.Errorf("final answer %q", resp.Choices[0].Message.Content)
	}
	msgs := converseBody(t, h.lastRequest(t, "Converse"))["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)["content"].([]any)
	if len(msgs) != 3 || len(last) != 2 {
		t.Errorf("want 3 turns with both results in the last, got %d turns, last %v", len(msgs), last)
	}
}

func TestChatReasoningMultiTurn(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(r bedrocktest.Request) *bedrocktest.Reply {
		if strings.Contains(string(r.Body), `"toolResult"`) {
			return &bedrocktest.Reply{Reasoning: "Now answer.", Signature: "sig-2", Text: []string{"It is sunny."}}
		}
		return &bedrocktest.Reply{Reasoning: "I need the weather.", Signature: "sig-1",
			ToolCalls: []bedrocktest.ToolCall{{ID: "tu_1", Name: "get_weather", Input: `{"city":"Paris"}`}}}
	})
	p := userParams("weather?")
	p.Tools = []openaigo.ChatCompletionToolUnionParam{weatherTool}
	p.ReasoningEffort = shared.ReasoningEffortLow
	p.MaxTokens = openaigo.Int(8000)
	ctx := context.Background()
	resp, err := h.client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	msg := resp.Choices[0].Message
	var blocks []map[string]string
	if err := json.Unmarshal([]byte(msg.JSON.ExtraFields["thinking_blocks"].Raw()), &blocks); err != nil || len(blocks) != 1 || blocks[0]["signature"] != "sig-1" {
		t.Fatalf("thinking_blocks %s (%v)", msg.JSON.ExtraFields["thinking_blocks"].Raw(), err)
	}
	if rc := msg.JSON.ExtraFields["reasoning_content"].Raw(); rc != `"I need the weather."` {
		t.Errorf("reasoning_content %s", rc)
	}
	asst := msg.ToAssistantMessageParam()
	asst.SetExtraFields(map[string]any{"thinking_blocks": blocks})
	p.Messages = append(p.Messages, openaigo.ChatCompletionMessageParamUnion{OfAssistant: &asst}, openaigo.ToolMessage("sunny", "tu_1"))
	resp, err = h.client.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if resp.Choices[0].Message.Content != "It is sunny." {
		t.Errorf("answer %q", resp.Choices[0].Message.Content)
	}
	body := string(h.lastRequest(t, "Converse").Body)
	if !strings.Contains(body, `"signature":"sig-1"`) || !strings.Contains(body, `"thinking"`) {
		t.Errorf("reasoning not sent back: %s", body)
	}
}

func TestChatImages(t *testing.T) {
	png, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png)
	}))
	defer img.Close()
	h := newHarness(t, func(o *server.Options) {
		o.Translator = &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{AllowHTTP: true, AllowPrivate: true})}
	})
	for _, url := range []string{"data:image/png;base64," + base64.StdEncoding.EncodeToString(png), img.URL + "/cat.png"} {
		p := userParams("")
		p.Messages = []openaigo.ChatCompletionMessageParamUnion{openaigo.UserMessage([]openaigo.ChatCompletionContentPartUnionParam{
			openaigo.TextContentPart("what is this?"),
			openaigo.ImageContentPart(openaigo.ChatCompletionContentPartImageImageURLParam{URL: url}),
		})}
		if _, err := h.client.Chat.Completions.New(context.Background(), p); err != nil {
			t.Fatalf("%.40s: %v", url, err)
		}
		body := string(h.lastRequest(t, "Converse").Body)
		if !strings.Contains(body, `"format":"png"`) || !strings.Contains(body, base64.StdEncoding.EncodeToString(png)) {
			t.Errorf("%.40s: image not sent: %.300s", url, body)
		}
	}
	// With the default guard, a loopback URL is refused with a 400 naming the part.
	g := newHarness(t, func(o *server.Options) {
		o.Translator = &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{AllowHTTP: true})}
	})
	resp := g.post(t, "/api/v1/chat/completions", testKey, `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"`+img.URL+`/x.png"}}]}]}`)
	checkError(t, resp, 400, "messages[0].content[0].image_url.url")
}

// TestChatResponseFormat is the forced-tool method, kept for models without
// native structured output (here Claude Opus 4.1).
func TestChatResponseFormat(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(r bedrocktest.Request) *bedrocktest.Reply {
		var body struct {
			ToolConfig struct {
				ToolChoice struct {
					Tool struct{ Name string } `json:"tool"`
				} `json:"toolChoice"`
			} `json:"toolConfig"`
		}
		_ = json.Unmarshal(r.Body, &body)
		if name := body.ToolConfig.ToolChoice.Tool.Name; name != "" {
			return &bedrocktest.Reply{ToolCalls: []bedrocktest.ToolCall{{Name: name, Input: `{"city":"Paris","temp":21}`}}}
		}
		return &bedrocktest.Reply{Text: []string{"not json"}}
	})
	p := userParams("weather as JSON")
	p.Model = "us.anthropic.claude-opus-4-1-20250805-v1:0"
	p.ResponseFormat = openaigo.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "weather", Schema: map[string]any{
			"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}, "temp": map[string]any{"type": "number"}}}},
	}}
	resp, err := h.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	c := resp.Choices[0]
	if c.Message.Content != `{"city":"Paris","temp":21}` || c.FinishReason != "stop" || len(c.Message.ToolCalls) != 0 {
		t.Errorf("got content %q finish %q tool calls %d", c.Message.Content, c.FinishReason, len(c.Message.ToolCalls))
	}
	var acc openaigo.ChatCompletionAccumulator
	stream := h.client.Chat.Completions.NewStreaming(context.Background(), p)
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || acc.Choices[0].Message.Content != `{"city":"Paris","temp":21}` {
		t.Errorf("stream: content %q err %v", acc.Choices[0].Message.Content, err)
	}
}

func TestChatExtraFieldsReachBedrock(t *testing.T) {
	h := newHarness(t)
	_, err := h.client.Chat.Completions.New(context.Background(), userParams("hi"),
		option.WithJSONSet("top_k", 40), option.WithJSONSet("seed", 1), option.WithJSONSet("extra_body", map[string]any{"anthropic_beta": []string{"b1"}}))
	if err != nil {
		t.Fatal(err)
	}
	extra, _ := json.Marshal(converseBody(t, h.lastRequest(t, "Converse"))["additionalModelRequestFields"])
	if string(extra) != `{"anthropic_beta":["b1"],"top_k":40}` {
		t.Errorf("additionalModelRequestFields %s", extra)
	}
}

func TestChatN(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"x"}, Usage: &bedrocktest.Usage{InputTokens: 5, OutputTokens: 1}}
	})
	p := userParams("hi")
	p.N = openaigo.Int(3)
	resp, err := h.client.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 3 || resp.Choices[2].Index != 2 || resp.Usage.TotalTokens != 18 {
		t.Errorf("got %d choices, usage %+v", len(resp.Choices), resp.Usage)
	}
}

// checkError asserts an OpenAI error envelope with the status and param.
func checkError(tb testing.TB, resp *http.Response, status int, param string) map[string]any {
	tb.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		tb.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	openaitest.Validate(tb, openaitest.ErrorResponse, body)
	var env struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		tb.Fatalf("error body %s: %v", body, err)
	}
	if param != "" && env.Error["param"] != param {
		tb.Errorf("param %v, want %q (%s)", env.Error["param"], param, body)
	}
	return env.Error
}

func TestChatBadRequests(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.MaxBodyBytes = 1 << 10 })
	tests := []struct {
		name, key, body string
		status          int
		param, code     string
	}{
		{"missing key", "", `{}`, 401, "", "missing_api_key"},
		{"wrong key", "sk-wrong", `{}`, 401, "", "invalid_api_key"},
		{"malformed JSON", testKey, `{"messages":`, 400, "", "invalid_json"},
		{"wrong type", testKey, `{"messages":"hi"}`, 400, "messages", "invalid_type"},
		{"empty body", testKey, ``, 400, "", "invalid_json"},
		{"too large", testKey, `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`, 413, "", "request_too_large"},
		{"bad role", testKey, `{"messages":[{"role":"wizard","content":"x"}]}`, 400, "messages[0].role", ""},
		{"bad tool_choice", testKey, `{"tool_choice":"sometimes","messages":[{"role":"user","content":"x"}]}`, 400, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := checkError(t, h.post(t, "/api/v1/chat/completions", tt.key, tt.body), tt.status, tt.param)
			if tt.code != "" && e["code"] != tt.code {
				t.Errorf("code %v, want %s", e["code"], tt.code)
			}
		})
	}
	resp := h.post(t, "/api/v1/nope", testKey, `{}`)
	checkError(t, resp, 404, "")
	if strings.Contains(h.logs.String(), testKey) || strings.Contains(h.logs.String(), "sk-wrong") {
		t.Error("a key appears in the logs")
	}
}

func TestChatBedrockErrors(t *testing.T) {
	tests := []struct {
		exception  string
		status     int
		code       string
		retryAfter bool
	}{
		{"ValidationException", 400, "validation_error", false},
		{"AccessDeniedException", 403, "access_denied", false},
		{"ResourceNotFoundException", 404, "model_not_found", false},
		{"ThrottlingException", 429, "rate_limit_exceeded", true},
		{"ServiceQuotaExceededException", 429, "quota_exceeded", true},
		{"ModelNotReadyException", 503, "model_not_ready", true},
		{"ServiceUnavailableException", 503, "service_unavailable", true},
		{"ModelTimeoutException", 504, "model_timeout", false},
		{"ModelErrorException", 502, "model_error", false},
		{"InternalServerException", 502, "upstream_error", false},
	}
	h := newHarness(t)
	var current atomic.Value
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Error: &bedrocktest.Error{Type: current.Load().(string), Message: "emulated failure"}}
	})
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.exception
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				current.Store(tt.exception)
				body := `{"messages":[{"role":"user","content":"x"}],"stream":` + map[bool]string{false: "false", true: "true"}[stream] + `}`
				resp := h.post(t, "/api/v1/chat/completions", testKey, body)
				e := checkError(t, resp, tt.status, "")
				// Only a validation error passes Bedrock's text on: it says
				// what to fix. Others have a message of the gateway's.
				passed := strings.Contains(e["message"].(string), "emulated failure")
				if e["code"] != tt.code || passed != (tt.exception == "ValidationException") {
					t.Errorf("error %v, want code %s", e, tt.code)
				}
				if got := resp.Header.Get("Retry-After") != ""; got != tt.retryAfter {
					t.Errorf("Retry-After present %v, want %v", got, tt.retryAfter)
				}
			})
		}
	}
}

// TestBedrockTextStaysInTheLog: a real AccessDenied names the account and
// the gateway's role; the client gets a clean message, the log the text.
// A ValidationException's text reaches the client without ARNs or account ids.
func TestBedrockTextStaysInTheLog(t *testing.T) {
	const (
		account = "123456789012"
		role    = "arn:aws:sts::123456789012:assumed-role/gateway-prod/i-0abc"
	)
	denied := "User: " + role + " is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/x because no identity-based policy allows the bedrock:InvokeModel action"
	tests := []struct {
		exception, message string
		status             int
		want               string // in the client's message
	}{
		{"AccessDeniedException", denied, 403, "denied the gateway access"},
		{"ValidationException", "The provided model " + role + " in account " + account + " does not support tools", 400, "does not support tools"},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			h := newHarness(t)
			h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
				return &bedrocktest.Reply{Error: &bedrocktest.Error{Type: tt.exception, Message: tt.message}}
			})
			resp := h.post(t, "/api/v1/chat/completions", testKey, `{"stream":`+strconv.FormatBool(stream)+`,"messages":[{"role":"user","content":"x"}]}`)
			e := checkError(t, resp, tt.status, "")
			msg := e["message"].(string)
			if strings.Contains(msg, account) || strings.Contains(msg, "arn:") || !strings.Contains(msg, tt.want) {
				t.Errorf("%s (stream %v): client told %q", tt.exception, stream, msg)
			}
			if !strings.Contains(h.logs.String(), role) {
				t.Errorf("%s (stream %v): Bedrock's text is not in the log:\n%s", tt.exception, stream, h.logs.String())
			}
		}
	}
}

func TestChatStreamFirstEventException(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		if calls.Add(1) == 1 {
			return &bedrocktest.Reply{StreamError: &bedrocktest.Error{Type: "ThrottlingException", Message: "slow down"}, StreamErrorAfter: -1}
		}
		return &bedrocktest.Reply{Text: []string{"ok"}}
	})
	stream := h.client.Chat.Completions.NewStreaming(context.Background(), userParams("x"))
	var acc openaigo.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || acc.Choices[0].Message.Content != "ok" || calls.Load() != 2 {
		t.Fatalf("retry after a first-frame throttle: content %q err %v calls %d", acc.Choices[0].Message.Content, err, calls.Load())
	}
	// A validation exception in the first frame is not retried and is a 400.
	calls.Store(0)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		calls.Add(1)
		return &bedrocktest.Reply{StreamError: &bedrocktest.Error{Type: "ValidationException", Message: "bad"}, StreamErrorAfter: -1}
	})
	resp := h.post(t, "/api/v1/chat/completions", testKey, `{"stream":true,"messages":[{"role":"user","content":"x"}]}`)
	checkError(t, resp, 400, "")
	if calls.Load() != 1 {
		t.Errorf("validation error retried: %d calls", calls.Load())
	}
}

func TestChatMidStreamError(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"a", "b", "c"}, StreamError: &bedrocktest.Error{Type: "ModelStreamErrorException", Message: "model broke"}, StreamErrorAfter: 2}
	})
	stream := h.client.Chat.Completions.NewStreaming(context.Background(), userParams("x"))
	n := 0
	for stream.Next() {
		n++
	}
	err := stream.Err()
	if err == nil || !strings.Contains(err.Error(), "model_error") || strings.Contains(err.Error(), "model broke") || n == 0 {
		t.Fatalf("got %d chunks then err %v, want chunks then the model error", n, err)
	}
	resp := h.post(t, "/api/v1/chat/completions", testKey, `{"stream":true,"messages":[{"role":"user","content":"x"}]}`)
	body, _ := io.ReadAll(resp.Body)
	events := strings.Split(strings.TrimSpace(string(body)), "\n\n")
	last := strings.TrimPrefix(events[len(events)-1], "data: ")
	openaitest.Validate(t, openaitest.ErrorResponse, []byte(last))
	if strings.Contains(string(body), "[DONE]") {
		t.Error("a failed stream must not end with [DONE]")
	}
}

func TestChatClientDisconnectCancelsBedrock(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: strings.Split(strings.Repeat("word ", 50), " "), ChunkDelay: 100 * time.Millisecond}
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/api/v1/chat/completions",
		strings.NewReader(`{"stream":true,"messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q %v", line, err)
	}
	cancel()
	resp.Body.Close()
	waitFor(t, "the emulator to see the cancellation", func() bool { return h.emu.Cancellations() == 1 })
}

func TestHealthAndModels(t *testing.T) {
	h := newHarness(t)
	resp, err := http.Get(h.url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if resp.StatusCode != 200 || health["status"] != "ok" || health["first_request"] != true || health["instance_id"] == "" {
		t.Errorf("first /health: %d %v", resp.StatusCode, health)
	}
	resp, _ = http.Get(h.url + "/health")
	_ = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if health["first_request"] != false {
		t.Errorf("second /health still says first_request: %v", health)
	}

	page, err := h.client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	openaitest.Validate(t, openaitest.ModelList, []byte(page.RawJSON()))
	if len(page.Data) != 1 || page.Data[0].ID != modelClaude {
		t.Errorf("models %+v", page.Data)
	}
	m, err := h.client.Models.Get(context.Background(), modelClaude)
	if err != nil || m.ID != modelClaude {
		t.Errorf("get model: %+v %v", m, err)
	}
	var apiErr *openaigo.Error
	_, err = h.client.Models.List(context.Background(), option.WithAPIKey("nope"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("bad key on /models: %v", err)
	}
}

var _ = param.Opt[int]{}

func TestConcurrencyCap(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.MaxConcurrent = 1 })
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: []string{"a", "b", "c"}, ChunkDelay: 150 * time.Millisecond}
	})
	first := h.post(t, "/api/v1/chat/completions", testKey, `{"stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if first.StatusCode != 200 {
		t.Fatalf("first request: %d", first.StatusCode)
	}
	second := h.post(t, "/api/v1/chat/completions", testKey, `{"messages":[{"role":"user","content":"x"}]}`)
	e := checkError(t, second, 503, "")
	if e["code"] != "overloaded" || second.Header.Get("Retry-After") == "" {
		t.Errorf("over the cap: %v, Retry-After %q", e, second.Header.Get("Retry-After"))
	}
	if _, err := io.ReadAll(first.Body); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slot to be released", func() bool {
		resp := h.post(t, "/api/v1/chat/completions", testKey, `{"messages":[{"role":"user","content":"x"}]}`)
		return resp.StatusCode == 200
	})
}

func TestRequestTimeout(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.RequestTimeout = 300 * time.Millisecond })
	h.emu.Script(func(r bedrocktest.Request) *bedrocktest.Reply {
		if r.Operation == "Converse" {
			return &bedrocktest.Reply{Delay: 2 * time.Second}
		}
		return &bedrocktest.Reply{Text: []string{"a", "b", "c", "d", "e"}, ChunkDelay: 200 * time.Millisecond}
	})
	e := checkError(t, h.post(t, "/api/v1/chat/completions", testKey, `{"messages":[{"role":"user","content":"x"}]}`), 504, "")
	if e["code"] != "timeout" {
		t.Errorf("non-stream timeout: %v", e)
	}
	resp := h.post(t, "/api/v1/chat/completions", testKey, `{"stream":true,"messages":[{"role":"user","content":"x"}]}`)
	body, _ := io.ReadAll(resp.Body)
	events := strings.Split(strings.TrimSpace(string(body)), "\n\n")
	if last := events[len(events)-1]; resp.StatusCode != 200 || !strings.Contains(last, `"code":"timeout"`) {
		t.Errorf("stream timeout: status %d, last event %q", resp.StatusCode, last)
	}
}

// TestConcurrentStreamsShareNothing runs streams concurrently through one
// Bedrock client: each must get its own answer (under -race, and by content).
func TestConcurrentStreamsShareNothing(t *testing.T) {
	h := newHarness(t)
	const n = 12
	errs := make(chan error, n)
	for i := range n {
		go func() {
			word := strings.Repeat(string(rune('a'+i)), 40)
			p := userParams(word)
			stream := h.client.Chat.Completions.NewStreaming(context.Background(), p)
			var acc openaigo.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			switch {
			case stream.Err() != nil:
				errs <- stream.Err()
			case !strings.Contains(acc.Choices[0].Message.Content, word):
				errs <- errors.New("stream " + word[:1] + " got " + acc.Choices[0].Message.Content)
			default:
				errs <- nil
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
