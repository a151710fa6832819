package bedrocktest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func TestConverseDefaultAnswer(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)

	out, err := converse(t, c, haiku, "What is the capital of France?")
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	if got, want := outputText(t, out), "Emulated reply to: What is the capital of France?"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if out.StopReason != types.StopReasonEndTurn {
		t.Errorf("stopReason = %q, want end_turn", out.StopReason)
	}
	u := out.Usage
	// prompt: 30 chars -> 30/4+1 = 8; answer: 49 chars -> 49/4+1 = 13.
	if got := [3]int32{aws.ToInt32(u.InputTokens), aws.ToInt32(u.OutputTokens), aws.ToInt32(u.TotalTokens)}; got != [3]int32{8, 13, 21} {
		t.Errorf("usage in/out/total = %v, want [8 13 21]", got)
	}
	if out.Metrics == nil || aws.ToInt64(out.Metrics.LatencyMs) < 1 {
		t.Errorf("metrics = %+v, want latencyMs >= 1", out.Metrics)
	}
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || id == "" {
		t.Errorf("request id missing from the response")
	}

	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Operation != "Converse" || reqs[0].ModelID != haiku {
		t.Fatalf("Requests() = %+v, want one Converse for %s", reqs, haiku)
	}
	if !strings.Contains(string(reqs[0].Body), "capital of France") || !strings.HasPrefix(reqs[0].Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		t.Errorf("recorded request lacks body or signed header: %s %v", reqs[0].Body, reqs[0].Header)
	}
}

func TestConverseDefaultAnswerIsCutAtMaxTokens(t *testing.T) {
	srv := NewServer(t)
	out, err := runtimeClient(t, srv).Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:         aws.String(haiku),
		Messages:        []types.Message{userText("Tell me a long story about dragons and knights.")},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(3)},
	})
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	if out.StopReason != types.StopReasonMaxTokens {
		t.Errorf("stopReason = %q, want max_tokens", out.StopReason)
	}
	if got := aws.ToInt32(out.Usage.OutputTokens); got > 3 {
		t.Errorf("outputTokens = %d, want <= 3", got)
	}
	if got := outputText(t, out); !strings.HasPrefix("Emulated reply to: Tell me", got) || len(got) > 11 {
		t.Errorf("text = %q, want a prefix of the echo of at most 11 bytes", got)
	}
}

func TestConverseModelIdentifiers(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	tests := []struct{ name, id string }{
		{"foundation model id", haiku},
		{"foundation model ARN", "arn:aws:bedrock:us-east-1::foundation-model/" + haiku},
		{"system profile id (escaped colon)", "us." + haiku},
		{"system profile ARN (escaped slash)", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + haiku},
		{"global profile", "global.anthropic.claude-sonnet-4-6"},
		{"application profile ARN", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := converse(t, c, tt.id, "hi"); err != nil {
				t.Fatalf("Converse(%s): %v", tt.id, err)
			}
			reqs := srv.Requests()
			if got := reqs[len(reqs)-1].ModelID; got != tt.id {
				t.Errorf("recorded model id %q, want %q", got, tt.id)
			}
		})
	}

	for _, id := range []string{"anthropic.claude-9", "apac." + haiku, "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/nope"} {
		_, err := converse(t, c, id, "hi")
		var ve *types.ValidationException
		if !errors.As(err, &ve) || ve.ErrorMessage() != "The provided model identifier is invalid." {
			t.Errorf("Converse(%s) error = %v, want ValidationException \"The provided model identifier is invalid.\"", id, err)
		}
	}
}

func TestConverseScript(t *testing.T) {
	srv := NewServer(t)
	var (
		mu   sync.Mutex
		seen []string
	)
	srv.Script(func(r Request) *Reply {
		mu.Lock()
		seen = append(seen, r.Operation+" "+r.ModelID)
		mu.Unlock()
		if !strings.Contains(string(r.Body), "weather") {
			return nil // fall back to the default answer
		}
		return &Reply{
			Reasoning: "The user wants weather.",
			Text:      []string{"Let me ", "check."},
			ToolCalls: []ToolCall{
				{ID: "tooluse_1", Name: "get_weather", Input: `{"city":"Paris"}`},
				{Name: "get_time", Input: `{"tz":"CET"}`},
			},
			Usage: &Usage{InputTokens: 10, OutputTokens: 20, CacheReadInputTokens: 3},
		}
	})
	c := runtimeClient(t, srv)
	out, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:    aws.String(haiku),
		Messages:   []types.Message{userText("What's the weather in Paris?")},
		ToolConfig: weatherTools(),
	})
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	content := out.Output.(*types.ConverseOutputMemberMessage).Value.Content
	if len(content) != 4 {
		t.Fatalf("got %d content blocks, want 4 (reasoning, text, 2 tool uses): %#v", len(content), content)
	}
	rc, ok := content[0].(*types.ContentBlockMemberReasoningContent)
	if !ok {
		t.Fatalf("block 0 is %T, want reasoning", content[0])
	}
	rt := rc.Value.(*types.ReasoningContentBlockMemberReasoningText).Value
	if aws.ToString(rt.Text) != "The user wants weather." || !strings.HasPrefix(aws.ToString(rt.Signature), "emulated-signature-") {
		t.Errorf("reasoning = %q / %q, want the scripted text and a default signature", aws.ToString(rt.Text), aws.ToString(rt.Signature))
	}
	if txt := content[1].(*types.ContentBlockMemberText).Value; txt != "Let me check." {
		t.Errorf("text = %q, want %q", txt, "Let me check.")
	}
	tu := content[2].(*types.ContentBlockMemberToolUse).Value
	var input map[string]string
	if err := tu.Input.UnmarshalSmithyDocument(&input); err != nil {
		t.Fatalf("decode tool input: %v", err)
	}
	if aws.ToString(tu.ToolUseId) != "tooluse_1" || aws.ToString(tu.Name) != "get_weather" || input["city"] != "Paris" {
		t.Errorf("tool use = %s %s %v, want tooluse_1 get_weather city=Paris", aws.ToString(tu.ToolUseId), aws.ToString(tu.Name), input)
	}
	if id := aws.ToString(content[3].(*types.ContentBlockMemberToolUse).Value.ToolUseId); !strings.HasPrefix(id, "tooluse_") || len(id) != len("tooluse_")+22 {
		t.Errorf("default tool use id = %q, want tooluse_ + 22 characters", id)
	}
	if out.StopReason != types.StopReasonToolUse {
		t.Errorf("stopReason = %q, want tool_use", out.StopReason)
	}
	if u := out.Usage; aws.ToInt32(u.TotalTokens) != 30 || aws.ToInt32(u.CacheReadInputTokens) != 3 {
		t.Errorf("usage total/cacheRead = %d/%d, want 30/3", aws.ToInt32(u.TotalTokens), aws.ToInt32(u.CacheReadInputTokens))
	}

	// A nil reply falls back to the default answer.
	out, err = converse(t, c, haiku, "hello")
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	if got := outputText(t, out); got != "Emulated reply to: hello" {
		t.Errorf("fallback text = %q, want the default echo", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "Converse "+haiku {
		t.Errorf("script saw %q, want two Converse calls", seen)
	}
}

func weatherTools() *types.ToolConfiguration {
	schema := document.NewLazyDocument(map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}})
	return &types.ToolConfiguration{Tools: []types.Tool{
		&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("get_weather"), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}},
		&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("get_time"), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}},
	}}
}

func TestConverseDirectives(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	tests := []struct {
		name     string
		prompt   string
		wantText string
		wantStop types.StopReason
		wantTool string
		wantErr  string // error code
		wantMsg  string
	}{
		{name: "text list", prompt: "Say it.\n@emulate {\"text\":[\"Hel\",\"lo\"],\"stop_reason\":\"stop_sequence\"}",
			wantText: "Hello", wantStop: types.StopReasonStopSequence},
		{name: "text string", prompt: `@emulate {"text":"Just this."}`, wantText: "Just this.", wantStop: types.StopReasonEndTurn},
		{name: "tool call with object input", prompt: `@emulate {"tool_calls":[{"name":"get_weather","input":{"city":"Oslo"}}]}`,
			wantStop: types.StopReasonToolUse, wantTool: "get_weather"},
		{name: "tool call with string input", prompt: `@emulate {"tool_calls":[{"id":"t1","name":"get_time","input":"{\"tz\":\"UTC\"}"}]}`,
			wantStop: types.StopReasonToolUse, wantTool: "get_time"},
		{name: "directive line is not echoed", prompt: "Hi there\n  @emulate {\"delay_ms\":1}", wantText: "Emulated reply to: Hi there", wantStop: types.StopReasonEndTurn},
		{name: "error", prompt: `@emulate {"error":{"type":"ThrottlingException","message":"slow down"}}`,
			wantErr: "ThrottlingException", wantMsg: "slow down"},
		{name: "error shorthand with message", prompt: "@emulate-error ModelTimeoutException took too long", wantErr: "ModelTimeoutException", wantMsg: "took too long"},
		{name: "error shorthand default message", prompt: "@emulate-error ServiceUnavailableException", wantErr: "ServiceUnavailableException", wantMsg: "Bedrock is unable to process your request."},
		{name: "unknown directive member", prompt: `@emulate {"txt":"typo"}`, wantErr: "ValidationException", wantMsg: `unknown field "txt"`},
		{name: "bad tool input", prompt: `@emulate {"tool_calls":[{"name":"x","input":"[1]"}]}`, wantErr: "InternalServerException", wantMsg: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.Converse(context.Background(), &bedrockruntime.ConverseInput{
				ModelId:    aws.String(haiku),
				Messages:   []types.Message{userText(tt.prompt)},
				ToolConfig: weatherTools(),
			})
			if tt.wantErr != "" {
				code, msg := apiErrorOf(t, err)
				if code != tt.wantErr || !strings.Contains(msg, tt.wantMsg) {
					t.Fatalf("error = %s %q, want %s containing %q", code, msg, tt.wantErr, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Converse: %v", err)
			}
			if tt.wantText != "" {
				if got := outputText(t, out); got != tt.wantText {
					t.Errorf("text = %q, want %q", got, tt.wantText)
				}
			}
			if out.StopReason != tt.wantStop {
				t.Errorf("stopReason = %q, want %q", out.StopReason, tt.wantStop)
			}
			if tt.wantTool != "" {
				var names []string
				for _, b := range out.Output.(*types.ConverseOutputMemberMessage).Value.Content {
					if tu, ok := b.(*types.ContentBlockMemberToolUse); ok {
						names = append(names, aws.ToString(tu.Value.Name))
					}
				}
				if len(names) != 1 || names[0] != tt.wantTool {
					t.Errorf("tool calls = %v, want [%s]", names, tt.wantTool)
				}
			}
		})
	}
}

// TestConverseErrorTypes checks that every scripted error decodes to the
// SDK's typed error, with Bedrock's status code.
func TestConverseErrorTypes(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	tests := []struct {
		typ    string
		status int
		as     func(error) bool
	}{
		{"AccessDeniedException", 403, func(err error) bool { var e *types.AccessDeniedException; return errors.As(err, &e) }},
		{"ValidationException", 400, func(err error) bool { var e *types.ValidationException; return errors.As(err, &e) }},
		{"ServiceQuotaExceededException", 400, func(err error) bool { var e *types.ServiceQuotaExceededException; return errors.As(err, &e) }},
		{"ResourceNotFoundException", 404, func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) }},
		{"ModelTimeoutException", 408, func(err error) bool { var e *types.ModelTimeoutException; return errors.As(err, &e) }},
		{"ModelErrorException", 424, func(err error) bool {
			var e *types.ModelErrorException
			return errors.As(err, &e) && aws.ToInt32(e.OriginalStatusCode) == 500 && strings.HasSuffix(aws.ToString(e.ResourceName), haiku)
		}},
		{"ThrottlingException", 429, func(err error) bool { var e *types.ThrottlingException; return errors.As(err, &e) }},
		{"ModelNotReadyException", 429, func(err error) bool { var e *types.ModelNotReadyException; return errors.As(err, &e) }},
		{"InternalServerException", 500, func(err error) bool { var e *types.InternalServerException; return errors.As(err, &e) }},
		{"ServiceUnavailableException", 503, func(err error) bool { var e *types.ServiceUnavailableException; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			srv.Script(func(Request) *Reply { return &Reply{Error: &Error{Type: tt.typ, Message: "scripted " + tt.typ}} })
			_, err := converse(t, c, haiku, "hi")
			if !tt.as(err) {
				t.Fatalf("error = %v (%T), want *types.%s", err, err, tt.typ)
			}
			if _, msg := apiErrorOf(t, err); msg != "scripted "+tt.typ {
				t.Errorf("message = %q, want %q", msg, "scripted "+tt.typ)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tt.status {
				t.Errorf("status = %v, want %d", err, tt.status)
			}
		})
	}
}

func TestConverseWireFormat(t *testing.T) {
	srv := NewServer(t)
	srv.Script(func(Request) *Reply { return &Reply{Error: &Error{Type: "ThrottlingException"}} })
	resp, body := postRaw(t, srv, "/model/"+strings.ReplaceAll(haiku, ":", "%3A")+"/converse", `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("status = %d, want 429", resp.StatusCode)
	}
	if got, want := resp.Header.Get("X-Amzn-ErrorType"), "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"; got != want {
		t.Errorf("X-Amzn-ErrorType = %q, want %q", got, want)
	}
	if want := `{"message":"Too many requests, please wait before trying again."}`; strings.TrimSpace(body) != want {
		t.Errorf("body = %s, want %s", body, want)
	}
	if resp.Header.Get("X-Amzn-Requestid") == "" {
		t.Errorf("X-Amzn-Requestid missing")
	}
}

func TestUnknownRoutes(t *testing.T) {
	srv := NewServer(t)
	for _, path := range []string{"/model/" + haiku + "/apply-guardrail", "/nope", "/model//converse"} {
		resp, body := postRaw(t, srv, path, `{}`)
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("X-Amzn-ErrorType"), "UnknownOperationException:") || !strings.Contains(body, `"message"`) {
			t.Errorf("POST %s = %d %q %s, want 404 UnknownOperationException", path, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
		}
	}
}

func TestConversePromptCache(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	in := &bedrockruntime.ConverseInput{
		ModelId: aws.String(haiku),
		System: []types.SystemContentBlock{
			&types.SystemContentBlockMemberText{Value: strings.Repeat("You are a careful assistant. ", 40)}, // 1160 chars
			&types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}},
		},
		Messages: []types.Message{userText("hi")},
	}
	first, err := c.Converse(context.Background(), in)
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	second, err := c.Converse(context.Background(), in)
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	if w, r := aws.ToInt32(first.Usage.CacheWriteInputTokens), aws.ToInt32(first.Usage.CacheReadInputTokens); w != 290 || r != 0 {
		t.Errorf("first call cache write/read = %d/%d, want 290/0", w, r)
	}
	if w, r := aws.ToInt32(second.Usage.CacheWriteInputTokens), aws.ToInt32(second.Usage.CacheReadInputTokens); w != 0 || r != 290 {
		t.Errorf("second call cache write/read = %d/%d, want 0/290", w, r)
	}
	if in := aws.ToInt32(second.Usage.InputTokens); in != 1 {
		t.Errorf("inputTokens = %d, want 1 (only the 2 uncached chars)", in)
	}
}

func TestConverseThinkingDefaultsToReasoning(t *testing.T) {
	srv := NewServer(t)
	out, err := runtimeClient(t, srv).Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId:                      aws.String("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Messages:                     []types.Message{userText("Why is the sky blue?")},
		InferenceConfig:              &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)},
		AdditionalModelRequestFields: document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}}),
	})
	if err != nil {
		t.Fatalf("Converse: %v", err)
	}
	content := out.Output.(*types.ConverseOutputMemberMessage).Value.Content
	rc, ok := content[0].(*types.ContentBlockMemberReasoningContent)
	if !ok {
		t.Fatalf("first block is %T, want reasoning", content[0])
	}
	rt := rc.Value.(*types.ReasoningContentBlockMemberReasoningText).Value
	if aws.ToString(rt.Text) != "Emulated reasoning about: Why is the sky blue?" || aws.ToString(rt.Signature) == "" {
		t.Errorf("reasoning = %q signature %q, want the default reasoning, signed", aws.ToString(rt.Text), aws.ToString(rt.Signature))
	}
}

func TestConverseCancelledDuringDelay(t *testing.T) {
	srv := NewServer(t)
	srv.Script(func(Request) *Reply { return &Reply{Delay: 10 * time.Second} })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := runtimeClient(t, srv).Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId: aws.String(haiku), Messages: []types.Message{userText("hi")},
	})
	if err == nil {
		t.Fatalf("Converse succeeded, want a deadline error")
	}
	eventually(t, "Cancellations() == 1", func() bool { return srv.Cancellations() == 1 })
}

func TestWithLatencyDelaysAnswers(t *testing.T) {
	srv := NewServer(t, WithLatency(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := controlClient(t, srv).ListFoundationModels(ctx, nil); err == nil {
		t.Fatalf("ListFoundationModels answered within 100ms despite a 10s latency")
	}
	eventually(t, "Cancellations() == 1", func() bool { return srv.Cancellations() == 1 })
}
