package bedrock

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// describe renders a Converse input compactly so tests can compare it.
func describe(t *testing.T, c *Call) string {
	t.Helper()
	var sb strings.Builder
	in := c.Input
	for _, b := range in.System {
		switch v := b.(type) {
		case *types.SystemContentBlockMemberText:
			fmt.Fprintf(&sb, "system:%q ", v.Value)
		case *types.SystemContentBlockMemberCachePoint:
			sb.WriteString("system:cache ")
		}
	}
	for _, m := range in.Messages {
		fmt.Fprintf(&sb, " | %s:", m.Role)
		for _, b := range m.Content {
			sb.WriteString(" " + block(b))
		}
	}
	return strings.ReplaceAll(strings.TrimSpace(sb.String()), "  |", " |")
}

func block(b types.ContentBlock) string {
	switch v := b.(type) {
	case *types.ContentBlockMemberText:
		return fmt.Sprintf("text(%s)", v.Value)
	case *types.ContentBlockMemberToolUse:
		in, _ := v.Value.Input.MarshalSmithyDocument()
		return fmt.Sprintf("use(%s,%s,%s)", aws.ToString(v.Value.ToolUseId), aws.ToString(v.Value.Name), in)
	case *types.ContentBlockMemberToolResult:
		return fmt.Sprintf("result(%s)", aws.ToString(v.Value.ToolUseId))
	case *types.ContentBlockMemberReasoningContent:
		if r, ok := v.Value.(*types.ReasoningContentBlockMemberReasoningText); ok {
			return fmt.Sprintf("reasoning(%s,%s)", aws.ToString(r.Value.Text), aws.ToString(r.Value.Signature))
		}
		return "reasoning(redacted)"
	case *types.ContentBlockMemberImage:
		return fmt.Sprintf("image(%s)", v.Value.Format)
	case *types.ContentBlockMemberDocument:
		return fmt.Sprintf("document(%s,%s)", v.Value.Format, aws.ToString(v.Value.Name))
	case *types.ContentBlockMemberCachePoint:
		return "cache"
	}
	return fmt.Sprintf("%T", b)
}

func decodeReq(t *testing.T, body string) *openai.ChatCompletionRequest {
	t.Helper()
	var req openai.ChatCompletionRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("decode request: %v", err)
	}
	return &req
}

func translate(t *testing.T, tr *Translator, model, body string) (*Call, error) {
	t.Helper()
	return tr.Translate(context.Background(), decodeReq(t, body), Model{ID: model})
}

const (
	claude   = "us.anthropic.claude-sonnet-4-5-20250929-v1:0" // budget thinking
	claude45 = claude
	opus41   = "us.anthropic.claude-opus-4-1-20250805-v1:0" // budget thinking, no structured output
	llama    = "meta.llama3-1-8b-instruct-v1:0"
)

var weatherTool = `"tools":[{"type":"function","function":{"name":"get_weather","description":"","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`

func TestTranslateMessages(t *testing.T) {
	tests := []struct {
		name, model, body, want string
	}{
		{"string content", claude, `{"messages":[{"role":"user","content":"hi"}]}`, `| user: text(hi)`},
		{"system and developer become system blocks; empty dropped", claude,
			`{"messages":[{"role":"system","content":"a"},{"role":"developer","content":[{"type":"text","text":"b"}]},{"role":"system","content":" "},{"role":"user","content":"hi"}]}`,
			`system:"a" system:"b" | user: text(hi)`},
		{"same-role runs merged", claude,
			`{"messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]},{"role":"assistant","content":"c"},{"role":"assistant","content":"d"}]}`,
			`| user: text(a) text(b) | assistant: text(c) text(d)`},
		{"empty assistant text dropped, turns re-merged", claude,
			`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":""},{"role":"user","content":"b"}]}`,
			`| user: text(a) text(b)`},
		{"history starting with assistant gets a user turn", claude,
			`{"messages":[{"role":"assistant","content":"hello"},{"role":"user","content":"hi"}]}`,
			`| user: text([conversation start]) | assistant: text(hello) | user: text(hi)`},
		{"text before a tool call is kept; parallel results in one turn, results first", claude,
			`{` + weatherTool + `,"messages":[{"role":"user","content":"weather?"},
			{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"b","type":"function","function":{"name":"get_weather","arguments":""}}]},
			{"role":"tool","tool_call_id":"a","content":"sunny"},{"role":"user","content":"and?"},{"role":"tool","tool_call_id":"b","content":[{"type":"text","text":"rain"}]}]}`,
			`| user: text(weather?) | assistant: text(Let me check.) use(a,get_weather,{"city":"Paris"}) use(b,get_weather,{}) | user: result(a) result(b) text(and?)`},
		{"orphan tool call and orphan result become text", claude,
			`{` + weatherTool + `,"messages":[{"role":"user","content":"q"},
			{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
			{"role":"user","content":"never mind"},{"role":"tool","tool_call_id":"zzz","content":"late"}]}`,
			`| user: text(q) | assistant: text([called tool get_weather (id x) with {}]) | user: text(never mind) text([result of tool call zzz]` + "\n" + `late)`},
		{"tool history without tools becomes text", claude,
			`{"messages":[{"role":"user","content":"q"},
			{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"{}"}}]},
			{"role":"tool","tool_call_id":"x","content":"r"},{"role":"user","content":"summarise"}]}`,
			`| user: text(q) | assistant: text([called tool f (id x) with {}]) | user: text([result of tool call x]` + "\n" + `r) text(summarise)`},
		{"tool_choice none keeps history as text", claude,
			`{` + weatherTool + `,"tool_choice":"none","messages":[{"role":"user","content":"q"},
			{"role":"assistant","tool_calls":[{"id":"x","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
			{"role":"tool","tool_call_id":"x","content":"r"}]}`,
			`| user: text(q) | assistant: text([called tool get_weather (id x) with {}]) | user: text([result of tool call x]` + "\n" + `r)`},
		{"reasoning blocks dropped when thinking is off", claude,
			`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","thinking_blocks":[{"type":"thinking","thinking":"hmm","signature":"sig"}]},{"role":"user","content":"more"}]}`,
			`| user: text(q) | assistant: text(a) | user: text(more)`},
		{"reasoning echoed back first when thinking is on", claude,
			`{"reasoning_effort":"low",` + weatherTool + `,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","thinking_blocks":[{"type":"thinking","thinking":"hmm","signature":"sig"}],"tool_calls":[{"id":"x","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"x","content":"r"}]}`,
			`| user: text(q) | assistant: reasoning(hmm,sig) text(a) use(x,get_weather,{}) | user: result(x)`},
	}
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call, err := translate(t, tr, tt.model, tt.body)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			if got := describe(t, call); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestTranslateParameters(t *testing.T) {
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	t.Run("unset max tokens are omitted", func(t *testing.T) {
		call, err := translate(t, tr, claude, `{`+msgs+`}`)
		if err != nil {
			t.Fatal(err)
		}
		if call.Input.InferenceConfig != nil {
			t.Errorf("got inferenceConfig %+v, want none", call.Input.InferenceConfig)
		}
	})
	t.Run("max_completion_tokens wins, stop string becomes a list, temperature capped at 1", func(t *testing.T) {
		call, err := translate(t, tr, llama, `{`+msgs+`,"max_tokens":5,"max_completion_tokens":7,"stop":"END","temperature":1.5,"top_p":0.5}`)
		if err != nil {
			t.Fatal(err)
		}
		ic := call.Input.InferenceConfig
		if aws.ToInt32(ic.MaxTokens) != 7 || strings.Join(ic.StopSequences, ",") != "END" || aws.ToFloat32(ic.Temperature) != 1 || aws.ToFloat32(ic.TopP) != 0.5 {
			t.Errorf("got %+v", ic)
		}
	})
	t.Run("temperature and top_p on a model that refuses both keeps temperature", func(t *testing.T) {
		call, err := translate(t, tr, claude45, `{`+msgs+`,"temperature":0.3,"top_p":0.5}`)
		if err != nil {
			t.Fatal(err)
		}
		if ic := call.Input.InferenceConfig; ic.TopP != nil || aws.ToFloat32(ic.Temperature) != 0.3 {
			t.Errorf("got topP %v temperature %v, want only temperature", ic.TopP, aws.ToFloat32(ic.Temperature))
		}
	})
	t.Run("reasoning_effort sets a thinking budget and drops sampling", func(t *testing.T) {
		call, err := translate(t, tr, claude, `{`+msgs+`,"reasoning_effort":"medium","max_tokens":10000,"temperature":0.2,"top_p":0.9}`)
		if err != nil {
			t.Fatal(err)
		}
		got := extraJSON(t, call)
		if got != `{"thinking":{"budget_tokens":5000,"type":"enabled"}}` {
			t.Errorf("additional fields %s", got)
		}
		if ic := call.Input.InferenceConfig; ic.Temperature != nil || ic.TopP != nil || aws.ToInt32(ic.MaxTokens) != 10000 {
			t.Errorf("inference config %+v", ic)
		}
	})
	t.Run("reasoning_effort on a model without reasoning is ignored", func(t *testing.T) {
		call, err := translate(t, tr, llama, `{`+msgs+`,"reasoning_effort":"high"}`)
		if err != nil {
			t.Fatal(err)
		}
		if call.Input.AdditionalModelRequestFields != nil {
			t.Errorf("got additional fields %s", extraJSON(t, call))
		}
	})
	t.Run("top-level extra_body keys and the literal extra_body reach Bedrock", func(t *testing.T) {
		call, err := translate(t, tr, claude, `{`+msgs+`,"top_k":40,"seed":3,"anthropic_beta":["x"],"extra_body":{"thinking":{"type":"enabled","budget_tokens":2048}}}`)
		if err != nil {
			t.Fatal(err)
		}
		if got := extraJSON(t, call); got != `{"anthropic_beta":["x"],"thinking":{"budget_tokens":2048,"type":"enabled"},"top_k":40}` {
			t.Errorf("additional fields %s", got)
		}
		if aws.ToInt32(call.Input.InferenceConfig.MaxTokens) != 2048+4096 {
			t.Errorf("max tokens %d, want budget + 4096", aws.ToInt32(call.Input.InferenceConfig.MaxTokens))
		}
	})
	t.Run("prompt caching adds cache points for models that take them", func(t *testing.T) {
		ptr := &Translator{PromptCaching: true, Media: tr.Media}
		call, err := translate(t, ptr, claude, `{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"text","text":"b"}]}]}`)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := describe(t, call), `system:"s" system:cache | user: text(a) cache text(b) cache`; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
		call, err = translate(t, ptr, llama, `{"messages":[{"role":"system","content":"s"},{"role":"user","content":"a"}]}`)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := describe(t, call), `system:"s" | user: text(a)`; got != want {
			t.Errorf("llama got %s, want %s", got, want)
		}
	})
}

func extraJSON(t *testing.T, c *Call) string {
	t.Helper()
	if c.Input.AdditionalModelRequestFields == nil {
		return ""
	}
	b, err := c.Input.AdditionalModelRequestFields.MarshalSmithyDocument()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	b, _ = json.Marshal(v) // sorted keys
	return string(b)
}

func TestTranslateTools(t *testing.T) {
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, model, body string
		choice            string // want tool choice: "", auto, any, tool:<name>
		tools             string // want tool names
		jsonTool          string
	}{
		{"auto is Bedrock's default", claude, `{` + weatherTool + `,` + msgs + `,"tool_choice":"auto"}`, "", "get_weather", ""},
		{"required", claude, `{` + weatherTool + `,` + msgs + `,"tool_choice":"required"}`, "any", "get_weather", ""},
		{"named", claude, `{` + weatherTool + `,` + msgs + `,"tool_choice":{"type":"function","function":{"name":"get_weather"}}}`, "tool:get_weather", "get_weather", ""},
		{"forced choice dropped for models without it", llama, `{` + weatherTool + `,` + msgs + `,"tool_choice":"required"}`, "", "get_weather", ""},
		{"json_schema forces its tool without native structured output", opus41, `{` + msgs + `,"response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"x":{"type":"integer"}}}}}}`, "tool:answer", "answer", "answer"},
		{"json_schema with user tools requires any tool", claude, `{` + weatherTool + `,` + msgs + `,"response_format":{"type":"json_object"}}`, "any", "get_weather,json_response", "json_response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call, err := translate(t, tr, tt.model, tt.body)
			if err != nil {
				t.Fatal(err)
			}
			tc := call.Input.ToolConfig
			var names []string
			for _, tl := range tc.Tools {
				spec := tl.(*types.ToolMemberToolSpec).Value
				if spec.Description != nil && *spec.Description == "" {
					t.Errorf("tool %s has an empty description", aws.ToString(spec.Name))
				}
				names = append(names, aws.ToString(spec.Name))
			}
			choice := ""
			switch v := tc.ToolChoice.(type) {
			case *types.ToolChoiceMemberAuto:
				choice = "auto"
			case *types.ToolChoiceMemberAny:
				choice = "any"
			case *types.ToolChoiceMemberTool:
				choice = "tool:" + aws.ToString(v.Value.Name)
			}
			if choice != tt.choice || strings.Join(names, ",") != tt.tools || call.JSONTool != tt.jsonTool {
				t.Errorf("got choice %q tools %q json %q, want %q %q %q", choice, names, call.JSONTool, tt.choice, tt.tools, tt.jsonTool)
			}
		})
	}
}

func TestTranslateRejects(t *testing.T) {
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	tests := []struct {
		name, body, param string
	}{
		{"no messages", `{"messages":[]}`, "messages"},
		{"unknown role", `{"messages":[{"role":"robot","content":"x"}]}`, "messages[0].role"},
		{"unknown part", `{"messages":[{"role":"user","content":[{"type":"video","text":"x"}]}]}`, "messages[0].content[0].type"},
		{"audio", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, "messages[0].content[0].type"},
		{"bad tool arguments", `{` + weatherTool + `,"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"get_weather","arguments":"{oops"}}]}]}`, "messages[1].tool_calls[0].function.arguments"},
		{"tool message without id", `{"messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id"},
		{"tool choice names unknown function", `{` + weatherTool + `,"tool_choice":{"type":"function","function":{"name":"nope"}},"messages":[{"role":"user","content":"x"}]}`, "tool_choice"},
		{"bad tool type", `{"tools":[{"type":"code","function":{"name":"x"}}],"messages":[{"role":"user","content":"x"}]}`, "tools[0].type"},
		{"n with stream", `{"n":2,"stream":true,"messages":[{"role":"user","content":"x"}]}`, "n"},
		{"n too large", `{"n":99,"messages":[{"role":"user","content":"x"}]}`, "n"},
		{"temperature out of range", `{"temperature":3,"messages":[{"role":"user","content":"x"}]}`, "temperature"},
		{"max_tokens zero", `{"max_tokens":0,"messages":[{"role":"user","content":"x"}]}`, "max_tokens"},
		{"bad reasoning effort", `{"reasoning_effort":"extreme","messages":[{"role":"user","content":"x"}]}`, "reasoning_effort"},
		{"reasoning with tiny max_tokens", `{"reasoning_effort":"low","max_tokens":100,"messages":[{"role":"user","content":"x"}]}`, "max_tokens"},
		{"bad response format", `{"response_format":{"type":"xml"},"messages":[{"role":"user","content":"x"}]}`, "response_format.type"},
		{"bad image url", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x"}}]}]}`, "messages[0].content[0].image_url.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := translate(t, tr, claude, tt.body)
			re, ok := err.(*RequestError)
			if !ok {
				t.Fatalf("got %v, want a *RequestError", err)
			}
			if re.Param != tt.param {
				t.Errorf("param %q, want %q (message %q)", re.Param, tt.param, re.Message)
			}
		})
	}
}

// A 1x1 PNG.
var pngBytes, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

func TestMedia(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cat.png":
			w.Header().Set("Content-Type", "application/octet-stream") // sniffing decides
			_, _ = w.Write(pngBytes)
		case "/big":
			_, _ = w.Write(make([]byte, 2048))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	guarded := NewMediaFetcher(MediaOptions{AllowHTTP: true})
	open := NewMediaFetcher(MediaOptions{AllowHTTP: true, AllowPrivate: true, MaxBytes: 1024})

	img, err := guarded.Image(ctx, "data:image/jpg;base64,"+base64.StdEncoding.EncodeToString(pngBytes))
	if err != nil || img.Format != types.ImageFormatPng {
		t.Errorf("data URL: got %v %v, want png from the bytes", img.Format, err)
	}
	jpeg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 16)...)
	if img, err := guarded.Image(ctx, "data:image/jpg;base64,"+base64.StdEncoding.EncodeToString(jpeg)); err != nil || img.Format != types.ImageFormatJpeg {
		t.Errorf("jpg data URL: got %v %v, want jpeg", img.Format, err)
	}
	if _, err := guarded.Image(ctx, srv.URL+"/cat.png"); err == nil || !strings.Contains(err.Error(), "private") {
		t.Errorf("loopback fetch with the guard on: got %v, want a refusal", err)
	}
	if img, err := open.Image(ctx, srv.URL+"/cat.png"); err != nil || img.Format != types.ImageFormatPng {
		t.Errorf("fetch with the guard off: got %v %v", img.Format, err)
	}
	if _, err := open.Image(ctx, srv.URL+"/big"); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("oversized fetch: got %v, want a size error", err)
	}
	if _, err := open.Image(ctx, srv.URL+"/missing"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing image: got %v", err)
	}
	if _, err := NewMediaFetcher(MediaOptions{}).Image(ctx, srv.URL+"/cat.png"); err == nil {
		t.Error("fetching switched off: got no error")
	}
}

func TestFileParts(t *testing.T) {
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 hello"))
	call, err := translate(t, tr, claude, `{"messages":[{"role":"user","content":[{"type":"text","text":"read"},{"type":"file","file":{"filename":"q3 report!.pdf","file_data":"data:application/pdf;base64,`+pdf+`"}}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describe(t, call), `| user: text(read) document(pdf,q3 report 1)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestTranslateStructuredOutput(t *testing.T) {
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	schema := `{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"],"additionalProperties":false}`
	call, err := translate(t, tr, claude, `{`+msgs+`,"response_format":{"type":"json_schema","json_schema":{"name":"answer","description":"d","strict":true,"schema":`+schema+`}}}`)
	if err != nil {
		t.Fatal(err)
	}
	oc := call.Input.OutputConfig
	if oc == nil || oc.TextFormat == nil || oc.TextFormat.Type != types.OutputFormatTypeJsonSchema || call.Input.ToolConfig != nil || call.JSONTool != "" {
		t.Fatalf("got outputConfig %+v, toolConfig %+v, JSON tool %q; want native structured output and no tool", oc, call.Input.ToolConfig, call.JSONTool)
	}
	js := oc.TextFormat.Structure.(*types.OutputFormatStructureMemberJsonSchema).Value
	if aws.ToString(js.Name) != "answer" || aws.ToString(js.Description) != "d" || aws.ToString(js.Schema) != `{"additionalProperties":false,"properties":{"x":{"type":"integer"}},"required":["x"],"type":"object"}` {
		t.Errorf("json schema %s %s %s", aws.ToString(js.Name), aws.ToString(js.Description), aws.ToString(js.Schema))
	}
	if s := call.StreamInput(); s.OutputConfig != oc {
		t.Error("the stream input lost outputConfig")
	}
	// A non-object schema keeps the wrapped forced tool.
	call, err = translate(t, tr, claude, `{`+msgs+`,"response_format":{"type":"json_schema","json_schema":{"name":"list","schema":{"type":"array"}}}}`)
	if err != nil || call.Input.OutputConfig != nil || call.JSONTool != "list" || !call.JSONWrapped {
		t.Errorf("array schema: %v, outputConfig %+v, tool %q wrapped %v; want the forced tool", err, call.Input.OutputConfig, call.JSONTool, call.JSONWrapped)
	}
}

func TestTranslateStrictTools(t *testing.T) {
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	body := `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","strict":true,"parameters":{"type":"object","properties":{},"additionalProperties":false}}},{"type":"function","function":{"name":"g"}}]}`
	for model, want := range map[string][]bool{claude: {true, false}, llama: {false, false}} {
		call, err := translate(t, tr, model, body)
		if err != nil {
			t.Fatal(err)
		}
		for i, tl := range call.Input.ToolConfig.Tools {
			if got := aws.ToBool(tl.(*types.ToolMemberToolSpec).Value.Strict); got != want[i] {
				t.Errorf("%s tool %d: strict %v, want %v", model, i, got, want[i])
			}
		}
	}
}

func TestTranslateReasoningEffort(t *testing.T) {
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{})}
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, model, extra string
		wantFields         string // additionalModelRequestFields, sorted JSON
		wantEffort         string // outputConfig.effort
	}{
		{"Sonnet 4.6: adaptive with effort", "us.anthropic.claude-sonnet-4-6", `"reasoning_effort":"high"`, `{"thinking":{"type":"adaptive"}}`, "high"},
		{"Opus 4.7: minimal is low", "us.anthropic.claude-opus-4-7", `"reasoning_effort":"minimal"`, `{"thinking":{"type":"adaptive"}}`, "low"},
		{"Opus 4.8: xhigh", "global.anthropic.claude-opus-4-8", `"reasoning_effort":"xhigh"`, `{"thinking":{"type":"adaptive"}}`, "xhigh"},
		{"Haiku 4.5: a budget", "us.anthropic.claude-haiku-4-5-20251001-v1:0", `"reasoning_effort":"xhigh"`, `{"thinking":{"budget_tokens":32768,"type":"enabled"}}`, ""},
		{"Opus 4.5: a budget", "us.anthropic.claude-opus-4-5-20251101-v1:0", `"reasoning_effort":"low"`, `{"thinking":{"budget_tokens":2048,"type":"enabled"}}`, ""},
		{"explicit budget wins", "us.anthropic.claude-sonnet-4-6", `"reasoning_effort":"high","thinking":{"type":"enabled","budget_tokens":4000}`, `{"thinking":{"budget_tokens":4000,"type":"enabled"}}`, ""},
		{"explicit adaptive takes the effort", "us.anthropic.claude-sonnet-4-6", `"reasoning_effort":"low","thinking":{"type":"adaptive"}`, `{"thinking":{"type":"adaptive"}}`, "low"},
		{"none", "us.anthropic.claude-opus-4-7", `"reasoning_effort":"none"`, ``, ""},
		{"Nova 2: xhigh is high", "us.amazon.nova-2-lite-v1:0", `"reasoning_effort":"xhigh"`, `{"reasoningConfig":{"maxReasoningEffort":"high","type":"enabled"}}`, ""},
		{"gpt-oss", "openai.gpt-oss-120b-1:0", `"reasoning_effort":"minimal"`, `{"reasoning_effort":"low"}`, ""},
		{"DeepSeek", "deepseek.v3.2", `"reasoning_effort":"medium"`, `{"reasoning_config":"medium"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call, err := translate(t, tr, tt.model, `{`+msgs+`,`+tt.extra+`}`)
			if err != nil {
				t.Fatal(err)
			}
			if got := extraJSON(t, call); got != tt.wantFields {
				t.Errorf("additionalModelRequestFields %s, want %s", extraJSON(t, call), tt.wantFields)
			}
			effort := ""
			if oc := call.Input.OutputConfig; oc != nil {
				effort = aws.ToString(oc.Effort)
			}
			if effort != tt.wantEffort {
				t.Errorf("outputConfig.effort %q, want %q", effort, tt.wantEffort)
			}
		})
	}
	if _, err := translate(t, tr, claude, `{`+msgs+`,"reasoning_effort":"max"}`); err == nil || !strings.Contains(err.Error(), "xhigh") {
		t.Errorf("reasoning_effort max: got %v, want an error listing the values", err)
	}
}
