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
}

// answer is what reading one answer measured; zero for non-streaming ones.
type answer struct {
	ttft   time.Duration // to the first content chunk
	spread time.Duration // from the first to the last content chunk
	events int           // stream events (SSE data lines or event-stream frames)
}

// newTarget builds the request of cfg's scenario for cfg's API. The Bedrock
// bodies are what the gateway itself sends for the OpenAI ones (checked in
// requests_test.go against the emulator's request log).
func newTarget(cfg config) (*target, error) {
	t := &target{headers: http.Header{"Content-Type": {"application/json"}}}
	prompt, err := json.Marshal(cfg.Prompt)
	if err != nil {
		return nil, fmt.Errorf("encode prompt: %w", err)
	}
	base := strings.TrimSuffix(cfg.URL, "/")
	switch cfg.API + "/" + cfg.Scenario {
	case "openai/chat", "openai/stream":
		t.url = base + "/chat/completions"
		t.body = fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":%s}],"max_tokens":%d,"stream":%t}`,
			cfg.Model, prompt, cfg.MaxTokens, cfg.Scenario == "stream")
		t.read = readOpenAIChat
		if cfg.Scenario == "stream" {
			t.read = readSSE
		}
	case "openai/embed":
		t.url = base + "/embeddings"
		t.body = fmt.Appendf(nil, `{"model":%q,"input":%s}`, cfg.EmbedModel, prompt)
		t.read = readContains(`"embedding"`)
	case "bedrock/chat", "bedrock/stream":
		op := "converse"
		t.read = readContains(`"output"`)
		if cfg.Scenario == "stream" {
			op = "converse-stream"
			t.read = readEventStream
		}
		t.url = base + "/model/" + url.PathEscape(cfg.Model) + "/" + op
		// The gateway tags each call with its 24-hex-digit request id.
		t.body = fmt.Appendf(nil, `{"inferenceConfig":{"maxTokens":%d},"messages":[{"content":[{"text":%s}],"role":"user"}],`+
			`"requestMetadata":{"gateway_request_id":"0123456789abcdef01234567"}}`, cfg.MaxTokens, prompt)
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
