package openai_test

import (
	"encoding/json"
	"testing"

	"github.com/openbedrock/gateway/app/openai"
)

// Request bodies for the decode benchmarks: the load generator's request,
// and a tool-using conversation of the size coding agents send.
const (
	benchSmallRequest = `{"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","messages":[{"role":"user","content":"Hello from the benchmark. Say something short."}],"max_tokens":64,"stream":false}`

	benchConversation = `{"model":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","temperature":0.2,"max_tokens":1024,"stream":true,
"stream_options":{"include_usage":true},"top_k":40,
"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city",
"parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"]}}},
{"type":"function","function":{"name":"search","description":"Web search","parameters":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}}],
"messages":[
{"role":"system","content":"You are a helpful assistant. Answer briefly and cite tools when you use them."},
{"role":"user","content":"What's the weather in Paris and in Berlin today? Also find a good bakery near the Louvre."},
{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Berlin\"}"}}]},
{"role":"tool","tool_call_id":"call_1","content":"{\"temp_c\":18,\"sky\":\"cloudy\"}"},
{"role":"tool","tool_call_id":"call_2","content":"{\"temp_c\":12,\"sky\":\"rain\"}"},
{"role":"assistant","content":"Paris: 18°C and cloudy. Berlin: 12°C with rain. Let me look for a bakery."},
{"role":"user","content":[{"type":"text","text":"Thanks! And the bakery?"},{"type":"text","text":"Somewhere open on Sunday, please."}]}]}`
)

// plainRequest has ChatCompletionRequest's fields without its
// UnmarshalJSON, so decoding it is what encoding/json alone costs; the
// difference is the second pass that collects unknown keys into Extra.
type plainRequest openai.ChatCompletionRequest

// BenchmarkDecodeChatRequest measures decoding a chat request body, against
// plain encoding/json into the same fields.
func BenchmarkDecodeChatRequest(b *testing.B) {
	for _, body := range []struct{ name, json string }{{"small", benchSmallRequest}, {"conversation", benchConversation}} {
		raw := []byte(body.json)
		b.Run(body.name+"/gateway", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var req openai.ChatCompletionRequest
				if err := json.Unmarshal(raw, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(body.name+"/baseline-encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var req plainRequest
				if err := json.Unmarshal(raw, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBenchRequestsDecode keeps the benchmark bodies valid and meaningful.
func TestBenchRequestsDecode(t *testing.T) {
	var req openai.ChatCompletionRequest
	if err := json.Unmarshal([]byte(benchConversation), &req); err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 7 || len(req.Tools) != 2 || string(req.Extra["top_k"]) != "40" {
		t.Errorf("got %d messages, %d tools, extra %v; want 7, 2 and top_k 40", len(req.Messages), len(req.Tools), req.Extra)
	}
	if err := json.Unmarshal([]byte(benchSmallRequest), &req); err != nil {
		t.Fatal(err)
	}
}
