package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	anthropic "github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/openbedrock/gateway/app/server"
)

func user(text string) anthropic.MessageParam {
	return anthropic.NewUserMessage(anthropic.NewTextBlock(text))
}

func params(model, prompt string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 1000, Messages: []anthropic.MessageParam{user(prompt)}}
}

// stream runs a streamed request and returns the SDK's accumulated message.
func stream(t *testing.T, h *harness, p anthropic.MessageNewParams) (anthropic.Message, []string, error) {
	t.Helper()
	s := h.client.Messages.NewStreaming(context.Background(), p)
	defer s.Close()
	var msg anthropic.Message
	var kinds []string
	for s.Next() {
		ev := s.Current()
		strict(t, "stream event", ev)
		kinds = append(kinds, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	return msg, kinds, s.Err()
}

func TestMessagesPlainAndStreamed(t *testing.T) {
	h := newHarness(t)
	for _, model := range []string{"claude-sonnet-4-5", novaModel} {
		t.Run(model, func(t *testing.T) {
			p := params(model, "Hello there")
			plain, err := h.client.Messages.New(context.Background(), p)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			strict(t, "message", *plain)
			if len(plain.Content) != 1 || plain.Content[0].Text != "Emulated reply to: Hello there" || plain.StopReason != anthropic.StopReasonEndTurn {
				t.Fatalf("got %s, want the emulator's echo", plain.RawJSON())
			}
			if plain.Usage.InputTokens == 0 || plain.Usage.OutputTokens == 0 {
				t.Errorf("got usage %s, want tokens", plain.Usage.RawJSON())
			}
			streamed, kinds, err := stream(t, h, p)
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if kinds[0] != "message_start" || kinds[len(kinds)-1] != "message_stop" {
				t.Errorf("got events %v", kinds)
			}
			if got, want := summary(streamed), summary(*plain); got != want {
				t.Errorf("streamed message differs from the plain one:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

// summary is a message without its id, for comparing two answers.
func summary(m anthropic.Message) string {
	var b strings.Builder
	b.WriteString(string(m.Model) + " " + string(m.StopReason) + " ")
	for _, c := range m.Content {
		b.WriteString(c.Type + ":" + c.Text + c.Thinking + c.Signature + c.Name + string(c.Input) + " ")
	}
	u := m.Usage
	b.WriteString(strings.Join([]string{itoa(u.InputTokens), itoa(u.OutputTokens), itoa(u.CacheCreationInputTokens), itoa(u.CacheReadInputTokens)}, "/"))
	return b.String()
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestMessagesNativeBody(t *testing.T) {
	h := newHarness(t)
	_, err := h.client.Messages.New(context.Background(), params("claude-sonnet-4-5", "hi"),
		option.WithHeader("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"))
	if err != nil {
		t.Fatal(err)
	}
	req := h.lastRequest(t, "InvokeModel")
	if req.ModelID != sonnetProfile {
		t.Errorf("model %s, want the US profile %s", req.ModelID, sonnetProfile)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &body); err != nil {
		t.Fatal(err)
	}
	if string(body["anthropic_version"]) != `"bedrock-2023-05-31"` || string(body["anthropic_beta"]) != `["interleaved-thinking-2025-05-14"]` {
		t.Errorf("got version %s, betas %s", body["anthropic_version"], body["anthropic_beta"])
	}
	if _, ok := body["model"]; ok {
		t.Error("the model member went to Bedrock")
	}
}

func TestMessagesToolsOverTwoTurns(t *testing.T) {
	h := newHarness(t)
	tool := anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{Name: "get_weather", Description: anthropic.String("Weather"),
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}
	for _, model := range []string{"claude-sonnet-4-5", novaModel} {
		t.Run(model, func(t *testing.T) {
			p := params(model, `@emulate {"tool_calls":[{"id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]}`)
			p.Tools = []anthropic.ToolUnionParam{tool}
			first, err := h.client.Messages.New(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			strict(t, "message", *first)
			if first.StopReason != anthropic.StopReasonToolUse || first.Content[len(first.Content)-1].Type != "tool_use" {
				t.Fatalf("got %s, want a tool_use", first.RawJSON())
			}
			use := first.Content[len(first.Content)-1]
			if use.Name != "get_weather" || string(use.Input) != `{"city":"Paris"}` {
				t.Errorf("got tool use %s", use.RawJSON())
			}
			p.Messages = append(p.Messages, first.ToParam(), anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "sunny, 21C", false)))
			second, err := h.client.Messages.New(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if second.Content[0].Text != "Emulated reply to: sunny, 21C" {
				t.Errorf("got %s, want the tool result echoed", second.RawJSON())
			}
		})
	}
}

func TestMessagesThinkingWithToolOverTwoTurns(t *testing.T) {
	h := newHarness(t)
	p := params("claude-sonnet-4-5", `@emulate {"tool_calls":[{"name":"lookup","input":{"q":"x"}}]}`)
	p.MaxTokens = 4000
	p.Thinking = anthropic.ThinkingConfigParamOfEnabled(2000)
	p.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "lookup", InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{}}}}}
	first, _, err := stream(t, h, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Content) != 2 || first.Content[0].Type != "thinking" || first.Content[0].Signature == "" || first.Content[1].Type != "tool_use" {
		t.Fatalf("got %+v, want signed thinking then a tool use", first.Content)
	}
	p.Messages = append(p.Messages, first.ToParam(), anthropic.NewUserMessage(anthropic.NewToolResultBlock(first.Content[1].ID, "found", false)))
	second, _, err := stream(t, h, p)
	if err != nil {
		t.Fatalf("second turn (thinking sent back with its signature): %v", err)
	}
	if second.Content[len(second.Content)-1].Text != "Emulated reply to: found" {
		t.Errorf("got %+v", second.Content)
	}
}

func TestMessagesCacheControl(t *testing.T) {
	h := newHarness(t)
	p := params("claude-sonnet-4-5", "question one")
	p.System = []anthropic.TextBlockParam{{Text: strings.Repeat("A long system prompt. ", 20), CacheControl: anthropic.CacheControlEphemeralParam{TTL: anthropic.CacheControlEphemeralTTLTTL1h}}}
	first, err := h.client.Messages.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	p.Messages = []anthropic.MessageParam{user("question two")}
	second, err := h.client.Messages.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if first.Usage.CacheCreationInputTokens == 0 || second.Usage.CacheReadInputTokens != first.Usage.CacheCreationInputTokens {
		t.Errorf("got usage %s then %s, want a cache write then the same read", first.Usage.RawJSON(), second.Usage.RawJSON())
	}
	if !strings.Contains(string(h.lastRequest(t, "InvokeModel").Body), `"ttl":"1h"`) {
		t.Error("the cache ttl did not reach Bedrock")
	}
}

func TestMessagesImage(t *testing.T) {
	h := newHarness(t)
	png := "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
	for _, model := range []string{"claude-sonnet-4-5", novaModel} {
		p := params(model, "")
		p.Messages = []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewImageBlockBase64("image/png", png), anthropic.NewTextBlock("What is this?"))}
		msg, err := h.client.Messages.New(context.Background(), p)
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if msg.Content[0].Text != "Emulated reply to: What is this?" {
			t.Errorf("%s: got %s", model, msg.RawJSON())
		}
	}
}

func TestCountTokens(t *testing.T) {
	h := newHarness(t)
	p := anthropic.MessageCountTokensParams{Model: "claude-sonnet-4-5", Messages: []anthropic.MessageParam{user(strings.Repeat("a", 400))}}
	got, err := h.client.Messages.CountTokens(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	strict(t, "count", *got)
	if got.InputTokens != 101 {
		t.Errorf("got %d tokens, want Bedrock's count 101", got.InputTokens)
	}
	resp := h.post(t, "/api/v1/messages/count_tokens", `{"model":"`+novaModel+`","messages":[{"role":"user","content":"hello world"}]}`)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Gateway-Token-Count") != "estimate" || string(b) != `{"input_tokens":2}` {
		t.Errorf("Nova: got %d %q %s, want an estimate of 2", resp.StatusCode, resp.Header.Get("X-Gateway-Token-Count"), b)
	}
}

func TestMessagesErrors(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.MaxBodyBytes = 4096 })
	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		typ    string
	}{
		{"invalid request", func() error {
			_, err := h.client.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 10})
			return err
		}, 400, "invalid_request_error"},
		{"authentication", func() error {
			_, err := h.client.Messages.New(context.Background(), params("claude-sonnet-4-5", "hi"), option.WithAPIKey("wrong"))
			return err
		}, 401, "authentication_error"},
		{"permission", func() error {
			_, err := h.client.Messages.New(context.Background(), params("claude-sonnet-4-5", "@emulate-error AccessDeniedException"))
			return err
		}, 403, "permission_error"},
		{"not found", func() error {
			_, err := h.client.Messages.New(context.Background(), params("claude-opus-5-5", "hi"))
			return err
		}, 404, "not_found_error"},
		{"too large", func() error {
			_, err := h.client.Messages.New(context.Background(), params("claude-sonnet-4-5", strings.Repeat("x", 5000)))
			return err
		}, 413, "request_too_large"},
		{"rate limit", func() error {
			_, err := h.client.Messages.New(context.Background(), params("claude-sonnet-4-5", "@emulate-error ThrottlingException"))
			return err
		}, 429, "rate_limit_error"},
		{"api error", func() error {
			_, err := h.client.Messages.New(context.Background(), params(novaModel, "@emulate-error InternalServerException"))
			return err
		}, 500, "api_error"},
		{"overloaded", func() error {
			_, err := h.client.Messages.New(context.Background(), params("claude-sonnet-4-5", "@emulate-error ServiceUnavailableException"))
			return err
		}, 529, "overloaded_error"},
		{"overloaded before a stream", func() error {
			_, _, err := stream(t, h, params("claude-sonnet-4-5", "@emulate-error ServiceUnavailableException"))
			return err
		}, 529, "overloaded_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var apiErr *anthropic.Error
			if err := tc.call(); !errors.As(err, &apiErr) {
				t.Fatalf("got %v, want an *anthropic.Error", err)
			}
			if apiErr.StatusCode != tc.status || string(apiErr.Type()) != tc.typ {
				t.Errorf("got %d %q (%s), want %d %q", apiErr.StatusCode, apiErr.Type(), apiErr.RawJSON(), tc.status, tc.typ)
			}
			if apiErr.RequestID == "" {
				t.Error("no request-id header")
			}
			var env struct {
				Type      string `json:"type"`
				RequestID string `json:"request_id"`
			}
			if json.Unmarshal([]byte(apiErr.RawJSON()), &env); env.Type != "error" || env.RequestID != apiErr.RequestID {
				t.Errorf("got envelope %s, want type error and the request id", apiErr.RawJSON())
			}
		})
	}
	// Close matches are named.
	_, err := h.client.Messages.New(context.Background(), params("claude-sonnet-4-6", "hi"))
	if err == nil || !strings.Contains(err.Error(), "claude-sonnet-4-5") {
		t.Errorf("got %v, want claude-sonnet-4-5 suggested", err)
	}
}

func TestMessagesErrorMidStream(t *testing.T) {
	h := newHarness(t)
	for _, model := range []string{"claude-sonnet-4-5", novaModel} {
		_, kinds, err := stream(t, h, params(model, `@emulate {"stream_error":{"type":"ThrottlingException"},"stream_error_after":3}`))
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || !strings.Contains(apiErr.RawJSON(), "rate_limit_error") {
			t.Errorf("%s: got %v after %v, want a rate_limit_error event", model, err, kinds)
		}
	}
}

func TestMessagesClientDisconnectCancelsUpstream(t *testing.T) {
	h := newHarness(t)
	for i, model := range []string{"claude-sonnet-4-5", novaModel} {
		ctx, cancel := context.WithCancel(context.Background())
		s := h.client.Messages.NewStreaming(ctx, params(model, `@emulate {"text":["a","b","c","d"],"chunk_delay_ms":2000}`))
		if !s.Next() {
			t.Fatalf("%s: no first event: %v", model, s.Err())
		}
		cancel()
		s.Close()
		deadline := time.Now().Add(3 * time.Second)
		for h.emu.Cancellations() <= i {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the emulator saw no cancellation", model)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestMessagesPingWhileWaiting(t *testing.T) {
	h := newHarness(t) // pings after 50 ms without an event
	for _, model := range []string{"claude-sonnet-4-5", novaModel} {
		resp := h.post(t, "/api/v1/messages", `{"model":"`+model+`","max_tokens":100,"stream":true,
			"messages":[{"role":"user","content":"@emulate {\"text\":[\"a\",\"b\"],\"chunk_delay_ms\":300}"}]}`)
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", model, resp.StatusCode, err)
		}
		// The SDK skips pings; count them on the wire.
		if n := strings.Count(string(b), "event: ping\ndata: {\"type\":\"ping\"}\n\n"); n < 3 {
			t.Errorf("%s: got %d pings, want one after message_start and more while waiting:\n%s", model, n, b)
		}
		if !strings.HasSuffix(string(b), "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n") {
			t.Errorf("%s: the stream does not end with a plain message_stop:\n%s", model, b)
		}
	}
}

func TestModelsList(t *testing.T) {
	h := newHarness(t)
	page, err := h.client.Models.List(context.Background(), anthropic.ModelListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		strict(t, "model", m)
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, " ") != "claude-sonnet-4-5-20250929 claude-haiku-4-5-20251001 "+novaModel+" claude-opus-4-8" {
		t.Errorf("got %v", ids)
	}
}
