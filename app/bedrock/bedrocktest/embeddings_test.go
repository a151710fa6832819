package bedrocktest

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// invoke calls InvokeModel with a JSON body and returns the decoded body and
// the input token count header.
func invoke(tb testing.TB, c *bedrockruntime.Client, model, body string) (map[string]any, int, error) {
	tb.Helper()
	out, err := c.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
		ModelId: aws.String(model), Body: []byte(body),
		ContentType: aws.String("application/json"), Accept: aws.String("application/json"),
	})
	if err != nil {
		return nil, 0, err
	}
	var m map[string]any
	if err := json.Unmarshal(out.Body, &m); err != nil {
		tb.Fatalf("decode %s response: %v", model, err)
	}
	raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
	if !ok {
		tb.Fatalf("no raw response in the result metadata")
	}
	n, err := strconv.Atoi(raw.Header.Get("X-Amzn-Bedrock-Input-Token-Count"))
	if err != nil {
		tb.Fatalf("X-Amzn-Bedrock-Input-Token-Count = %q: %v", raw.Header.Get("X-Amzn-Bedrock-Input-Token-Count"), err)
	}
	return m, n, nil
}

// floats reads a JSON array of numbers.
func floats(tb testing.TB, v any) []float64 {
	tb.Helper()
	arr, ok := v.([]any)
	if !ok {
		tb.Fatalf("got %T, want a JSON array", v)
	}
	out := make([]float64, len(arr))
	for i, x := range arr {
		f, ok := x.(float64)
		if !ok {
			tb.Fatalf("element %d is %T, want a number", i, x)
		}
		out[i] = f
	}
	return out
}

func norm(v []float64) float64 {
	var s float64
	for _, f := range v {
		s += f * f
	}
	return math.Sqrt(s)
}

func TestInvokeModelEmbeddings(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	tests := []struct {
		name, model, body string
		vectors           func(tb testing.TB, resp map[string]any) [][]float64
		dim               int
		unit              bool // vectors must have length 1
		tokens            int  // expected X-Amzn-Bedrock-Input-Token-Count
	}{
		{name: "titan v1", model: "amazon.titan-embed-text-v1", body: `{"inputText":"hello world"}`, dim: 1536, tokens: 3,
			vectors: func(tb testing.TB, r map[string]any) [][]float64 {
				if r["inputTextTokenCount"] != 3.0 {
					tb.Errorf("inputTextTokenCount = %v, want 3", r["inputTextTokenCount"])
				}
				return [][]float64{floats(tb, r["embedding"])}
			}},
		{name: "titan v2 defaults", model: "amazon.titan-embed-text-v2:0", body: `{"inputText":"hello world"}`, dim: 1024, unit: true, tokens: 3,
			vectors: func(tb testing.TB, r map[string]any) [][]float64 {
				byType := r["embeddingsByType"].(map[string]any)
				return [][]float64{floats(tb, r["embedding"]), floats(tb, byType["float"])}
			}},
		{name: "titan v2 options", model: "amazon.titan-embed-text-v2:0", body: `{"inputText":"hello world","dimensions":256,"normalize":true,"embeddingTypes":["float","binary"]}`, dim: 256, unit: true, tokens: 3,
			vectors: func(tb testing.TB, r map[string]any) [][]float64 {
				bin := floats(tb, r["embeddingsByType"].(map[string]any)["binary"])
				if len(bin) != 256 || bin[0] != 0 && bin[0] != 1 {
					tb.Errorf("binary embedding has %d elements (first %v), want 256 zeros and ones", len(bin), bin[0])
				}
				return [][]float64{floats(tb, r["embedding"])}
			}},
		{name: "cohere v3 floats", model: "cohere.embed-english-v3", body: `{"texts":["a","bb"],"input_type":"search_document"}`, dim: 1024, unit: true, tokens: 2,
			vectors: func(tb testing.TB, r map[string]any) [][]float64 {
				if r["response_type"] != "embeddings_floats" || len(r["texts"].([]any)) != 2 || r["id"] == "" {
					tb.Errorf("response = %v %v %v, want embeddings_floats with 2 texts and an id", r["response_type"], r["texts"], r["id"])
				}
				e := r["embeddings"].([]any)
				return [][]float64{floats(tb, e[0]), floats(tb, e[1])}
			}},
		{name: "cohere v3 by type", model: "cohere.embed-multilingual-v3", body: `{"texts":["a"],"input_type":"search_query","truncate":"END","embedding_types":["float","int8","ubinary"]}`, dim: 1024, unit: true, tokens: 1,
			vectors: func(tb testing.TB, r map[string]any) [][]float64 {
				e := r["embeddings"].(map[string]any)
				if r["response_type"] != "embeddings_by_type" || len(floats(tb, e["int8"].([]any)[0])) != 1024 || len(floats(tb, e["ubinary"].([]any)[0])) != 128 {
					tb.Errorf("response_type %v, int8/ubinary shapes wrong", r["response_type"])
				}
				return [][]float64{floats(tb, e["float"].([]any)[0])}
			}},
		{name: "cohere v4 via profile", model: "us.cohere.embed-v4:0", body: `{"texts":["a"],"input_type":"search_document","output_dimension":512}`, dim: 512, unit: true, tokens: 1,
			vectors: func(tb testing.TB, r map[string]any) [][]float64 {
				if r["response_type"] != "embeddings_by_type" {
					tb.Errorf("response_type = %v, want embeddings_by_type", r["response_type"])
				}
				return [][]float64{floats(tb, r["embeddings"].(map[string]any)["float"].([]any)[0])}
			}},
		{name: "cohere v4 inputs", model: "cohere.embed-v4:0", body: `{"inputs":[{"content":[{"type":"text","text":"a"},{"type":"image_url","image_url":"data:image/png;base64,AA=="}]}],"input_type":"clustering"}`, dim: 1536, unit: true, tokens: 8,
			vectors: func(tb testing.TB, r map[string]any) [][]float64 {
				return [][]float64{floats(tb, r["embeddings"].(map[string]any)["float"].([]any)[0])}
			}},
		{name: "nova text", model: "amazon.nova-2-multimodal-embeddings-v1:0", dim: 1024, unit: true, tokens: 4,
			body: `{"schemaVersion":"nova-multimodal-embed-v1","taskType":"SINGLE_EMBEDDING","singleEmbeddingParams":{"embeddingPurpose":"GENERIC_INDEX","embeddingDimension":1024,"text":{"truncationMode":"END","value":"Hello, World!"}}}`,
			vectors: func(tb testing.TB, r map[string]any) [][]float64 {
				e := r["embeddings"].([]any)[0].(map[string]any)
				if e["embeddingType"] != "TEXT" {
					tb.Errorf("embeddingType = %v, want TEXT", e["embeddingType"])
				}
				return [][]float64{floats(tb, e["embedding"])}
			}},
		{name: "nova default dimension", model: "amazon.nova-2-multimodal-embeddings-v1:0", dim: 3072, unit: true, tokens: 1,
			body: `{"taskType":"SINGLE_EMBEDDING","singleEmbeddingParams":{"embeddingPurpose":"TEXT_RETRIEVAL","text":{"truncationMode":"NONE","value":"hey"}}}`,
			vectors: func(tb testing.TB, r map[string]any) [][]float64 {
				return [][]float64{floats(tb, r["embeddings"].([]any)[0].(map[string]any)["embedding"])}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, tokens, err := invoke(t, c, tt.model, tt.body)
			if err != nil {
				t.Fatalf("InvokeModel: %v", err)
			}
			if tokens != tt.tokens {
				t.Errorf("input token count = %d, want %d", tokens, tt.tokens)
			}
			vecs := tt.vectors(t, resp)
			for i, v := range vecs {
				if len(v) != tt.dim {
					t.Errorf("vector %d has %d dimensions, want %d", i, len(v), tt.dim)
				}
				if n := norm(v); tt.unit && math.Abs(n-1) > 1e-3 {
					t.Errorf("vector %d has norm %v, want 1", i, n)
				}
			}
			again, _, err := invoke(t, c, tt.model, tt.body)
			if err != nil {
				t.Fatalf("second InvokeModel: %v", err)
			}
			if a, b := tt.vectors(t, again)[0], vecs[0]; a[0] != b[0] || a[len(a)-1] != b[len(b)-1] {
				t.Errorf("the same input gave different vectors")
			}
		})
	}
	a, _, _ := invoke(t, c, "amazon.titan-embed-text-v2:0", `{"inputText":"cat"}`)
	b, _, _ := invoke(t, c, "amazon.titan-embed-text-v2:0", `{"inputText":"dog"}`)
	if floats(t, a["embedding"])[0] == floats(t, b["embedding"])[0] {
		t.Errorf("different inputs gave the same vector")
	}
	if got := srv.Requests(); got[len(got)-1].Operation != "InvokeModel" {
		t.Errorf("last operation = %q, want InvokeModel", got[len(got)-1].Operation)
	}
}

func TestInvokeModelValidation(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)
	long := strings.Repeat("x", 2049)
	many := `[` + strings.TrimSuffix(strings.Repeat(`"a",`, 97), ",") + `]`
	nova := func(params string) string {
		return `{"taskType":"SINGLE_EMBEDDING","singleEmbeddingParams":` + params + `}`
	}
	tests := []struct{ name, model, body, want string }{
		{"unknown model", "amazon.titan-embed-text-v9", `{"inputText":"a"}`, "The provided model identifier is invalid."},
		{"chat model", "amazon.nova-micro-v1:0", `{"inputText":"a"}`, "emulated for Anthropic and embedding models only"},
		{"embedding body to Claude", haiku, `{"inputText":"a"}`, "extraneous key [inputText]"},
		{"titan v1 extra key", "amazon.titan-embed-text-v1", `{"inputText":"a","dimensions":256}`, "Malformed input request: #: extraneous key [dimensions] is not permitted"},
		{"titan v1 missing text", "amazon.titan-embed-text-v1", `{}`, "required key [inputText] not found"},
		{"titan v2 empty text", "amazon.titan-embed-text-v2:0", `{"inputText":""}`, "#/inputText: expected minLength: 1, actual: 0"},
		{"titan v2 dimensions", "amazon.titan-embed-text-v2:0", `{"inputText":"a","dimensions":300}`, "#/dimensions: 300 is not a valid enum value"},
		{"titan v2 embedding type", "amazon.titan-embed-text-v2:0", `{"inputText":"a","embeddingTypes":["int8"]}`, "#/embeddingTypes/0: int8 is not a valid enum value"},
		{"titan v2 too many tokens", "amazon.titan-embed-text-v2:0", `{"inputText":"` + strings.Repeat("word ", 7000) + `"}`, "Too many input tokens. Max input tokens: 8192"},
		{"titan v2 wrong type", "amazon.titan-embed-text-v2:0", `{"inputText":["a"]}`, "Malformed input request: #/inputText: expected type: string, found: array"},
		{"titan v2 malformed JSON", "amazon.titan-embed-text-v2:0", `{"inputText":`, "Malformed input request: parse JSON"},
		{"cohere v3 input_type required", "cohere.embed-english-v3", `{"texts":["a"]}`, "required key [input_type] not found"},
		{"cohere v3 input_type enum", "cohere.embed-english-v3", `{"texts":["a"],"input_type":"query"}`, "#/input_type: query is not a valid enum value"},
		{"cohere v3 no texts", "cohere.embed-english-v3", `{"texts":[],"input_type":"search_query"}`, "#/texts: expected minItems: 1, actual: 0"},
		{"cohere v3 too many texts", "cohere.embed-english-v3", `{"texts":` + many + `,"input_type":"search_query"}`, "#/texts: expected maxItems: 96, actual: 97"},
		{"cohere v3 text too long", "cohere.embed-english-v3", `{"texts":["` + long + `"],"input_type":"search_query"}`, "#/texts/0: expected maxLength: 2048, actual: 2049"},
		{"cohere v3 truncate enum", "cohere.embed-english-v3", `{"texts":["a"],"input_type":"search_query","truncate":"LEFT"}`, "#/truncate: LEFT is not a valid enum value"},
		{"cohere v3 embedding type", "cohere.embed-english-v3", `{"texts":["a"],"input_type":"search_query","embedding_types":["base64"]}`, "#/embedding_types/0: base64 is not a valid enum value"},
		{"cohere v3 texts and images", "cohere.embed-english-v3", `{"texts":["a"],"images":["data:image/png;base64,AA=="],"input_type":"image"}`, "only one of [texts, images]"},
		{"cohere v3 extra key", "cohere.embed-english-v3", `{"texts":["a"],"input_type":"search_query","output_dimension":256}`, "extraneous key [output_dimension]"},
		{"cohere v4 input_type required", "cohere.embed-v4:0", `{"texts":["a"]}`, "required key [input_type] not found"},
		{"cohere v4 dimension", "cohere.embed-v4:0", `{"texts":["a"],"input_type":"search_query","output_dimension":768}`, "#/output_dimension: 768 is not a valid enum value"},
		{"cohere v4 too many texts", "cohere.embed-v4:0", `{"texts":` + many + `,"input_type":"search_query"}`, "expected maxItems: 96"},
		{"cohere v4 no input", "cohere.embed-v4:0", `{"input_type":"search_query"}`, "exactly one of [texts, images, inputs]"},
		{"nova task type", "amazon.nova-2-multimodal-embeddings-v1:0", `{"singleEmbeddingParams":{}}`, "required key [taskType] not found"},
		{"nova segmented", "amazon.nova-2-multimodal-embeddings-v1:0", `{"taskType":"SEGMENTED_EMBEDDING"}`, "only supported by StartAsyncInvoke"},
		{"nova purpose", "amazon.nova-2-multimodal-embeddings-v1:0", nova(`{"text":{"truncationMode":"END","value":"a"}}`), "required key [embeddingPurpose] not found"},
		{"nova dimension", "amazon.nova-2-multimodal-embeddings-v1:0", nova(`{"embeddingPurpose":"GENERIC_INDEX","embeddingDimension":512,"text":{"truncationMode":"END","value":"a"}}`), "embeddingDimension: 512 is not a valid enum value"},
		{"nova truncation mode", "amazon.nova-2-multimodal-embeddings-v1:0", nova(`{"embeddingPurpose":"GENERIC_INDEX","text":{"value":"a"}}`), "required key [truncationMode] not found"},
		{"nova no modality", "amazon.nova-2-multimodal-embeddings-v1:0", nova(`{"embeddingPurpose":"GENERIC_INDEX"}`), "exactly one of [text, image, audio, video]"},
		{"nova image format", "amazon.nova-2-multimodal-embeddings-v1:0", nova(`{"embeddingPurpose":"GENERIC_INDEX","image":{"format":"bmp","source":{"bytes":"AA=="}}}`), "image/format: bmp is not a valid enum value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := invoke(t, c, tt.model, tt.body)
			var ve *types.ValidationException
			if !errors.As(err, &ve) {
				t.Fatalf("error = %v (%T), want *types.ValidationException", err, err)
			}
			if !strings.Contains(ve.ErrorMessage(), tt.want) {
				t.Errorf("message = %q, want it to contain %q", ve.ErrorMessage(), tt.want)
			}
		})
	}
}

func TestInvokeModelScriptedErrors(t *testing.T) {
	srv := NewServer(t)
	c := runtimeClient(t, srv)

	_, _, err := invoke(t, c, "amazon.titan-embed-text-v2:0", `{"inputText":"@emulate-error ThrottlingException embeddings are busy"}`)
	var te *types.ThrottlingException
	if !errors.As(err, &te) || te.ErrorMessage() != "embeddings are busy" {
		t.Errorf("directive error = %v, want ThrottlingException \"embeddings are busy\"", err)
	}
	_, _, err = invoke(t, c, "cohere.embed-english-v3", `{"texts":["fine","@emulate {\"error\":{\"type\":\"ModelTimeoutException\"}}"],"input_type":"search_document"}`)
	var mt *types.ModelTimeoutException
	if !errors.As(err, &mt) {
		t.Errorf("JSON directive error = %v, want ModelTimeoutException", err)
	}

	srv.Script(func(r Request) *Reply {
		if r.Operation == "InvokeModel" {
			return &Reply{Error: &Error{Type: "ServiceUnavailableException"}}
		}
		return nil
	})
	_, _, err = invoke(t, c, "amazon.titan-embed-text-v1", `{"inputText":"a"}`)
	var su *types.ServiceUnavailableException
	if !errors.As(err, &su) {
		t.Errorf("scripted error = %v, want ServiceUnavailableException", err)
	}
	// Validation still comes first, as on Bedrock.
	_, _, err = invoke(t, c, "amazon.titan-embed-text-v1", `{}`)
	var ve *types.ValidationException
	if !errors.As(err, &ve) {
		t.Errorf("invalid body with a script = %v, want ValidationException", err)
	}
}
