package bedrock_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai"
)

// answering is an Embedder whose Bedrock answers every call with body.
func answering(body string) *bedrock.Embedder {
	return &bedrock.Embedder{Tokenizer: sharedTokenizer, Client: invokeFunc(func(context.Context, *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error) {
		return &bedrockruntime.InvokeModelOutput{Body: []byte(body)}, nil
	})}
}

var sharedTokenizer = bedrock.NewTokenizer()

// base64Floats decodes OpenAI's base64 form, keeping each float32's bits.
func base64Floats(tb testing.TB, v []byte) []float32 {
	tb.Helper()
	s, err := strconv.Unquote(string(v))
	if err != nil {
		tb.Fatalf("base64 vector %s: %v", v, err)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw)%4 != 0 {
		tb.Fatalf("base64 vector %s: %v (%d bytes)", v, err, len(raw))
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// TestEmbedNumbersPassThrough: every JSON number form reaches the float
// response as Bedrock wrote it, and the base64 one with its float32 value
// (negative zero keeps its sign), for each response shape.
func TestEmbedNumbersPassThrough(t *testing.T) {
	const vec = `[1e-5, -0.0,0,-1.5E+2,3,2.5e0,-0,0.333333343267]`
	want := []float32{1e-5, float32(math.Copysign(0, -1)), 0, -150, 3, 2.5, float32(math.Copysign(0, -1)), 0.333333343267}
	tests := []struct{ name, model, body string }{
		{"titan v2", "amazon.titan-embed-text-v2:0",
			`{"embedding":` + vec + `,"embeddingsByType":{"float":[9]},"inputTextTokenCount":3}`},
		{"titan v1", "amazon.titan-embed-text-v1", ` { "inputTextTokenCount" : 3 , "embedding" : ` + vec + ` } `},
		{"cohere v3 floats", "cohere.embed-english-v3",
			`{"id":"x","response_type":"embeddings_floats","texts":["t0","t\"]1"],"embeddings":[` + vec + `,[7]]}`},
		{"cohere v4 by type", "us.cohere.embed-v4:0",
			`{"id":"x","response_type":"embeddings_by_type","embeddings":{"int8":[[1],[2]],"float":[` + vec + `,[7]]},"texts":["t0","t1"]}`},
		{"nova", "amazon.nova-2-multimodal-embeddings-v1:0",
			`{"embeddings":[{"embeddingType":"IMAGE","embedding":[9]},{"embeddingType":"TEXT","embedding":` + vec + `}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 1
			if tt.model[0] == 'c' || tt.model[0] == 'u' {
				n = 2
			}
			e := answering(tt.body)
			out, err := e.Embed(context.Background(), model(tt.model), &openai.EmbeddingRequest{Input: texts(n)})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(out.Data[0].Embedding.JSON); got != vec {
				t.Errorf("float vector: got %s, want %s as Bedrock wrote it", got, vec)
			}
			if n == 2 && string(out.Data[1].Embedding.JSON) != "[7]" {
				t.Errorf("second vector: got %s, want [7]", out.Data[1].Embedding.JSON)
			}
			out, err = e.Embed(context.Background(), model(tt.model), &openai.EmbeddingRequest{Input: texts(n), EncodingFormat: "base64"})
			if err != nil {
				t.Fatal(err)
			}
			got := base64Floats(t, out.Data[0].Embedding.JSON)
			if !slices.Equal(got, want) {
				t.Errorf("base64 vector: got %v, want %v", got, want)
			}
			for i := range want {
				if math.Signbit(float64(got[i])) != math.Signbit(float64(want[i])) {
					t.Errorf("component %d: got %v, want %v (sign of zero)", i, got[i], want[i])
				}
			}
		})
	}
}

// TestEmbedMalformedAnswer: an answer whose vectors are not arrays of
// numbers, or that lacks them, is Bedrock's failure (KindUpstream: 502),
// never a panic or a client error.
func TestEmbedMalformedAnswer(t *testing.T) {
	titan, cohere := "amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"
	tests := []struct{ name, model, format, body string }{
		{"not JSON", titan, "", `<html>`},
		{"empty body", titan, "", ``},
		{"an array", titan, "", `[1,2]`},
		{"no embedding", titan, "", `{"inputTextTokenCount":1}`},
		{"string component", titan, "", `{"embedding":["1"]}`},
		{"null component", titan, "", `{"embedding":[1,null]}`},
		{"nested array", titan, "", `{"embedding":[[1]]}`},
		{"object", titan, "", `{"embedding":{"0":1}}`},
		{"empty vector", titan, "", `{"embedding":[]}`},
		{"trailing comma", titan, "", `{"embedding":[1,]}`},
		{"leading zero", titan, "", `{"embedding":[01]}`},
		{"bare point", titan, "", `{"embedding":[1.]}`},
		{"bare exponent", titan, "", `{"embedding":[1e]}`},
		{"minus alone", titan, "", `{"embedding":[-]}`},
		{"plus sign", titan, "", `{"embedding":[+1]}`},
		{"NaN", titan, "", `{"embedding":[NaN]}`},
		{"unclosed", titan, "", `{"embedding":[1,2`},
		{"unclosed object", titan, "", `{"embedding":[1,2]`},
		{"data after", titan, "", `{"embedding":[1]} x`},
		{"token count a string", titan, "", `{"embedding":[1],"inputTextTokenCount":"5"}`},
		{"control byte in a string", titan, "", "{\"x\":\"a\x01\",\"embedding\":[1]}"},
		{"out of float32 range (base64)", titan, "base64", `{"embedding":[1e39],"inputTextTokenCount":1}`},
		{"cohere bad second vector", cohere, "", `{"embeddings":[[1],["x"]]}`},
		{"cohere too few vectors", cohere, "", `{"embeddings":[[1]]}`},
		{"cohere no float type", cohere, "", `{"embeddings":{"int8":[[1],[2]]}}`},
		{"cohere no embeddings", cohere, "", `{"id":"x"}`},
		{"cohere embeddings null", cohere, "", `{"embeddings":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 1
			if tt.model == cohere {
				n = 2
			}
			_, err := answering(tt.body).Embed(context.Background(), model(tt.model), &openai.EmbeddingRequest{Input: texts(n), EncodingFormat: tt.format})
			var be *bedrock.Error
			if !errors.As(err, &be) || be.Kind != bedrock.KindUpstream {
				t.Fatalf("got %v, want a KindUpstream *bedrock.Error", err)
			}
		})
	}
}

// TestEmbeddingResponseAppendJSON: the response writer writes what
// encoding/json writes for the same response.
func TestEmbeddingResponseAppendJSON(t *testing.T) {
	out, err := answering(`{"embeddings":[[0.5,-1e-3],[2]]}`).Embed(context.Background(), model("cohere.embed-english-v3"),
		&openai.EmbeddingRequest{Input: texts(2)})
	if err != nil {
		t.Fatal(err)
	}
	out.Model = "my <model> \"ü\"\u2028"
	got, err := out.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("AppendJSON:\n got %s\nwant %s", got, want)
	}
}
