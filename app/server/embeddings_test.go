package server_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	openaigo "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai/openaitest"
	"github.com/openbedrock/gateway/app/server"
)

// embed calls POST /embeddings with openai-go and validates the raw answer
// against the OpenAI schema (float form only: the spec does not type the
// base64 form).
func (g *catalogueGateway) embed(tb testing.TB, params openaigo.EmbeddingNewParams, opts ...option.RequestOption) *openaigo.CreateEmbeddingResponse {
	tb.Helper()
	resp, err := g.client.Embeddings.New(context.Background(), params, opts...)
	if err != nil {
		tb.Fatalf("embeddings (%s): %v", params.Model, err)
	}
	if params.EncodingFormat != openaigo.EmbeddingNewParamsEncodingFormatBase64 {
		openaitest.Validate(tb, openaitest.EmbeddingResponse, []byte(resp.RawJSON()))
	}
	return resp
}

// postEmbeddings sends a raw body and returns the status and body.
func (g *catalogueGateway) postEmbeddings(tb testing.TB, body string) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, g.url+"/api/v1/embeddings", strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+catKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func strs(s ...string) openaigo.EmbeddingNewParamsInputUnion {
	return openaigo.EmbeddingNewParamsInputUnion{OfArrayOfStrings: s}
}

// vectors returns the float vectors of a response, decoding base64 ones.
func vectors(tb testing.TB, resp *openaigo.CreateEmbeddingResponse) [][]float32 {
	tb.Helper()
	var raw struct {
		Data []struct {
			Embedding json.RawMessage `json:"embedding"`
			Index     int             `json:"index"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(resp.RawJSON()), &raw); err != nil {
		tb.Fatal(err)
	}
	out := make([][]float32, len(raw.Data))
	for i, d := range raw.Data {
		if d.Index != i {
			tb.Fatalf("data[%d] has index %d", i, d.Index)
		}
		var s string
		if json.Unmarshal(d.Embedding, &s) == nil {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil || len(b)%4 != 0 {
				tb.Fatalf("data[%d]: bad base64 %q: %v", i, s, err)
			}
			for j := 0; j < len(b); j += 4 {
				out[i] = append(out[i], math.Float32frombits(binary.LittleEndian.Uint32(b[j:])))
			}
			continue
		}
		if err := json.Unmarshal(d.Embedding, &out[i]); err != nil {
			tb.Fatalf("data[%d]: %v", i, err)
		}
	}
	return out
}

var embeddingModels = []struct {
	id   string
	dims int
}{
	{"amazon.titan-embed-text-v1", 1536},
	{"amazon.titan-embed-text-v2:0", 1024},
	{"cohere.embed-english-v3", 1024},
	{"cohere.embed-multilingual-v3", 1024},
	{"cohere.embed-v4:0", 1536},
	{"us.cohere.embed-v4:0", 1536},
	{"amazon.nova-2-multimodal-embeddings-v1:0", 3072},
}

func TestEmbeddingsEveryModel(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	for _, m := range embeddingModels {
		t.Run(m.id, func(t *testing.T) {
			resp := g.embed(t, openaigo.EmbeddingNewParams{Model: m.id, Input: strs("hello world", "the second input")})
			if resp.Model != m.id || resp.Object != "list" || len(resp.Data) != 2 {
				t.Fatalf("got model %s object %s %d vectors", resp.Model, resp.Object, len(resp.Data))
			}
			for i, v := range vectors(t, resp) {
				if len(v) != m.dims {
					t.Errorf("data[%d]: %d dimensions, want %d", i, len(v), m.dims)
				}
			}
			// The emulator reports len/4+1 tokens per text: 3 + 5.
			if resp.Usage.PromptTokens != 8 || resp.Usage.TotalTokens != 8 {
				t.Errorf("usage: got %+v, want 8 tokens as Bedrock reported", resp.Usage)
			}
			if got := g.lastModelID(t); got != m.id {
				t.Errorf("Bedrock model id: got %s, want %s", got, m.id)
			}
		})
	}
}

func TestEmbeddingsBase64RoundTrip(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	for _, m := range embeddingModels {
		t.Run(m.id, func(t *testing.T) {
			params := openaigo.EmbeddingNewParams{Model: m.id, Input: strs("alpha", "beta")}
			floats := vectors(t, g.embed(t, params))
			params.EncodingFormat = openaigo.EmbeddingNewParamsEncodingFormatBase64
			b64 := g.embed(t, params)
			if !strings.Contains(b64.RawJSON(), `"embedding":"`) {
				t.Fatalf("base64 answer holds no base64 string: %.200s", b64.RawJSON())
			}
			got := vectors(t, b64)
			for i := range floats {
				if !slices.Equal(got[i], floats[i]) {
					t.Errorf("data[%d]: base64 decodes to different floats", i)
				}
			}
		})
	}
}

func TestEmbeddingsInputForms(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	const model = "cohere.embed-english-v3"
	// cl100k_base: "hello world" = 15339 1917; "The quick brown fox" = 791 4062 14198 39935.
	hello := vectors(t, g.embed(t, openaigo.EmbeddingNewParams{Model: model, Input: strs("hello world")}))[0]
	fox := vectors(t, g.embed(t, openaigo.EmbeddingNewParams{Model: model, Input: strs("The quick brown fox")}))[0]
	tests := []struct {
		name  string
		input openaigo.EmbeddingNewParamsInputUnion
		want  [][]float32
	}{
		{"string", openaigo.EmbeddingNewParamsInputUnion{OfString: openaigo.String("hello world")}, [][]float32{hello}},
		{"array of strings", strs("hello world", "The quick brown fox"), [][]float32{hello, fox}},
		{"token array", openaigo.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{15339, 1917}}, [][]float32{hello}},
		{"array of token arrays", openaigo.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: [][]int64{{15339, 1917}, {791, 4062, 14198, 39935}}},
			[][]float32{hello, fox}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := vectors(t, g.embed(t, openaigo.EmbeddingNewParams{Model: model, Input: tt.input}))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d vectors, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !slices.Equal(got[i], tt.want[i]) {
					t.Errorf("data[%d] differs from the embedding of the same text", i)
				}
			}
		})
	}
}

func TestEmbeddingsBatchOrder(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	const model = "cohere.embed-multilingual-v3"
	inputs := make([]string, 200)
	for i := range inputs {
		inputs[i] = "document number " + strconv.Itoa(i)
	}
	before := countOps(g, "InvokeModel")
	all := vectors(t, g.embed(t, openaigo.EmbeddingNewParams{Model: model, Input: strs(inputs...)}))
	if calls := countOps(g, "InvokeModel") - before; calls != 3 {
		t.Errorf("InvokeModel calls for 200 inputs: got %d, want 3 (96 + 96 + 8)", calls)
	}
	if len(all) != 200 {
		t.Fatalf("got %d vectors, want 200", len(all))
	}
	for _, i := range []int{0, 95, 96, 150, 191, 192, 199} {
		one := vectors(t, g.embed(t, openaigo.EmbeddingNewParams{Model: model, Input: strs(inputs[i])}))[0]
		if !slices.Equal(all[i], one) {
			t.Errorf("data[%d] is not the embedding of input[%d]", i, i)
		}
	}

	// Titan takes one text per call: fanned out, still in order.
	before = countOps(g, "InvokeModel")
	titan := vectors(t, g.embed(t, openaigo.EmbeddingNewParams{Model: "amazon.titan-embed-text-v2:0", Input: strs(inputs[:20]...)}))
	if calls := countOps(g, "InvokeModel") - before; calls != 20 {
		t.Errorf("Titan InvokeModel calls: got %d, want 20", calls)
	}
	one := vectors(t, g.embed(t, openaigo.EmbeddingNewParams{Model: "amazon.titan-embed-text-v2:0", Input: strs(inputs[13])}))[0]
	if !slices.Equal(titan[13], one) {
		t.Error("Titan data[13] is not the embedding of input[13]")
	}
}

func countOps(g *catalogueGateway, op string) int {
	n := 0
	for _, r := range g.emu.Requests() {
		if r.Operation == op {
			n++
		}
	}
	return n
}

func TestEmbeddingsParameters(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	tests := []struct {
		model    string
		dims     int64
		extra    []option.RequestOption
		wantBody string // a fragment of the InvokeModel body
	}{
		{"amazon.titan-embed-text-v2:0", 256, nil, `"dimensions":256`},
		{"cohere.embed-v4:0", 512, []option.RequestOption{option.WithJSONSet("input_type", "search_query")}, `"output_dimension":512`},
		{"amazon.nova-2-multimodal-embeddings-v1:0", 1024, []option.RequestOption{option.WithJSONSet("input_type", "search_query")}, `"embeddingPurpose":"GENERIC_RETRIEVAL"`},
		{"cohere.embed-english-v3", 1024, []option.RequestOption{option.WithJSONSet("input_type", "clustering")}, `"input_type":"clustering"`},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			resp := g.embed(t, openaigo.EmbeddingNewParams{Model: tt.model, Input: strs("x y z"), Dimensions: openaigo.Int(tt.dims)}, tt.extra...)
			if v := vectors(t, resp)[0]; len(v) != int(tt.dims) {
				t.Errorf("got %d dimensions, want %d", len(v), tt.dims)
			}
			reqs := g.emu.Requests()
			if body := string(reqs[len(reqs)-1].Body); !strings.Contains(body, tt.wantBody) {
				t.Errorf("InvokeModel body %s lacks %s", body, tt.wantBody)
			}
		})
	}
}

func TestEmbeddingsDefaultModelAndAliases(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{server: func(o *server.Options) { o.AliasGPTModels = true }})
	status, body := g.postEmbeddings(t, `{"input":"hello"}`)
	if status != http.StatusOK || !strings.Contains(string(body), `"model":"cohere.embed-multilingual-v3"`) {
		t.Errorf("no model: got %d %s, want DEFAULT_EMBEDDING_MODEL", status, body)
	}
	resp := g.embed(t, openaigo.EmbeddingNewParams{Model: openaigo.EmbeddingModelTextEmbedding3Small, Input: strs("hello")})
	if resp.Model != "text-embedding-3-small" {
		t.Errorf("response model: got %s, want the name sent", resp.Model)
	}
	if got := g.lastModelID(t); got != "cohere.embed-multilingual-v3" {
		t.Errorf("Bedrock model id: got %s, want DEFAULT_EMBEDDING_MODEL", got)
	}
}

func TestEmbeddingsErrors(t *testing.T) {
	g := newCatalogueGateway(t, catalogueGatewayOptions{})
	many := `"` + strings.Repeat(`a","`, 2048) + `a"`
	long := strings.Repeat("word ", 410) // 2050 characters
	tokensOver := strings.Repeat("abcd", 9000)
	tests := []struct {
		name         string
		body         string
		status       int
		param, code  string
		msgFragments []string
	}{
		{"missing input", `{"model":"cohere.embed-english-v3"}`, 400, "input", "", []string{"input is required"}},
		{"empty input", `{"model":"cohere.embed-english-v3","input":[]}`, 400, "input", "", []string{"must not be empty"}},
		{"empty string", `{"model":"cohere.embed-english-v3","input":["a",""]}`, 400, "input", "", []string{"input[1] is empty"}},
		{"input of the wrong type", `{"model":"cohere.embed-english-v3","input":{"text":"a"}}`, 400, "input", "invalid_type", nil},
		{"too many inputs", `{"model":"cohere.embed-english-v3","input":[` + many + `]}`, 400, "input", "", []string{"2049 items", "2048"}},
		{"text over the model limit", `{"model":"cohere.embed-english-v3","input":["a","b","c","` + long + `"]}`, 400, "input", "input_too_long", []string{"input[3]", "2048"}},
		{"unknown model", `{"model":"cohere.embed-english-v9","input":"a"}`, 404, "model", "model_not_found", []string{"cohere.embed-english-v9", "cohere.embed-english-v3"}},
		{"chat model", `{"model":"amazon.nova-micro-v1:0","input":"a"}`, 400, "model", "model_not_supported", []string{"not an embedding model"}},
		{"bad encoding_format", `{"model":"cohere.embed-english-v3","input":"a","encoding_format":"int8"}`, 400, "encoding_format", "", nil},
		{"bad dimensions", `{"model":"amazon.titan-embed-text-v2:0","input":"a","dimensions":100}`, 400, "dimensions", "", []string{"256"}},
		{"bad input_type", `{"model":"cohere.embed-english-v3","input":"a","input_type":"query"}`, 400, "input_type", "", nil},
		{"unknown token", `{"model":"cohere.embed-english-v3","input":[[15339, 5000000]]}`, 400, "input", "", []string{"input[0]", "5000000"}},
		{"Bedrock rejects one input", `{"model":"amazon.titan-embed-text-v2:0","input":["fine","` + tokensOver + `"]}`, 400, "input", "validation_error",
			[]string{"input[1]", "Too many input tokens"}},
		{"Bedrock throttles", `{"model":"cohere.embed-english-v3","input":["a","@emulate-error ThrottlingException"]}`, 429, "input", "rate_limit_exceeded",
			[]string{"input[0..1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := g.postEmbeddings(t, tt.body)
			if status != tt.status {
				t.Fatalf("status: got %d, want %d: %.300s", status, tt.status, body)
			}
			openaitest.Validate(t, openaitest.ErrorResponse, body)
			var env struct {
				Error struct {
					Message string  `json:"message"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if env.Error.Param == nil || *env.Error.Param != tt.param {
				t.Errorf("param: got %v, want %s (%s)", env.Error.Param, tt.param, env.Error.Message)
			}
			if tt.code != "" && (env.Error.Code == nil || *env.Error.Code != tt.code) {
				t.Errorf("code: got %v, want %s", env.Error.Code, tt.code)
			}
			for _, f := range tt.msgFragments {
				if !strings.Contains(env.Error.Message, f) {
					t.Errorf("message %q lacks %q", env.Error.Message, f)
				}
			}
		})
	}
}

// TestEmbeddingsMalformedBedrockAnswer: vectors Bedrock sends that are not
// arrays of numbers are a 502 in the OpenAI envelope, for either format.
func TestEmbeddingsMalformedBedrockAnswer(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"x","response_type":"embeddings_floats","texts":["a"],"embeddings":[[0.5,"0.25"]]}`))
	}))
	t.Cleanup(upstream.Close)
	rt := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(upstream.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RetryMaxAttempts: 1})
	g := newCatalogueGateway(t, catalogueGatewayOptions{server: func(o *server.Options) {
		o.Embedder = &bedrock.Embedder{Client: rt, Tokenizer: sharedTokenizer}
	}})
	for _, format := range []string{"float", "base64"} {
		status, body := g.postEmbeddings(t, `{"model":"cohere.embed-multilingual-v3","input":"a","encoding_format":"`+format+`"}`)
		if status != http.StatusBadGateway {
			t.Fatalf("%s: status: got %d, want 502: %s", format, status, body)
		}
		openaitest.Validate(t, openaitest.ErrorResponse, body)
		if strings.Contains(string(body), "0.25") {
			t.Errorf("%s: the error shows Bedrock's answer: %s", format, body)
		}
	}
}
