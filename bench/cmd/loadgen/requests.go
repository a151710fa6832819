package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// target is what one run sends and how it reads an answer.
type target struct {
	url     string
	body    []byte
	headers http.Header
	// read consumes a 200 answer.
	read func(r io.Reader, start time.Time) (answer, error)
	// mix, when set, holds the targets a mixed run sends in turn instead.
	mix []*target
}

// answer is what reading one answer measured; zero for non-streaming ones.
type answer struct {
	ttft   time.Duration // to the first content chunk
	spread time.Duration // from the first to the last content chunk
	events int           // stream events (SSE data lines or event-stream frames)
}

// scenarios are what a run can send: chat, stream and embed on every API;
// the Responses and Anthropic Messages routes (plain and streaming), whose
// bedrock baseline is the chat or stream request the gateway sends for
// them; and mixed, which cycles through chat, stream, embed and a chat
// with a tool call.
var scenarios = []string{"chat", "stream", "embed", "responses", "responses-stream", "messages", "messages-stream", "mixed"}

// streaming reports whether a scenario's answers are streams (TTFT measured).
func streaming(scenario string) bool {
	return scenario == "stream" || strings.HasSuffix(scenario, "-stream")
}

// mixedScenarios is what the mixed scenario cycles through, in order.
var mixedScenarios = []string{"chat", "stream", "embed", "tools"}

// newTarget builds the request of cfg's scenario for cfg's API. The Bedrock
// bodies are what the gateway itself sends for the OpenAI ones (checked in
// requests_test.go against the emulator's request log).
func newTarget(cfg config) (*target, error) {
	if cfg.Scenario != "mixed" {
		return newSingleTarget(cfg)
	}
	t := &target{}
	for _, sc := range mixedScenarios {
		c := cfg
		c.Scenario = sc
		sub, err := newSingleTarget(c)
		if err != nil {
			return nil, err
		}
		t.mix = append(t.mix, sub)
	}
	return t, nil
}

// toolPrompt makes the emulator answer with a tool call.
const toolPrompt = `What is the weather in Paris?` + "\n" + `@emulate {"tool_calls":[{"name":"get_weather","input":{"city":"Paris"}}]}`

func newSingleTarget(cfg config) (*target, error) {
	t := &target{headers: http.Header{"Content-Type": {"application/json"}}}
	if cfg.Scenario == "tools" {
		cfg.Prompt = toolPrompt
	}
	prompt, err := json.Marshal(cfg.Prompt)
	if err != nil {
		return nil, fmt.Errorf("encode prompt: %w", err)
	}
	base := strings.TrimSuffix(cfg.URL, "/")
	scenario := cfg.Scenario
	if cfg.API == "bedrock" {
		// The Responses and Messages routes call Converse as chat does.
		switch scenario {
		case "responses", "messages":
			scenario = "chat"
		case "responses-stream", "messages-stream":
			scenario = "stream"
		}
	}
	switch cfg.API + "/" + scenario {
	case "openai/chat", "openai/stream":
		t.url = base + "/chat/completions"
		t.body = fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":%s}],"max_tokens":%d,"stream":%t}`,
			cfg.Model, prompt, cfg.MaxTokens, scenario == "stream")
		t.read = readOpenAIChat
		if scenario == "stream" {
			t.read = readSSE
		}
	case "openai/tools":
		t.url = base + "/chat/completions"
		t.body = fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":%s}],"max_tokens":%d,`+
			`"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather of a city",`+
			`"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}`,
			cfg.Model, prompt, cfg.MaxTokens)
		t.read = readContains(`"tool_calls"`)
	case "openai/responses", "openai/responses-stream":
		// store false: a steady-state run should not fill the response store.
		t.url = base + "/responses"
		t.body = fmt.Appendf(nil, `{"model":%q,"input":%s,"max_output_tokens":%d,"store":false,"stream":%t}`,
			cfg.Model, prompt, cfg.MaxTokens, scenario == "responses-stream")
		t.read = readContains(`"output"`)
		if scenario == "responses-stream" {
			t.read = readResponsesSSE
		}
	case "openai/messages", "openai/messages-stream":
		t.url = base + "/messages"
		t.headers.Set("Anthropic-Version", "2023-06-01")
		t.body = fmt.Appendf(nil, `{"model":%q,"max_tokens":%d,"messages":[{"role":"user","content":%s}],"stream":%t}`,
			cfg.Model, cfg.MaxTokens, prompt, scenario == "messages-stream")
		t.read = readContains(`"content"`)
		if scenario == "messages-stream" {
			t.read = readMessagesSSE
		}
	case "openai/embed":
		t.url = base + "/embeddings"
		t.body = fmt.Appendf(nil, `{"model":%q,"input":%s}`, cfg.EmbedModel, prompt)
		t.read = readContains(`"embedding"`)
	case "bedrock/chat", "bedrock/stream", "bedrock/tools":
		op := "converse"
		t.read = readContains(`"output"`)
		if scenario == "stream" {
			op = "converse-stream"
			t.read = readEventStream
		}
		t.url = base + "/model/" + url.PathEscape(cfg.Model) + "/" + op
		tools := ""
		if scenario == "tools" {
			t.read = readContains(`"toolUse"`)
			tools = `,"toolConfig":{"tools":[{"toolSpec":{"description":"Current weather of a city","inputSchema":{"json":` +
				`{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}},"name":"get_weather"}}]}`
		}
		// The gateway tags each call with its 24-hex-digit request id.
		t.body = fmt.Appendf(nil, `{"inferenceConfig":{"maxTokens":%d},"messages":[{"content":[{"text":%s}],"role":"user"}],`+
			`"requestMetadata":{"gateway_request_id":"0123456789abcdef01234567"}%s}`, cfg.MaxTokens, prompt, tools)
	case "bedrock/embed":
		t.url = base + "/model/" + url.PathEscape(cfg.EmbedModel) + "/invoke"
		t.headers.Set("Accept", "application/json")
		switch {
		case strings.HasPrefix(cfg.EmbedModel, "cohere.embed-english-v3"), strings.HasPrefix(cfg.EmbedModel, "cohere.embed-multilingual-v3"):
			t.body = fmt.Appendf(nil, `{"input_type":"search_document","texts":[%s]}`, prompt)
			t.read = readContains(`"embeddings"`)
		case strings.HasPrefix(cfg.EmbedModel, "amazon.titan-embed-text-v2"):
			t.body = fmt.Appendf(nil, `{"dimensions":1024,"inputText":%s,"normalize":true}`, prompt)
			t.read = readContains(`"embedding"`)
		default:
			return nil, fmt.Errorf("-embed-model: %s has no Bedrock request here (Cohere Embed v3 or Titan Text v2)", cfg.EmbedModel)
		}
	default:
		return nil, fmt.Errorf("no %s request for scenario %s", cfg.API, cfg.Scenario)
	}
	if cfg.API == "openai" && cfg.Key != "" {
		t.headers.Set("Authorization", "Bearer "+cfg.Key)
	}
	return t, nil
}

// readContains reads the whole answer and checks that it holds marker, a
// cheap sign that it is the expected document and not, say, an empty 200.
func readContains(marker string) func(io.Reader, time.Time) (answer, error) {
	m := []byte(marker)
	return func(r io.Reader, _ time.Time) (answer, error) {
		body, err := io.ReadAll(r)
		if err != nil {
			return answer{}, fmt.Errorf("read body: %w", err)
		}
		if !bytes.Contains(body, m) {
			return answer{}, fmt.Errorf("answer lacks %s: %.200s", marker, body)
		}
		return answer{}, nil
	}
}

func readOpenAIChat(r io.Reader, start time.Time) (answer, error) {
	return readContains(`"choices"`)(r, start)
}

var (
	sseData    = []byte("data: ")
	sseDone    = []byte("data: [DONE]")
	sseError   = []byte(`data: {"error"`)
	sseContent = []byte(`"content":"`)
)

// readSSE reads a chat completion stream to its [DONE]. Content chunks are
// those with non-empty content (the role chunk carries "").
func readSSE(r io.Reader, start time.Time) (answer, error) {
	br := bufio.NewReaderSize(r, 16<<10)
	var a answer
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return a, fmt.Errorf("stream ended after %d events without data: [DONE]", a.events)
			}
			return a, fmt.Errorf("read stream: %w", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case !bytes.HasPrefix(line, sseData):
			continue
		case bytes.Equal(line, sseDone):
			if a.ttft == 0 {
				return a, fmt.Errorf("stream carried no content in %d events", a.events)
			}
			_, _ = io.Copy(io.Discard, br)
			return a, nil
		case bytes.HasPrefix(line, sseError):
			return a, fmt.Errorf("error event: %.200s", line)
		}
		a.events++
		if i := bytes.Index(line, sseContent); i >= 0 && i+len(sseContent) < len(line) && line[i+len(sseContent)] != '"' {
			a.content(start)
		}
	}
}

// readResponsesSSE reads a Responses stream to its response.completed
// event; content chunks are response.output_text.delta events.
func readResponsesSSE(r io.Reader, start time.Time) (answer, error) {
	return readTypedSSE(r, start, "response.output_text.delta", "response.completed", "response.failed")
}

// readMessagesSSE reads an Anthropic Messages stream to its message_stop
// event; content chunks are content_block_delta events.
func readMessagesSSE(r io.Reader, start time.Time) (answer, error) {
	return readTypedSSE(r, start, "content_block_delta", "message_stop", "")
}

// readTypedSSE reads a stream of SSE events named by their "event:" lines
// (the Responses and Anthropic streams) until the event done; an "error"
// event or failed is an error.
func readTypedSSE(r io.Reader, start time.Time, delta, done, failed string) (answer, error) {
	br := bufio.NewReaderSize(r, 16<<10)
	var a answer
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return a, fmt.Errorf("stream ended after %d events without %s", a.events, done)
			}
			return a, fmt.Errorf("read stream: %w", err)
		}
		name, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("event: "))
		if !ok {
			continue
		}
		a.events++
		switch ev := string(name); {
		case ev == delta:
			a.content(start)
		case ev == done:
			if a.ttft == 0 {
				return a, fmt.Errorf("stream carried no content in %d events", a.events)
			}
			_, _ = io.Copy(io.Discard, br)
			return a, nil
		case ev == "error" || ev == failed && failed != "":
			rest, _ := br.ReadSlice('\n')
			return a, fmt.Errorf("%s event: %.200s", ev, rest)
		}
	}
}

// content records a content chunk arriving now.
func (a *answer) content(start time.Time) {
	t := time.Since(start)
	if a.ttft == 0 {
		a.ttft = t
	}
	a.spread = t - a.ttft
}

// readEventStream reads a ConverseStream answer (AWS event-stream frames)
// to its end. The first token is the first contentBlockDelta; an exception
// frame or a stream without messageStop is an error.
func readEventStream(r io.Reader, start time.Time) (answer, error) {
	dec := eventstream.NewDecoder()
	buf := make([]byte, 0, 1024)
	br := bufio.NewReaderSize(r, 16<<10)
	var a answer
	stopped := false
	for {
		msg, err := dec.Decode(br, buf)
		if errors.Is(err, io.EOF) {
			if !stopped {
				return a, fmt.Errorf("event stream ended after %d events without messageStop", a.events)
			}
			return a, nil
		}
		if err != nil {
			return a, fmt.Errorf("decode event stream: %w", err)
		}
		if mt := headerString(msg.Headers, ":message-type"); mt != "event" {
			return a, fmt.Errorf("%s frame %s: %.200s", mt, headerString(msg.Headers, ":exception-type"), msg.Payload)
		}
		a.events++
		switch headerString(msg.Headers, ":event-type") {
		case "contentBlockDelta":
			a.content(start)
		case "messageStop":
			stopped = true
		}
	}
}

func headerString(h eventstream.Headers, name string) string {
	v := h.Get(name)
	if v == nil {
		return ""
	}
	return v.String()
}
