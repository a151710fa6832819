package bedrock_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai"
)

// Requests for the translation benchmarks: the load generator's request,
// and a tool-using conversation with a system prompt and an extra_body field.
const (
	benchSmall = `{"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","messages":[{"role":"user","content":"Hello from the benchmark. Say something short."}],"max_tokens":64}`

	benchConversation = `{"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","temperature":0.2,"max_tokens":1024,"top_k":40,
"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city",
"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
"messages":[
{"role":"system","content":"You are a helpful assistant. Answer briefly."},
{"role":"user","content":"What's the weather in Paris and in Berlin today?"},
{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Berlin\"}"}}]},
{"role":"tool","tool_call_id":"call_1","content":"{\"temp_c\":18}"},
{"role":"tool","tool_call_id":"call_2","content":"{\"temp_c\":12}"},
{"role":"assistant","content":"Paris: 18°C. Berlin: 12°C."},
{"role":"user","content":[{"type":"text","text":"Thanks! Anything else?"}]}]}`
)

func benchModel(tb testing.TB) bedrock.Model {
	tb.Helper()
	m, ok := bedrock.NewStaticCatalogue("us.anthropic.claude-haiku-4-5-20251001-v1:0").Lookup("us.anthropic.claude-haiku-4-5-20251001-v1:0")
	if !ok {
		tb.Fatal("the static catalogue does not resolve its own model")
	}
	return m
}

// BenchmarkTranslate measures OpenAI -> Converse translation of a decoded
// request (decoding is BenchmarkDecodeChatRequest in app/openai).
func BenchmarkTranslate(b *testing.B) {
	tr := &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{})}
	m := benchModel(b)
	ctx := context.Background()
	for _, body := range []struct{ name, json string }{{"small", benchSmall}, {"conversation", benchConversation}} {
		var req openai.ChatCompletionRequest
		if err := json.Unmarshal([]byte(body.json), &req); err != nil {
			b.Fatal(err)
		}
		b.Run(body.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := req // Translate does not change the request; a copy keeps that so
				if _, err := tr.Translate(ctx, &r, m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamEvent measures turning one ConverseStream text delta into
// a chat completion chunk (the SSE encoding is BenchmarkSSEChunk in
// app/server).
func BenchmarkStreamEvent(b *testing.B) {
	tr := &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{})}
	var req openai.ChatCompletionRequest
	if err := json.Unmarshal([]byte(benchSmall), &req); err != nil {
		b.Fatal(err)
	}
	call, err := tr.Translate(context.Background(), &req, benchModel(b))
	if err != nil {
		b.Fatal(err)
	}
	conv := call.NewStream("chatcmpl-bench", "us.anthropic.claude-haiku-4-5-20251001-v1:0", 1700000000)
	ev := &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{
		ContentBlockIndex: aws.Int32(0), Delta: &types.ContentBlockDeltaMemberText{Value: "Emulated reply to: Hello"}}}
	b.ReportAllocs()
	for b.Loop() {
		if conv.Event(ev) == nil {
			b.Fatal("a text delta yielded no chunk")
		}
	}
}
