package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	openai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
	"github.com/openbedrock/gateway/app/openai/openaitest"
	"github.com/openbedrock/gateway/app/server"
)

// responsesClient is the official v3 client pointed at the harness, with
// the API key key.
func (h *harness) responsesClient(key string) *responses.ResponseService {
	c := openai.NewClient(option.WithBaseURL(h.url+"/api/v1"), option.WithAPIKey(key),
		option.WithMaxRetries(0), option.WithRequestTimeout(20*time.Second))
	return &c.Responses
}

func inputText(s string) responses.ResponseNewParamsInputUnion {
	return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
}

func inputItems(items ...responses.ResponseInputItemUnionParam) responses.ResponseNewParamsInputUnion {
	return responses.ResponseNewParamsInputUnion{OfInputItemList: items}
}

// validateResponse checks a response object against the official schema.
func validateResponse(tb testing.TB, r *responses.Response) {
	tb.Helper()
	openaitest.Validate(tb, openaitest.Response, []byte(r.RawJSON()))
}

func TestResponsesPlain(t *testing.T) {
	h := newHarness(t)
	var httpResp *http.Response
	r, err := h.responsesClient(testKey).New(context.Background(), responses.ResponseNewParams{
		Input:        inputText("hello there"),
		Instructions: openai.String("Be brief."),
		Metadata:     shared.Metadata{"k": "v"},
		Tools:        []responses.ToolUnionParam{{OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}},
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	validateResponse(t, r)
	if got, want := r.OutputText(), "Emulated reply to: hello there"; got != want {
		t.Errorf("output text: got %q, want %q", got, want)
	}
	if r.Status != responses.ResponseStatusCompleted || r.Usage.InputTokens == 0 || r.Usage.OutputTokens == 0 || r.Metadata["k"] != "v" {
		t.Errorf("status %q usage %+v metadata %v", r.Status, r.Usage, r.Metadata)
	}
	if got := httpResp.Header.Get(server.DroppedToolsHeader); got != "web_search" {
		t.Errorf("%s: got %q, want web_search", server.DroppedToolsHeader, got)
	}
	if httpResp.Header.Get(server.OverheadHeader) == "" {
		t.Errorf("no %s header", server.OverheadHeader)
	}
	body := converseBody(t, h.lastRequest(t, "Converse"))
	if sys, _ := json.Marshal(body["system"]); !strings.Contains(string(sys), "Be brief.") {
		t.Errorf("instructions did not become the system prompt: %s", sys)
	}
	if _, ok := body["toolConfig"]; ok {
		t.Error("the hosted web_search tool reached Bedrock")
	}
}

// streamEvents reads a whole stream, validating every event.
func streamEvents(t *testing.T, h *harness, params responses.ResponseNewParams) ([]responses.ResponseStreamEventUnion, error) {
	t.Helper()
	stream := h.responsesClient(testKey).NewStreaming(context.Background(), params)
	defer stream.Close()
	var events []responses.ResponseStreamEventUnion
	for stream.Next() {
		ev := stream.Current()
		openaitest.Validate(t, openaitest.ResponseStreamEvent, []byte(ev.RawJSON()))
		if n := len(events); n > 0 && ev.SequenceNumber != events[n-1].SequenceNumber+1 {
			t.Errorf("event %s: sequence_number %d after %d", ev.Type, ev.SequenceNumber, events[n-1].SequenceNumber)
		}
		events = append(events, ev)
	}
	return events, stream.Err()
}

func eventTypes(events []responses.ResponseStreamEventUnion) string {
	var types []string
	for i, ev := range events {
		if i > 0 && ev.Type == events[i-1].Type && strings.HasSuffix(ev.Type, ".delta") {
			continue
		}
		types = append(types, strings.TrimPrefix(ev.Type, "response."))
	}
	return strings.Join(types, " ")
}

// sameResponse compares two responses but for their ids and times.
var volatile = regexp.MustCompile(`"(id|created_at|completed_at)":("[^"]*"|\d+)`)

func sameResponse(t *testing.T, streamed, plain string) {
	t.Helper()
	a, b := volatile.ReplaceAllString(streamed, `"$1":0`), volatile.ReplaceAllString(plain, `"$1":0`)
	var va, vb any
	_ = json.Unmarshal([]byte(a), &va)
	_ = json.Unmarshal([]byte(b), &vb)
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	if string(ja) != string(jb) {
		t.Errorf("streamed and plain responses differ:\nstreamed: %s\nplain:    %s", ja, jb)
	}
}

func TestResponsesStream(t *testing.T) {
	h := newHarness(t)
	params := responses.ResponseNewParams{Input: inputText("stream me")}
	events, err := streamEvents(t, h, params)
	if err != nil {
		t.Fatal(err)
	}
	want := "created in_progress output_item.added content_part.added output_text.delta output_text.done content_part.done output_item.done completed"
	if got := eventTypes(events); got != want {
		t.Errorf("events:\ngot  %s\nwant %s", got, want)
	}
	var text strings.Builder
	for _, ev := range events {
		if ev.Type == "response.output_text.delta" {
			text.WriteString(ev.Delta)
		}
	}
	final := events[len(events)-1].Response
	if text.String() != final.OutputText() || text.String() != "Emulated reply to: stream me" {
		t.Errorf("deltas %q, final text %q", text.String(), final.OutputText())
	}
	plain, err := h.responsesClient(testKey).New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	sameResponse(t, final.RawJSON(), plain.RawJSON())
}

func responsesWeatherTool() responses.ToolUnionParam {
	return responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
		Name:       "get_weather",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
	}}
}

// TestResponsesToolLoop runs the two turns of a function call: the model
// calls the tool, the client sends its output back, the model answers.
func TestResponsesToolLoop(t *testing.T) {
	h := newHarness(t)
	c := h.responsesClient(testKey)
	first := responses.ResponseInputItemParamOfMessage("What is the weather?\n"+`@emulate {"tool_calls":[{"id":"call_1","name":"get_weather","input":{"city":"Paris"}}]}`, responses.EasyInputMessageRoleUser)
	params := responses.ResponseNewParams{Input: inputItems(first), Tools: []responses.ToolUnionParam{responsesWeatherTool()}, Store: openai.Bool(false)}
	r1, err := c.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	validateResponse(t, r1)
	if len(r1.Output) != 1 || r1.Output[0].Type != "function_call" {
		t.Fatalf("output: got %s, want one function_call", r1.RawJSON())
	}
	call := r1.Output[0].AsFunctionCall()
	if call.Name != "get_weather" || call.CallID != "call_1" || call.Arguments != `{"city":"Paris"}` {
		t.Errorf("call: got %+v", call)
	}

	// The streamed first turn carries the same call.
	events, err := streamEvents(t, h, params)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := eventTypes(events), "created in_progress output_item.added function_call_arguments.delta function_call_arguments.done output_item.done completed"; got != want {
		t.Errorf("events:\ngot  %s\nwant %s", got, want)
	}
	sameResponse(t, events[len(events)-1].Response.RawJSON(), r1.RawJSON())

	params.Input = inputItems(first,
		responses.ResponseInputItemUnionParam{OfFunctionCall: &responses.ResponseFunctionToolCallParam{CallID: call.CallID, Name: call.Name, Arguments: call.Arguments}},
		toolOutput(call.CallID, "sunny, 21 C"))
	r2, err := c.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	validateResponse(t, r2)
	if !strings.Contains(r2.OutputText(), "sunny, 21 C") {
		t.Errorf("second turn: got %q, want the tool output echoed", r2.OutputText())
	}
	msgs, _ := json.Marshal(converseBody(t, h.lastRequest(t, "Converse"))["messages"])
	if !strings.Contains(string(msgs), `"toolResult"`) || !strings.Contains(string(msgs), `"toolUse"`) {
		t.Errorf("Bedrock did not get the tool turn: %s", msgs)
	}
}

// TestResponsesReasoningToolLoop is what Codex does: store false, reasoning
// items with encrypted_content sent back with the tool output.
func TestResponsesReasoningToolLoop(t *testing.T) {
	h := newHarness(t)
	c := h.responsesClient(testKey)
	first := responses.ResponseInputItemParamOfMessage("Weather?\n"+`@emulate {"reasoning":"I should call the tool.","signature":"sig-123","tool_calls":[{"id":"call_1","name":"get_weather","input":{"city":"Paris"}}]}`, responses.EasyInputMessageRoleUser)
	params := responses.ResponseNewParams{
		Input: inputItems(first), Tools: []responses.ToolUnionParam{responsesWeatherTool()}, Store: openai.Bool(false),
		Include:   []responses.ResponseIncludable{responses.ResponseIncludableReasoningEncryptedContent},
		Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortLow, Summary: shared.ReasoningSummaryAuto},
	}
	events, err := streamEvents(t, h, params)
	if err != nil {
		t.Fatal(err)
	}
	want := "created in_progress output_item.added reasoning_summary_part.added reasoning_summary_text.delta reasoning_summary_text.done reasoning_summary_part.done output_item.done output_item.added function_call_arguments.delta function_call_arguments.done output_item.done completed"
	if got := eventTypes(events); got != want {
		t.Errorf("events:\ngot  %s\nwant %s", got, want)
	}
	r1 := events[len(events)-1].Response
	if len(r1.Output) != 2 {
		t.Fatalf("output: %s", r1.RawJSON())
	}
	reasoning := r1.Output[0].AsReasoning()
	if reasoning.EncryptedContent == "" || strings.Contains(reasoning.EncryptedContent, "sig-123") {
		t.Fatalf("encrypted_content: got %q, want a sealed blob", reasoning.EncryptedContent)
	}
	if len(reasoning.Summary) != 1 || reasoning.Summary[0].Text != "I should call the tool." {
		t.Errorf("summary: got %+v", reasoning.Summary)
	}
	call := r1.Output[1].AsFunctionCall()

	second := func(blob string) *http.Response {
		t.Helper()
		var httpResp *http.Response
		p := params
		// Built by hand: ToParam keeps the received JSON, blob included.
		rp := responses.ResponseReasoningItemParam{ID: reasoning.ID, EncryptedContent: openai.String(blob),
			Summary: []responses.ResponseReasoningItemSummaryParam{{Text: reasoning.Summary[0].Text}}}
		p.Input = inputItems(first,
			responses.ResponseInputItemUnionParam{OfReasoning: &rp},
			responses.ResponseInputItemUnionParam{OfFunctionCall: &responses.ResponseFunctionToolCallParam{CallID: call.CallID, Name: call.Name, Arguments: call.Arguments}},
			toolOutput(call.CallID, "sunny"))
		r2, err := c.New(context.Background(), p, option.WithResponseInto(&httpResp))
		if err != nil {
			t.Fatal(err)
		}
		validateResponse(t, r2)
		return httpResp
	}
	resp := second(reasoning.EncryptedContent)
	if w := resp.Header.Get(server.WarningHeader); w != "" {
		t.Errorf("warning on a good blob: %s", w)
	}
	msgs, _ := json.Marshal(converseBody(t, h.lastRequest(t, "Converse"))["messages"])
	if !strings.Contains(string(msgs), `"signature":"sig-123"`) || !strings.Contains(string(msgs), `I should call the tool.`) {
		t.Errorf("the thinking block did not go back to Bedrock: %s", msgs)
	}

	tampered := []byte(reasoning.EncryptedContent)
	tampered[len(tampered)/2] ^= 1
	resp = second(string(tampered))
	if w := resp.Header.Get(server.WarningHeader); !strings.Contains(w, "encrypted_content") {
		t.Errorf("%s: got %q, want a warning about the dropped blob", server.WarningHeader, w)
	}
	msgs, _ = json.Marshal(converseBody(t, h.lastRequest(t, "Converse"))["messages"])
	if strings.Contains(string(msgs), `"signature":"sig-123"`) {
		t.Errorf("a tampered blob reached Bedrock: %s", msgs)
	}
}

func TestResponsesStore(t *testing.T) {
	const otherKey = "sk-other-0123456789"
	h := newHarness(t, func(o *server.Options) {
		o.Auth = auth.NewStatic(auth.NewKey("default", testKey), auth.NewKey("other", otherKey))
	})
	c := h.responsesClient(testKey)
	r1, err := c.New(context.Background(), responses.ResponseNewParams{Input: inputText("my name is Ada")})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.New(context.Background(), responses.ResponseNewParams{Input: inputText("what is my name?"), PreviousResponseID: openai.String(r1.ID)})
	if err != nil {
		t.Fatal(err)
	}
	validateResponse(t, r2)
	if r2.PreviousResponseID != r1.ID {
		t.Errorf("previous_response_id: got %q, want %q", r2.PreviousResponseID, r1.ID)
	}
	msgs, _ := json.Marshal(converseBody(t, h.lastRequest(t, "Converse"))["messages"])
	for _, want := range []string{"my name is Ada", "Emulated reply to: my name is Ada", "what is my name?"} {
		if !strings.Contains(string(msgs), want) {
			t.Errorf("Bedrock's messages lack %q: %s", want, msgs)
		}
	}

	got, err := c.Get(context.Background(), r2.ID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	validateResponse(t, got)
	if got.OutputText() != r2.OutputText() {
		t.Errorf("GET: got %q, want %q", got.OutputText(), r2.OutputText())
	}
	resp := h.get(t, "/api/v1/responses/"+r2.ID+"/input_items", testKey)
	body, _ := io.ReadAll(resp.Body)
	openaitest.Validate(t, openaitest.ResponseItemList, body)
	if !strings.Contains(string(body), "what is my name?") || strings.Contains(string(body), "Ada") {
		t.Errorf("input_items: got %s, want only the second request's input", body)
	}

	// Another key sees nothing.
	other := h.responsesClient(otherKey)
	var apiErr *openai.Error
	if _, err := other.Get(context.Background(), r1.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("GET with another key: got %v, want 404", err)
	}
	if _, err := other.New(context.Background(), responses.ResponseNewParams{Input: inputText("x"), PreviousResponseID: openai.String(r1.ID)}); !errors.As(err, &apiErr) ||
		apiErr.StatusCode != http.StatusNotFound || !strings.Contains(apiErr.Message, "per instance") && !strings.Contains(apiErr.Message, "instance") {
		t.Errorf("previous_response_id with another key: got %v, want 404 naming the per-instance store", err)
	}

	if err := c.Delete(context.Background(), r1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(context.Background(), r1.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("GET after DELETE: got %v, want 404", err)
	}
	// r2 continued r1: its chain is broken now.
	if _, err := c.New(context.Background(), responses.ResponseNewParams{Input: inputText("x"), PreviousResponseID: openai.String(r2.ID)}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("continuing a broken chain: got %v, want 404", err)
	}
}

func TestResponsesStoreOff(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.ResponseStore.Off = true })
	c := h.responsesClient(testKey)
	r, err := c.New(context.Background(), responses.ResponseNewParams{Input: inputText("hi")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.RawJSON(), `"store":true`) {
		t.Error("store: got true with RESPONSES_STORE off")
	}
	var apiErr *openai.Error
	if _, err := c.Get(context.Background(), r.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("GET: got %v, want 404", err)
	}
}

// TestResponsesStructuredOutput: text.format json_schema reaches Bedrock
// as native structured output (outputConfig.textFormat) and the answer is
// the output text.
func TestResponsesStructuredOutput(t *testing.T) {
	h := newHarness(t)
	r, err := h.responsesClient(testKey).New(context.Background(), responses.ResponseNewParams{
		Input: inputText("Who?"),
		Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigUnionParam{OfJSONSchema: &responses.ResponseFormatTextJSONSchemaConfigParam{
			Name: "person", Strict: openai.Bool(true),
			Schema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}, "age": map[string]any{"type": "integer"}},
				"required": []string{"name", "age"}, "additionalProperties": false},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	validateResponse(t, r)
	var got struct {
		Name *string
		Age  *int
	}
	if err := json.Unmarshal([]byte(r.OutputText()), &got); err != nil || got.Name == nil || got.Age == nil {
		t.Errorf("output text %q (%v), want JSON in the schema", r.OutputText(), err)
	}
	if r.Status != responses.ResponseStatusCompleted {
		t.Errorf("status: got %q, want completed", r.Status)
	}
	body := converseBody(t, h.lastRequest(t, "Converse"))
	if oc, _ := json.Marshal(body["outputConfig"]); !strings.Contains(string(oc), `"json_schema"`) || !strings.Contains(string(oc), `"person"`) {
		t.Errorf("Bedrock's outputConfig: got %s, want the schema", oc)
	}
}

func TestResponsesImage(t *testing.T) {
	h := newHarness(t)
	png := "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	r, err := h.responsesClient(testKey).New(context.Background(), responses.ResponseNewParams{Input: inputItems(
		responses.ResponseInputItemParamOfMessage(responses.ResponseInputMessageContentListParam{
			{OfInputText: &responses.ResponseInputTextParam{Text: "what is this?"}},
			{OfInputImage: &responses.ResponseInputImageParam{ImageURL: openai.String(png), Detail: responses.ResponseInputImageDetailAuto}},
		}, responses.EasyInputMessageRoleUser))})
	if err != nil {
		t.Fatal(err)
	}
	validateResponse(t, r)
	msgs, _ := json.Marshal(converseBody(t, h.lastRequest(t, "Converse"))["messages"])
	if !strings.Contains(string(msgs), `"image":{"format":"png"`) {
		t.Errorf("Bedrock did not get the image: %s", msgs)
	}
}

func TestResponsesErrors(t *testing.T) {
	h := newHarness(t)
	c := h.responsesClient(testKey)
	tests := []struct {
		name   string
		params responses.ResponseNewParams
		status int
		param  string
	}{
		{"throttled", responses.ResponseNewParams{Input: inputText("@emulate-error ThrottlingException slow down")}, http.StatusTooManyRequests, ""},
		{"validation", responses.ResponseNewParams{Input: inputText("@emulate-error ValidationException bad")}, http.StatusBadRequest, ""},
		{"access denied", responses.ResponseNewParams{Input: inputText("@emulate-error AccessDeniedException no")}, http.StatusForbidden, ""},
		{"unknown model", responses.ResponseNewParams{Input: inputText("x"), Model: "no-such-model"}, http.StatusNotFound, "model"},
		{"bad item", responses.ResponseNewParams{Input: inputItems(responses.ResponseInputItemParamOfItemReference("msg_nope"))}, http.StatusNotFound, "input[0].id"},
		{"unknown previous", responses.ResponseNewParams{Input: inputText("x"), PreviousResponseID: openai.String("resp_nope")}, http.StatusNotFound, "previous_response_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					s := c.NewStreaming(context.Background(), tt.params)
					for s.Next() {
					}
					err = s.Err()
				} else {
					_, err = c.New(context.Background(), tt.params)
				}
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("stream %v: got %v, want an API error", stream, err)
				}
				if apiErr.StatusCode != tt.status || apiErr.Param != tt.param {
					t.Errorf("stream %v: got %d param %q (%s), want %d param %q", stream, apiErr.StatusCode, apiErr.Param, apiErr.Message, tt.status, tt.param)
				}
				openaitest.Validate(t, openaitest.ErrorResponse, []byte(`{"error":`+apiErr.RawJSON()+`}`))
			}
		})
	}
	// Malformed bodies get the envelope too.
	for _, body := range []string{`{"input":42}`, `{"input":[{"type":"message","role":"user","content":[{"type":"input_audio"}]}]}`, `{`} {
		resp := h.post(t, "/api/v1/responses", testKey, body)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: got %d %s, want 400", body, resp.StatusCode, b)
		}
		openaitest.Validate(t, openaitest.ErrorResponse, b)
	}
}

func TestResponsesMidStreamError(t *testing.T) {
	h := newHarness(t)
	events, err := streamEvents(t, h, responses.ResponseNewParams{
		Input: inputText(`@emulate {"text":["a","b","c","d"],"stream_error":{"type":"modelStreamErrorException","message":"boom"},"stream_error_after":3}`)})
	if err != nil {
		t.Fatal(err) // the SDK hands the error event over as an event
	}
	if got, want := eventTypes(events), "created in_progress output_item.added content_part.added output_text.delta output_text.done content_part.done output_item.done error failed"; got != want {
		t.Errorf("events:\ngot  %s\nwant %s", got, want)
	}
	if last := events[len(events)-1]; last.Response.Status != responses.ResponseStatusFailed || last.Response.Error.Code != "server_error" || last.Response.Error.Message == "" {
		t.Errorf("response.failed: got %s", last.RawJSON())
	}
	resp := h.post(t, "/api/v1/responses", testKey, `{"stream":true,"input":"@emulate {\"text\":[\"a\",\"b\",\"c\",\"d\"],\"stream_error\":{\"type\":\"modelStreamErrorException\",\"message\":\"boom\"},\"stream_error_after\":3}"}`)
	body, _ := io.ReadAll(resp.Body)
	blocks := strings.Split(strings.TrimSpace(string(body)), "\n\n")
	if len(blocks) < 2 || !strings.HasPrefix(blocks[len(blocks)-2], "event: error\n") || !strings.HasPrefix(blocks[len(blocks)-1], "event: response.failed\n") {
		t.Fatalf("stream end: got %q, want error then response.failed", blocks[max(0, len(blocks)-2):])
	}
	failed := strings.TrimPrefix(strings.SplitN(blocks[len(blocks)-1], "\n", 2)[1], "data: ")
	openaitest.Validate(t, openaitest.ResponseStreamEvent, []byte(failed))
	if !strings.Contains(failed, `"status":"failed"`) || !strings.Contains(failed, `"code":"server_error"`) {
		t.Errorf("response.failed: got %s", failed)
	}
}

func TestResponsesClientDisconnectCancelsBedrock(t *testing.T) {
	h := newHarness(t)
	h.emu.Script(func(bedrocktest.Request) *bedrocktest.Reply {
		return &bedrocktest.Reply{Text: strings.Split(strings.Repeat("word ", 50), " "), ChunkDelay: 100 * time.Millisecond}
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.url+"/api/v1/responses", strings.NewReader(`{"stream":true,"input":"x"}`))
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "event: response.created") {
		t.Fatalf("first line %q %v", line, err)
	}
	cancel()
	resp.Body.Close()
	waitFor(t, "the emulator to see the cancellation", func() bool { return h.emu.Cancellations() == 1 })
}

func toolOutput(callID, output string) responses.ResponseInputItemUnionParam {
	return responses.ResponseInputItemUnionParam{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{
		CallID: openai.String(callID), Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: openai.String(output)}}}
}

// get sends a raw GET to the gateway.
func (h *harness) get(tb testing.TB, path, key string) *http.Response {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestResponsesInputTokens(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct{ model, source string }{
		{modelClaude, "bedrock"},                   // CountTokens supported
		{"us.amazon.nova-2-lite-v1:0", "estimate"}, // not: the gateway estimates
	} {
		var httpResp *http.Response
		n, err := h.responsesClient(testKey).InputTokens.Count(context.Background(), responses.InputTokenCountParams{
			Model: openai.String(tt.model), Input: responses.InputTokenCountParamsInputUnion{OfString: openai.String("count these words please")},
			Instructions: openai.String("Be brief."),
		}, option.WithResponseInto(&httpResp))
		if err != nil {
			t.Fatalf("%s: %v", tt.model, err)
		}
		openaitest.Validate(t, openaitest.InputTokens, []byte(n.RawJSON()))
		if n.InputTokens <= 0 || httpResp.Header.Get(server.TokenCountHeader) != tt.source {
			t.Errorf("%s: %d tokens from %q, want some from %s", tt.model, n.InputTokens, httpResp.Header.Get(server.TokenCountHeader), tt.source)
		}
	}
}

// TestResponsesReasoningTokens checks usage.output_tokens_details.reasoning_tokens,
// plain and streamed, against the chat completion of the same answer:
// Bedrock reports no reasoning count, so both APIs use the one estimate
// (four characters a token, at most the output tokens).
func TestResponsesReasoningTokens(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	reasoning := strings.Repeat("think ", 40) // 240 characters
	for _, tt := range []struct {
		name         string
		outputTokens int
		want         int64
	}{
		{"estimated", 100, 60},
		{"capped at the output tokens", 20, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prompt := fmt.Sprintf("Why?\n@emulate {\"reasoning\":%q,\"signature\":\"sig\",\"text\":\"42\",\"usage\":{\"input_tokens\":10,\"output_tokens\":%d}}", reasoning, tt.outputTokens)
			params := responses.ResponseNewParams{Input: inputText(prompt), Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortLow}}
			plain, err := h.responsesClient(testKey).New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			validateResponse(t, plain)
			events, err := streamEvents(t, h, params)
			if err != nil {
				t.Fatal(err)
			}
			streamed := events[len(events)-1].Response

			cp := userParams(prompt)
			cp.ReasoningEffort = shared.ReasoningEffortLow
			chat, err := h.client.Chat.Completions.New(ctx, cp)
			if err != nil {
				t.Fatal(err)
			}
			cp.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := h.client.Chat.Completions.NewStreaming(ctx, cp)
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string]int64{
				"responses":          plain.Usage.OutputTokensDetails.ReasoningTokens,
				"responses streamed": streamed.Usage.OutputTokensDetails.ReasoningTokens,
				"chat":               chat.Usage.CompletionTokensDetails.ReasoningTokens,
				"chat streamed":      acc.Usage.CompletionTokensDetails.ReasoningTokens,
			} {
				if got != tt.want {
					t.Errorf("%s: reasoning_tokens %d, want %d", name, got, tt.want)
				}
			}
		})
	}
}

// TestResponsesBedrockErrors maps every Bedrock exception on /responses as
// on chat, before the stream starts too: status, code, Retry-After, and the
// OpenAI error envelope.
func TestResponsesBedrockErrors(t *testing.T) {
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
	c := h.responsesClient(testKey)
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			t.Run(tt.exception+map[bool]string{true: "/stream"}[stream], func(t *testing.T) {
				params := responses.ResponseNewParams{Input: inputText("@emulate-error " + tt.exception + " emulated failure")}
				var err error
				if stream {
					s := c.NewStreaming(context.Background(), params)
					for s.Next() {
						t.Errorf("event before the error: %s", s.Current().RawJSON())
					}
					err = s.Err()
				} else {
					_, err = c.New(context.Background(), params)
				}
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("got %v, want an API error", err)
				}
				if apiErr.StatusCode != tt.status || apiErr.Code != tt.code {
					t.Errorf("got %d %q (%s), want %d %q", apiErr.StatusCode, apiErr.Code, apiErr.Message, tt.status, tt.code)
				}
				if got := apiErr.Response.Header.Get("Retry-After") != ""; got != tt.retryAfter {
					t.Errorf("Retry-After present %v, want %v", got, tt.retryAfter)
				}
				openaitest.Validate(t, openaitest.ErrorResponse, []byte(`{"error":`+apiErr.RawJSON()+`}`))
			})
		}
	}
	// The gateway's own refusals use the same envelope.
	_, err := h.responsesClient("sk-wrong-key-000000").New(context.Background(), responses.ResponseNewParams{Input: inputText("x")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong key: got %v, want 401", err)
	}
	openaitest.Validate(t, openaitest.ErrorResponse, []byte(`{"error":`+apiErr.RawJSON()+`}`))
}

// TestResponsesMidStreamErrorCodes: an exception after the first event ends
// the stream with an error event and response.failed carrying the code
// OpenAI would use; the failed response is stored as it ended.
func TestResponsesMidStreamErrorCodes(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct{ exception, code string }{
		{"modelStreamErrorException", "server_error"},
		{"internalServerException", "server_error"},
		{"serviceUnavailableException", "server_error"},
		{"throttlingException", "rate_limit_exceeded"},
	} {
		t.Run(tt.exception, func(t *testing.T) {
			events, err := streamEvents(t, h, responses.ResponseNewParams{Input: inputText(
				`@emulate {"text":["a","b","c"],"stream_error":{"type":"` + tt.exception + `","message":"boom"},"stream_error_after":3}`)})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(events); n < 2 || events[n-2].Type != "error" || events[n-1].Type != "response.failed" {
				t.Fatalf("events: got %s, want error then failed", eventTypes(events))
			}
			errEv, failed := events[len(events)-2], events[len(events)-1].Response
			if errEv.Code != tt.code || failed.Error.Code != responses.ResponseErrorCode(tt.code) || failed.Status != responses.ResponseStatusFailed {
				t.Errorf("error event code %q, response.failed %s; want code %s", errEv.Code, failed.RawJSON(), tt.code)
			}
			stored, err := h.responsesClient(testKey).Get(context.Background(), failed.ID, responses.ResponseGetParams{})
			if err != nil {
				t.Fatal(err)
			}
			validateResponse(t, stored)
			if stored.Status != responses.ResponseStatusFailed || stored.Error.Code != failed.Error.Code {
				t.Errorf("stored: got %s, want the failed response", stored.RawJSON())
			}
		})
	}
}

// TestResponsesIncomplete: a response cut by max_output_tokens or a content
// filter is incomplete with its reason, plain and streamed alike.
func TestResponsesIncomplete(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		name   string
		params responses.ResponseNewParams
		reason string
	}{
		{"max_output_tokens", responses.ResponseNewParams{Input: inputText(strings.Repeat("a long question ", 10)), MaxOutputTokens: openai.Int(3)}, "max_output_tokens"},
		{"content_filter", responses.ResponseNewParams{Input: inputText(`@emulate {"text":["partial"],"stop_reason":"content_filtered"}`)}, "content_filter"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plain, err := h.responsesClient(testKey).New(context.Background(), tt.params)
			if err != nil {
				t.Fatal(err)
			}
			validateResponse(t, plain)
			if plain.Status != responses.ResponseStatusIncomplete || plain.IncompleteDetails.Reason != tt.reason {
				t.Errorf("status %q reason %q, want incomplete %q", plain.Status, plain.IncompleteDetails.Reason, tt.reason)
			}
			events, err := streamEvents(t, h, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			last := events[len(events)-1]
			if last.Type != "response.incomplete" {
				t.Fatalf("last event %s, want response.incomplete", last.Type)
			}
			sameResponse(t, last.Response.RawJSON(), plain.RawJSON())
		})
	}
}

// TestResponsesClientDisconnectPlain: a client that gives up on a
// non-streamed response cancels the Bedrock call too.
func TestResponsesClientDisconnectPlain(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.responsesClient(testKey).New(ctx, responses.ResponseNewParams{Input: inputText(`@emulate {"delay_ms":5000}`)})
		done <- err
	}()
	waitFor(t, "the call to reach Bedrock", func() bool { return len(h.emu.Requests()) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client: got %v, want context.Canceled", err)
	}
	waitFor(t, "the emulator to see the cancellation", func() bool { return h.emu.Cancellations() == 1 })
}

// TestResponsesStreamedStore: a streamed response is stored as it ended, and
// previous_response_id continues it with only the tool output as input.
func TestResponsesStreamedStore(t *testing.T) {
	h := newHarness(t)
	c := h.responsesClient(testKey)
	events, err := streamEvents(t, h, responses.ResponseNewParams{
		Input: inputText("Weather?\n" + `@emulate {"tool_calls":[{"id":"call_1","name":"get_weather","input":{"city":"Paris"}}]}`),
		Tools: []responses.ToolUnionParam{responsesWeatherTool()},
	})
	if err != nil {
		t.Fatal(err)
	}
	final := events[len(events)-1].Response
	stored, err := c.Get(context.Background(), final.ID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	validateResponse(t, stored)
	sameResponse(t, stored.RawJSON(), final.RawJSON())

	r2, err := c.New(context.Background(), responses.ResponseNewParams{
		Input: inputItems(toolOutput("call_1", "sunny, 21 C")), PreviousResponseID: openai.String(final.ID),
		Tools: []responses.ToolUnionParam{responsesWeatherTool()},
	})
	if err != nil {
		t.Fatal(err)
	}
	validateResponse(t, r2)
	if !strings.Contains(r2.OutputText(), "sunny, 21 C") {
		t.Errorf("second turn: got %q, want the tool output echoed", r2.OutputText())
	}
	msgs, _ := json.Marshal(converseBody(t, h.lastRequest(t, "Converse"))["messages"])
	for _, want := range []string{"Weather?", `"toolUse"`, `"toolResult"`, "sunny, 21 C"} {
		if !strings.Contains(string(msgs), want) {
			t.Errorf("Bedrock's messages lack %s: %s", want, msgs)
		}
	}
}

// TestResponsesStoreLimits: the store keeps at most RESPONSES_STORE_MAX_ENTRIES
// responses, oldest out first, and never one larger than its byte cap; the
// request itself still succeeds.
func TestResponsesStoreLimits(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.ResponseStore.MaxEntries, o.ResponseStore.MaxBytes = 2, 8<<10 })
	c := h.responsesClient(testKey)
	var ids []string
	for _, in := range []string{"one", "two", "three", strings.Repeat("big ", 3000)} {
		r, err := c.New(context.Background(), responses.ResponseNewParams{Input: inputText(in)})
		if err != nil {
			t.Fatalf("%.10s: %v", in, err)
		}
		ids = append(ids, r.ID)
	}
	for i, want := range []bool{false, true, true, false} {
		_, err := c.Get(context.Background(), ids[i], responses.ResponseGetParams{})
		var apiErr *openai.Error
		if got := err == nil; got != want || !got && (!errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound) {
			t.Errorf("response %d: got %v, want kept %v (else 404)", i, err, want)
		}
	}
}

// TestResponsesInputTokensContext: input_tokens counts what the request
// would send, previous_response_id's conversation included, and answers an
// unknown id with the store's 404.
func TestResponsesInputTokensContext(t *testing.T) {
	h := newHarness(t)
	c := h.responsesClient(testKey)
	r1, err := c.New(context.Background(), responses.ResponseNewParams{Input: inputText(strings.Repeat("some earlier words ", 20))})
	if err != nil {
		t.Fatal(err)
	}
	count := func(prev string) (int64, error) {
		p := responses.InputTokenCountParams{Model: openai.String(modelClaude), Input: responses.InputTokenCountParamsInputUnion{OfString: openai.String("and now?")}}
		if prev != "" {
			p.PreviousResponseID = openai.String(prev)
		}
		n, err := c.InputTokens.Count(context.Background(), p)
		if err != nil {
			return 0, err
		}
		return n.InputTokens, nil
	}
	alone, err := count("")
	if err != nil {
		t.Fatal(err)
	}
	continued, err := count(r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if continued <= alone+20 {
		t.Errorf("input_tokens: %d with the previous response, %d without; want the earlier turn counted", continued, alone)
	}
	var apiErr *openai.Error
	if _, err := count("resp_nope"); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Param != "previous_response_id" {
		t.Errorf("unknown previous_response_id: got %v, want 404 naming it", err)
	}
}
