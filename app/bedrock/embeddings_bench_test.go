package bedrock_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai"
)

// vectorJSON is a vector of dims float32 components as a model prints it:
// the shortest form of each float32, as the emulator and Bedrock do.
func vectorJSON(dims int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := []byte{'['}
	for i := range dims {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(float32(r.Float64()*0.2-0.1)), 'g', -1, 32)
	}
	return append(b, ']')
}

// titanBody is a Titan Text Embeddings v2 answer as the emulator writes it,
// with the vector twice (embedding and embeddingsByType.float).
func titanBody(dims int) []byte {
	v := vectorJSON(dims, 1)
	b := []byte(`{"embedding":`)
	b = append(b, v...)
	b = append(b, `,"embeddingsByType":{"float":`...)
	b = append(b, v...)
	return append(b, `},"inputTextTokenCount":5}`...)
}

// cohereBody is a Cohere Embed v3 answer (embeddings_floats) for n texts.
func cohereBody(n, dims int) []byte {
	b := []byte(`{"id":"5c1c7b5a-3f8e-4b44-9b7e-1a2b3c4d5e6f","response_type":"embeddings_floats","texts":[`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, "t"+strconv.Itoa(i))
	}
	b = append(b, `],"embeddings":[`...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, vectorJSON(dims, uint64(i))...)
	}
	return append(b, `]}`...)
}

// BenchmarkEmbed measures one embeddings request from Bedrock's answer to
// the bytes of the OpenAI response (the SDK call is a stand-in returning a
// fixed body): Titan v2 with 1024 dimensions, and a Cohere v3 batch of 8
// texts, in both encoding formats. Its baseline is the way the gateway
// answered before, in the same run: Bedrock's numbers decoded to float32s
// with encoding/json and printed again by json.Marshal.
func BenchmarkEmbed(b *testing.B) {
	cases := []struct {
		name  string
		model string
		n     int
		body  []byte
	}{
		{"titan-v2-1024", "amazon.titan-embed-text-v2:0", 1, titanBody(1024)},
		{"cohere-v3-8x1024", "cohere.embed-english-v3", 8, cohereBody(8, 1024)},
	}
	for _, c := range cases {
		e := &bedrock.Embedder{Tokenizer: bedrock.NewTokenizer(), Client: invokeFunc(func(context.Context, *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error) {
			return &bedrockruntime.InvokeModelOutput{Body: c.body}, nil
		})}
		if err := e.Tokenizer.Load(); err != nil {
			b.Fatal(err)
		}
		for _, format := range []string{"float", "base64"} {
			b.Run(c.name+"-"+format+"/baseline-decode-and-print", func(b *testing.B) {
				b.SetBytes(int64(len(c.body)))
				b.ReportAllocs()
				for b.Loop() {
					var r struct {
						Embedding  []float32   `json:"embedding"`
						Embeddings [][]float32 `json:"embeddings"`
					}
					if err := json.Unmarshal(c.body, &r); err != nil {
						b.Fatal(err)
					}
					if r.Embedding != nil {
						r.Embeddings = [][]float32{r.Embedding}
					}
					out := &openai.EmbeddingResponse{Object: "list", Model: c.model}
					for i, v := range r.Embeddings {
						out.Data = append(out.Data, openai.Embedding{Object: "embedding", Index: i,
							Embedding: openai.EmbeddingVector{Floats: v, Base64: format == "base64"}})
					}
					if _, err := json.Marshal(out); err != nil {
						b.Fatal(err)
					}
				}
			})
			req := &openai.EmbeddingRequest{Input: texts(c.n), EncodingFormat: format}
			b.Run(c.name+"-"+format+"/gateway", func(b *testing.B) {
				b.SetBytes(int64(len(c.body)))
				b.ReportAllocs()
				for b.Loop() {
					out, err := e.Embed(context.Background(), model(c.model), req)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := out.AppendJSON(nil); err != nil { // as the server writes it
						b.Fatal(err)
					}
				}
			})
		}
	}
}
