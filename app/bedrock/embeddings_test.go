package bedrock_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai"
)

// invokeFunc is a stand-in for the Bedrock Runtime client.
type invokeFunc func(ctx context.Context, in *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error)

func (f invokeFunc) InvokeModel(ctx context.Context, in *bedrockruntime.InvokeModelInput, _ ...func(*bedrockruntime.Options)) (*bedrockruntime.InvokeModelOutput, error) {
	return f(ctx, in)
}

// textNumber maps the texts the tests send ("t17") to a number, so a fake
// vector can say which input it belongs to.
func textNumber(tb testing.TB, s string) float32 {
	tb.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(s, "t"))
	if err != nil {
		tb.Errorf("unexpected text %q", s)
	}
	return float32(n)
}

func texts(n int) openai.EmbeddingInput {
	in := openai.EmbeddingInput{Set: true}
	for i := range n {
		in.Texts = append(in.Texts, "t"+strconv.Itoa(i))
	}
	return in
}

func model(id string) bedrock.Model {
	return bedrock.Model{ID: id, FoundationModelID: bedrock.FoundationModelOf(id), OutputModalities: []string{"EMBEDDING"}}
}

// fakeCohere answers like Cohere: one vector per text, [number of the text].
func fakeCohere(tb testing.TB, calls *[][]string, mu *sync.Mutex) invokeFunc {
	return func(_ context.Context, in *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error) {
		var req struct {
			Texts     []string `json:"texts"`
			InputType string   `json:"input_type"`
		}
		if err := json.Unmarshal(in.Body, &req); err != nil {
			tb.Errorf("request body: %v", err)
		}
		mu.Lock()
		*calls = append(*calls, req.Texts)
		mu.Unlock()
		vecs := make([][]float32, len(req.Texts))
		for i, t := range req.Texts {
			vecs[i] = []float32{textNumber(tb, t)}
		}
		body, _ := json.Marshal(map[string]any{"response_type": "embeddings_floats", "embeddings": vecs})
		return &bedrockruntime.InvokeModelOutput{Body: body}, nil
	}
}

func TestEmbedCohereSplitsBatches(t *testing.T) {
	var calls [][]string
	var mu sync.Mutex
	e := &bedrock.Embedder{Client: fakeCohere(t, &calls, &mu)}
	out, err := e.Embed(context.Background(), model("cohere.embed-multilingual-v3"), &openai.EmbeddingRequest{Input: texts(200)})
	if err != nil {
		t.Fatal(err)
	}
	sizes := make([]int, len(calls))
	for i, c := range calls {
		sizes[i] = len(c)
	}
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{8, 96, 96}) {
		t.Errorf("batch sizes: got %v, want 96, 96 and 8", sizes)
	}
	if len(out.Data) != 200 {
		t.Fatalf("got %d embeddings, want 200", len(out.Data))
	}
	for i, d := range out.Data {
		if d.Index != i || len(floats(t, d.Embedding)) != 1 || floats(t, d.Embedding)[0] != float32(i) || d.Object != "embedding" {
			t.Fatalf("data[%d]: got index %d vector %v, want index %d vector [%d]", i, d.Index, floats(t, d.Embedding), i, i)
		}
	}
	// No token count from Bedrock (no header): estimated, never 0.
	if out.Usage.PromptTokens == 0 || out.Usage.TotalTokens != out.Usage.PromptTokens {
		t.Errorf("usage: got %+v, want an estimate > 0", out.Usage)
	}
}

func TestEmbedFanOutIsBoundedAndOrdered(t *testing.T) {
	var inFlight, peak atomic.Int32
	e := &bedrock.Embedder{Concurrency: 3, Client: invokeFunc(func(_ context.Context, in *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		var req struct {
			InputText string `json:"inputText"`
		}
		_ = json.Unmarshal(in.Body, &req)
		num := textNumber(t, req.InputText)
		time.Sleep(time.Duration(20-int(num)%20) * time.Millisecond) // later inputs finish first
		return &bedrockruntime.InvokeModelOutput{Body: fmt.Appendf(nil, `{"embedding":[%g],"inputTextTokenCount":2}`, num)}, nil
	})}
	out, err := e.Embed(context.Background(), model("amazon.titan-embed-text-v2:0"), &openai.EmbeddingRequest{Input: texts(20)})
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 3 || p < 2 {
		t.Errorf("peak concurrent calls: got %d, want 2..3", p)
	}
	for i, d := range out.Data {
		if floats(t, d.Embedding)[0] != float32(i) {
			t.Fatalf("data[%d] holds the vector of input %g", i, floats(t, d.Embedding)[0])
		}
	}
	if out.Usage.PromptTokens != 40 || out.Usage.TotalTokens != 40 {
		t.Errorf("usage: got %+v, want 40 (inputTextTokenCount 2 x 20)", out.Usage)
	}
}

func TestEmbedRequestBodies(t *testing.T) {
	dims := func(n int) *int { return &n }
	tests := []struct {
		name   string
		model  string
		req    openai.EmbeddingRequest
		want   string // JSON of the first InvokeModel body
		answer string
	}{
		{"titan v2 default", "amazon.titan-embed-text-v2:0", openai.EmbeddingRequest{},
			`{"dimensions":1024,"inputText":"t0","normalize":true}`, `{"embedding":[1],"inputTextTokenCount":1}`},
		{"titan v2 dimensions", "amazon.titan-embed-text-v2:0", openai.EmbeddingRequest{Dimensions: dims(256), InputType: "search_query"},
			`{"dimensions":256,"inputText":"t0","normalize":true}`, `{"embedding":[1],"inputTextTokenCount":1}`},
		{"titan v1", "amazon.titan-embed-text-v1", openai.EmbeddingRequest{},
			`{"inputText":"t0"}`, `{"embedding":[1],"inputTextTokenCount":1}`},
		{"cohere v3 default input type", "cohere.embed-english-v3", openai.EmbeddingRequest{},
			`{"input_type":"search_document","texts":["t0"]}`, `{"embeddings":[[1]]}`},
		{"cohere v3 input_type", "cohere.embed-english-v3", openai.EmbeddingRequest{InputType: "search_query"},
			`{"input_type":"search_query","texts":["t0"]}`, `{"embeddings":[[1]]}`},
		{"cohere v4 profile", "us.cohere.embed-v4:0", openai.EmbeddingRequest{Dimensions: dims(512)},
			`{"embedding_types":["float"],"input_type":"search_document","output_dimension":512,"texts":["t0"]}`,
			`{"response_type":"embeddings_by_type","embeddings":{"float":[[1]]}}`},
		{"nova", "amazon.nova-2-multimodal-embeddings-v1:0", openai.EmbeddingRequest{InputType: "search_query"},
			`{"singleEmbeddingParams":{"embeddingDimension":3072,"embeddingPurpose":"GENERIC_RETRIEVAL","text":{"truncationMode":"NONE","value":"t0"}},"taskType":"SINGLE_EMBEDDING"}`,
			`{"embeddings":[{"embeddingType":"TEXT","embedding":[1]}]}`},
	}
	tok := bedrock.NewTokenizer() // loaded once for the cases that estimate usage
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var gotModel string
			e := &bedrock.Embedder{Tokenizer: tok, Client: invokeFunc(func(_ context.Context, in *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error) {
				got, gotModel = in.Body, aws.ToString(in.ModelId)
				if aws.ToString(in.ContentType) != "application/json" || aws.ToString(in.Accept) != "application/json" {
					t.Errorf("content type %v accept %v, want application/json", in.ContentType, in.Accept)
				}
				return &bedrockruntime.InvokeModelOutput{Body: []byte(tt.answer)}, nil
			})}
			req := tt.req
			req.Input = texts(1)
			out, err := e.Embed(context.Background(), model(tt.model), &req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("body:\n got %s\nwant %s", got, tt.want)
			}
			if gotModel != tt.model {
				t.Errorf("model id: got %s, want %s", gotModel, tt.model)
			}
			if len(out.Data) != 1 || floats(t, out.Data[0].Embedding)[0] != 1 {
				t.Errorf("data: got %+v", out.Data)
			}
		})
	}
}

func TestEmbedRejects(t *testing.T) {
	dims := func(n int) *int { return &n }
	long := strings.Repeat("é", 2049) // 2049 characters, 4098 bytes
	tests := []struct {
		name, model string
		req         openai.EmbeddingRequest
		param, msg  string
	}{
		{"missing input", "cohere.embed-english-v3", openai.EmbeddingRequest{}, "input", "input is required"},
		{"empty array", "cohere.embed-english-v3", openai.EmbeddingRequest{Input: openai.EmbeddingInput{Set: true, Texts: []string{}}}, "input", "must not be empty"},
		{"too many", "cohere.embed-english-v3", openai.EmbeddingRequest{Input: texts(2049)}, "input", "2049 items"},
		{"empty text", "cohere.embed-english-v3", openai.EmbeddingRequest{Input: openai.EmbeddingInput{Set: true, Texts: []string{"a", " "}}}, "input", "input[1] is empty"},
		{"too long for cohere v3", "cohere.embed-english-v3", openai.EmbeddingRequest{Input: openai.EmbeddingInput{Set: true, Texts: []string{"a", "b", "c", long}}}, "input", "input[3] has 2049 characters"},
		{"empty token array", "cohere.embed-english-v3", openai.EmbeddingRequest{Input: openai.EmbeddingInput{Set: true, Tokens: [][]int{{1}, {}}}}, "input", "input[1] is an empty token array"},
		{"unknown token", "cohere.embed-english-v3", openai.EmbeddingRequest{Input: openai.EmbeddingInput{Set: true, Tokens: [][]int{{15339, 999999}}}}, "input", "input[0]: token 999999"},
		{"bad dimensions titan", "amazon.titan-embed-text-v2:0", openai.EmbeddingRequest{Input: texts(1), Dimensions: dims(1536)}, "dimensions", "1024, 512, 256"},
		{"bad dimensions cohere v3", "cohere.embed-english-v3", openai.EmbeddingRequest{Input: texts(1), Dimensions: dims(256)}, "dimensions", "not 256"},
		{"bad format", "cohere.embed-english-v3", openai.EmbeddingRequest{Input: texts(1), EncodingFormat: "int8"}, "encoding_format", "'float' or 'base64'"},
		{"bad input type", "cohere.embed-english-v3", openai.EmbeddingRequest{Input: texts(1), InputType: "query"}, "input_type", "not 'query'"},
		{"unsupported model", "amazon.titan-embed-image-v1", openai.EmbeddingRequest{Input: texts(1)}, "model", "not a supported embedding model"},
	}
	e := &bedrock.Embedder{Client: invokeFunc(func(context.Context, *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error) {
		t.Error("Bedrock called for an invalid request")
		return nil, errors.New("unexpected call")
	})}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Embed(context.Background(), model(tt.model), &tt.req)
			var re *bedrock.RequestError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a *RequestError", err)
			}
			if re.Param != tt.param || !strings.Contains(re.Message, tt.msg) {
				t.Errorf("got param %q message %q, want param %q and a message containing %q", re.Param, re.Message, tt.param, tt.msg)
			}
		})
	}
}

func TestEmbedNamesFailedInput(t *testing.T) {
	boom := errors.New("ValidationException: too long")
	e := &bedrock.Embedder{Client: invokeFunc(func(_ context.Context, in *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error) {
		if strings.Contains(string(in.Body), `"t5"`) {
			return nil, boom
		}
		return &bedrockruntime.InvokeModelOutput{Body: []byte(`{"embedding":[1],"inputTextTokenCount":1}`)}, nil
	})}
	_, err := e.Embed(context.Background(), model("amazon.titan-embed-text-v1"), &openai.EmbeddingRequest{Input: texts(9)})
	var ie *bedrock.InputError
	if !errors.As(err, &ie) || ie.Inputs() != "input[5]" || !errors.Is(err, boom) {
		t.Errorf("got %v, want an InputError for input[5] wrapping the Bedrock error", err)
	}

	var calls [][]string
	var mu sync.Mutex
	ok := fakeCohere(t, &calls, &mu)
	e.Client = invokeFunc(func(ctx context.Context, in *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error) {
		if strings.Contains(string(in.Body), `"t100"`) {
			return nil, boom
		}
		return ok(ctx, in)
	})
	_, err = e.Embed(context.Background(), model("cohere.embed-english-v3"), &openai.EmbeddingRequest{Input: texts(200)})
	if !errors.As(err, &ie) || ie.Inputs() != "input[96..191]" {
		t.Errorf("got %v, want an InputError for input[96..191]", err)
	}
}

func TestEmbedTokenArrays(t *testing.T) {
	var got []string
	e := &bedrock.Embedder{Client: invokeFunc(func(_ context.Context, in *bedrockruntime.InvokeModelInput) (*bedrockruntime.InvokeModelOutput, error) {
		var req struct {
			Texts []string `json:"texts"`
		}
		_ = json.Unmarshal(in.Body, &req)
		got = req.Texts
		return &bedrockruntime.InvokeModelOutput{Body: []byte(`{"embeddings":[[1],[2]]}`)}, nil
	})}
	// cl100k_base: "hello world" = 15339 1917; "The quick brown fox" = 791 4062 14198 39935.
	in := openai.EmbeddingInput{Set: true, Tokens: [][]int{{15339, 1917}, {791, 4062, 14198, 39935}}}
	if _, err := e.Embed(context.Background(), model("cohere.embed-english-v3"), &openai.EmbeddingRequest{Input: in}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"hello world", "The quick brown fox"}; !slices.Equal(got, want) {
		t.Errorf("decoded texts: got %q, want %q", got, want)
	}
}

// TestEmbedUsageFromHeader drives the real Bedrock Runtime client against a
// handler answering like Bedrock does for Cohere: the count is only in the
// X-Amzn-Bedrock-Input-Token-Count header.
func TestEmbedUsageFromHeader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", "7")
		_, _ = w.Write([]byte(`{"id":"x","response_type":"embeddings_floats","texts":["t0","t1"],"embeddings":[[0.5],[0.25]]}`))
	}))
	t.Cleanup(srv.Close)
	rt := bedrockruntime.New(bedrockruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RetryMaxAttempts: 1})
	e := &bedrock.Embedder{Client: rt}
	out, err := e.Embed(context.Background(), model("cohere.embed-english-v3"), &openai.EmbeddingRequest{Input: texts(2)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Usage.PromptTokens != 7 || out.Usage.TotalTokens != 7 {
		t.Errorf("usage: got %+v, want 7 from the header", out.Usage)
	}
	if floats(t, out.Data[1].Embedding)[0] != 0.25 {
		t.Errorf("data[1]: got %v", floats(t, out.Data[1].Embedding))
	}
}

func TestTokenizer(t *testing.T) {
	tok := bedrock.NewTokenizer()
	n, err := tok.Count("hello world")
	if err != nil || n != 2 {
		t.Errorf("Count: got %d, %v; want 2", n, err)
	}
	s, err := tok.Decode([]int{15339, 1917, 100257})
	if err != nil || s != "hello world<|endoftext|>" {
		t.Errorf("Decode: got %q, %v", s, err)
	}
	for _, bad := range [][]int{{-1}, {100256}, {100277}} {
		if _, err := tok.Decode(bad); err == nil {
			t.Errorf("Decode(%v): got nil error", bad)
		}
	}
}

// BenchmarkTokenizerLoad measures loading cl100k_base, which is why the
// tokenizer loads on first use rather than at start-up.
func BenchmarkTokenizerLoad(b *testing.B) {
	for b.Loop() {
		if err := bedrock.NewTokenizer().Load(); err != nil {
			b.Fatal(err)
		}
	}
}

// floats decodes a response vector as a client does.
func floats(tb testing.TB, v openai.EmbeddingVector) []float32 {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var back openai.EmbeddingVector
	if err := json.Unmarshal(b, &back); err != nil {
		tb.Fatalf("vector %s: %v", b, err)
	}
	return back.Floats
}
