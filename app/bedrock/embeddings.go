package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/openbedrock/gateway/app/openai"
)

// MaxEmbeddingInputs is the most inputs one request may carry, as with OpenAI.
const MaxEmbeddingInputs = 2048

const (
	defaultEmbedConcurrency = 8
	inputTokenCountHeader   = "X-Amzn-Bedrock-Input-Token-Count"
	defaultCohereInputType  = "search_document"
	embeddingFormatBase64   = "base64"
	embeddingFormatFloat    = "float"
	jsonContentType         = "application/json"
)

// Invoker is the part of the Bedrock Runtime client embeddings call; the
// real *bedrockruntime.Client satisfies it.
type Invoker interface {
	InvokeModel(ctx context.Context, in *bedrockruntime.InvokeModelInput, opts ...func(*bedrockruntime.Options)) (*bedrockruntime.InvokeModelOutput, error)
}

// Embedder serves OpenAI embedding requests with InvokeModel. Models that
// take one text per call get the inputs fanned out concurrently; Cohere
// models get them in batches. Results keep the input order.
type Embedder struct {
	Client Invoker
	// Tokenizer decodes token-array inputs and estimates usage when Bedrock
	// reports none; nil makes one on first use.
	Tokenizer *Tokenizer
	// Concurrency bounds the InvokeModel calls in flight per request; default 8.
	Concurrency int

	tokOnce sync.Once
}

// InputError is a Bedrock error about some inputs of a request: input[First]
// up to input[Last].
type InputError struct {
	First, Last int
	Err         error
}

func (e *InputError) Error() string { return e.Inputs() + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Inputs names the inputs, e.g. "input[3]" or "input[96..191]".
func (e *InputError) Inputs() string {
	if e.First == e.Last {
		return fmt.Sprintf("input[%d]", e.First)
	}
	return fmt.Sprintf("input[%d..%d]", e.First, e.Last)
}

// embeddingFamily is how one family of embedding models is called.
type embeddingFamily struct {
	name     string
	prefixes []string // foundation-model id prefixes
	batch    int      // texts per InvokeModel call
	maxChars int      // per text; 0 leaves the limit to Bedrock
	dims     []int    // accepted `dimensions`; the model's default first
	// inputTypes maps OpenAI-side input_type values to the model's; nil
	// means the model has no such parameter.
	inputTypes map[string]string
	body       func(texts []string, dims int, inputType string) any
	// parse finds the vectors in the model's answer, each as its JSON
	// array of numbers (a slice of body).
	parse func(body []byte) (vectors [][]byte, tokens int, reported bool, err error)
}

var cohereInputTypes = map[string]string{
	"search_document": "search_document", "search_query": "search_query",
	"classification": "classification", "clustering": "clustering",
}

var novaPurposes = map[string]string{
	"search_document": "GENERIC_INDEX", "search_query": "GENERIC_RETRIEVAL",
	"classification": "CLASSIFICATION", "clustering": "CLUSTERING",
	"GENERIC_INDEX": "GENERIC_INDEX", "GENERIC_RETRIEVAL": "GENERIC_RETRIEVAL", "TEXT_RETRIEVAL": "TEXT_RETRIEVAL",
	"DOCUMENT_RETRIEVAL": "DOCUMENT_RETRIEVAL", "CLASSIFICATION": "CLASSIFICATION", "CLUSTERING": "CLUSTERING",
}

// embeddingFamilies lists the supported models. Limits: Titan accepts up
// to 50,000 characters and Cohere v3 2,048 per text (AWS model-parameter
// pages); Cohere v4 and Nova limits are in tokens and left to Bedrock.
var embeddingFamilies = []embeddingFamily{
	{
		name: "Titan Text Embeddings v2", prefixes: []string{"amazon.titan-embed-text-v2"}, batch: 1, maxChars: 50000,
		dims: []int{1024, 512, 256},
		body: func(texts []string, dims int, _ string) any {
			return map[string]any{"inputText": texts[0], "dimensions": dims, "normalize": true}
		},
		parse: parseTitan,
	},
	{
		name: "Titan Embeddings G1 - Text", prefixes: []string{"amazon.titan-embed-text-v1", "amazon.titan-embed-g1-text"}, batch: 1, maxChars: 50000,
		dims:  []int{1536},
		body:  func(texts []string, _ int, _ string) any { return map[string]any{"inputText": texts[0]} },
		parse: parseTitan,
	},
	{
		name: "Cohere Embed v3", prefixes: []string{"cohere.embed-english-v3", "cohere.embed-multilingual-v3"}, batch: 96, maxChars: 2048,
		dims: []int{1024}, inputTypes: cohereInputTypes,
		body: func(texts []string, _ int, inputType string) any {
			return map[string]any{"texts": texts, "input_type": inputType}
		},
		parse: parseCohere,
	},
	{
		name: "Cohere Embed v4", prefixes: []string{"cohere.embed-v4"}, batch: 96,
		dims: []int{1536, 1024, 512, 256}, inputTypes: cohereInputTypes,
		body: func(texts []string, dims int, inputType string) any {
			return map[string]any{"texts": texts, "input_type": inputType, "embedding_types": []string{"float"}, "output_dimension": dims}
		},
		parse: parseCohere,
	},
	{
		name: "Nova Multimodal Embeddings", prefixes: []string{"amazon.nova-2-multimodal-embeddings"}, batch: 1,
		dims: []int{3072, 1024, 384, 256}, inputTypes: novaPurposes,
		body: func(texts []string, dims int, purpose string) any {
			return map[string]any{
				"taskType": "SINGLE_EMBEDDING",
				"singleEmbeddingParams": map[string]any{
					"embeddingPurpose": purpose, "embeddingDimension": dims,
					// NONE: a text over the limit is an error, as with OpenAI, not silently cut.
					"text": map[string]any{"truncationMode": "NONE", "value": texts[0]},
				},
			}
		},
		parse: parseNova,
	},
}

// embeddingFamilyOf returns how to call m, or nil if it is not a supported
// embedding model.
func embeddingFamilyOf(m Model) *embeddingFamily {
	fm := m.foundation()
	for i := range embeddingFamilies {
		for _, p := range embeddingFamilies[i].prefixes {
			if strings.HasPrefix(fm, p) {
				return &embeddingFamilies[i]
			}
		}
	}
	return nil
}

// SupportsEmbeddings reports whether the gateway knows how to call m for
// embeddings.
func SupportsEmbeddings(m Model) bool { return embeddingFamilyOf(m) != nil }

func (e *Embedder) tokenizer() *Tokenizer {
	e.tokOnce.Do(func() {
		if e.Tokenizer == nil {
			e.Tokenizer = NewTokenizer()
		}
	})
	return e.Tokenizer
}

// Embed answers req with model m. The response's model is m.ID; callers
// echo the name the client sent instead.
func (e *Embedder) Embed(ctx context.Context, m Model, req *openai.EmbeddingRequest) (*openai.EmbeddingResponse, error) {
	fam := embeddingFamilyOf(m)
	if fam == nil {
		return nil, &RequestError{Param: "model", Code: "model_not_supported",
			Message: fmt.Sprintf("The model '%s' is not a supported embedding model (Titan Text Embeddings v1/v2, Cohere Embed v3/v4, Nova Multimodal Embeddings).", m.ID)}
	}
	format := req.EncodingFormat
	if format != "" && format != embeddingFormatFloat && format != embeddingFormatBase64 {
		return nil, badRequest("encoding_format", "encoding_format must be 'float' or 'base64', not '%s'", format)
	}
	dims := fam.dims[0]
	if req.Dimensions != nil {
		if !slices.Contains(fam.dims, *req.Dimensions) {
			return nil, badRequest("dimensions", "%s accepts dimensions %s, not %d", fam.name, joinInts(fam.dims), *req.Dimensions)
		}
		dims = *req.Dimensions
	}
	inputType, err := fam.inputType(req.InputType)
	if err != nil {
		return nil, err
	}
	texts, err := e.texts(req.Input)
	if err != nil {
		return nil, err
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, badRequest("input", "input[%d] is empty; every input must contain text", i)
		}
		if fam.maxChars > 0 && len(t) > fam.maxChars { // bytes >= characters: count only when it may matter
			if n := utf8.RuneCountInString(t); n > fam.maxChars {
				return nil, &RequestError{Param: "input", Code: "input_too_long",
					Message: fmt.Sprintf("input[%d] has %d characters; %s accepts at most %d per input.", i, n, fam.name, fam.maxChars)}
			}
		}
	}

	vectors := make([][]byte, len(texts))
	tokens := make([]int, (len(texts)+fam.batch-1)/fam.batch)
	if err := e.invokeAll(ctx, m, fam, texts, dims, inputType, vectors, tokens); err != nil {
		return nil, err
	}

	out := &openai.EmbeddingResponse{Object: "list", Model: m.ID, Data: make([]openai.Embedding, len(texts))}
	for i, v := range vectors {
		if format == embeddingFormatBase64 {
			b64, err := appendBase64Vector(nil, v)
			if err != nil {
				return nil, &InputError{First: i, Last: i, Err: malformedResponse(fam, err)}
			}
			v = b64
		}
		out.Data[i] = openai.Embedding{Object: "embedding", Index: i, Embedding: openai.EmbeddingVector{JSON: v}}
	}
	for _, n := range tokens {
		out.Usage.PromptTokens += n
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	return out, nil
}

func (f *embeddingFamily) inputType(v string) (string, error) {
	if f.inputTypes == nil {
		return "", nil // Titan has no input type; accept and ignore it
	}
	if v == "" {
		v = defaultCohereInputType
	}
	mapped, ok := f.inputTypes[v]
	if !ok {
		return "", badRequest("input_type", "input_type must be one of search_document, search_query, classification or clustering, not '%s'", v)
	}
	return mapped, nil
}

// texts validates the input's shape and decodes token arrays.
func (e *Embedder) texts(in openai.EmbeddingInput) ([]string, error) {
	switch n := in.Len(); {
	case !in.Set:
		return nil, badRequest("input", "input is required")
	case n == 0:
		return nil, badRequest("input", "input must not be empty")
	case n > MaxEmbeddingInputs:
		return nil, badRequest("input", "input has %d items; at most %d are allowed per request", n, MaxEmbeddingInputs)
	}
	if in.Tokens == nil {
		return in.Texts, nil
	}
	texts := make([]string, len(in.Tokens))
	for i, toks := range in.Tokens {
		if len(toks) == 0 {
			return nil, badRequest("input", "input[%d] is an empty token array", i)
		}
		s, err := e.tokenizer().Decode(toks)
		var te *tokenError
		if errors.As(err, &te) {
			return nil, badRequest("input", "input[%d]: %v", i, te)
		}
		if err != nil {
			return nil, fmt.Errorf("decode input[%d]: %w", i, err)
		}
		texts[i] = s
	}
	return texts, nil
}

// invokeAll calls Bedrock once per batch, at most Concurrency at a time,
// and writes each batch's vectors at its inputs' positions. The first
// failure cancels the calls still running.
func (e *Embedder) invokeAll(ctx context.Context, m Model, fam *embeddingFamily, texts []string, dims int, inputType string,
	vectors [][]byte, tokens []int) error {
	if len(tokens) == 1 {
		// One call (one text, or one Cohere batch): on this goroutine, whose
		// stack has already grown, as ConverseN does; a new goroutine would
		// grow its stack through the SDK's middleware chain on every request.
		n, err := e.invoke(ctx, m, fam, texts, dims, inputType, vectors)
		if err != nil {
			return &InputError{First: 0, Last: len(texts) - 1, Err: err}
		}
		tokens[0] = n
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	limit := e.Concurrency
	if limit <= 0 {
		limit = defaultEmbedConcurrency
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for b := range tokens {
		lo, hi := b*fam.batch, min((b+1)*fam.batch, len(texts))
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			n, err := e.invoke(ctx, m, fam, texts[lo:hi], dims, inputType, vectors[lo:hi])
			if err != nil {
				cancel(&InputError{First: lo, Last: hi - 1, Err: err})
				return
			}
			tokens[b] = n
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return ie
		}
		return err
	}
	return nil
}

// invoke makes one InvokeModel call and returns the input tokens, reported
// by Bedrock or else estimated.
func (e *Embedder) invoke(ctx context.Context, m Model, fam *embeddingFamily, texts []string, dims int, inputType string, into [][]byte) (int, error) {
	body, err := json.Marshal(fam.body(texts, dims, inputType))
	if err != nil {
		return 0, fmt.Errorf("encode %s request: %w", fam.name, err)
	}
	out, err := e.Client.InvokeModel(withOperation(ctx, opEmbeddings), &bedrockruntime.InvokeModelInput{
		ModelId:     aws.String(m.ID),
		ContentType: aws.String(jsonContentType),
		Accept:      aws.String(jsonContentType),
		Body:        body,
	})
	if err != nil {
		return 0, err
	}
	vecs, n, reported, err := fam.parse(out.Body)
	if err != nil {
		return 0, malformedResponse(fam, err)
	}
	if len(vecs) != len(texts) {
		return 0, malformedResponse(fam, fmt.Errorf("%d embeddings for %d texts", len(vecs), len(texts)))
	}
	copy(into, vecs)
	if !reported {
		n, reported = headerTokens(out)
	}
	if !reported {
		// Bedrock reported no count (neither in the body nor in the
		// X-Amzn-Bedrock-Input-Token-Count header): estimate it with
		// cl100k_base rather than report 0 tokens.
		for _, t := range texts {
			c, err := e.tokenizer().Count(t)
			if err != nil {
				return 0, fmt.Errorf("estimate input tokens: %w", err)
			}
			n += c
		}
	}
	return n, nil
}

// malformedResponse is the error for an answer the gateway cannot read:
// Bedrock's failure (502), not the client's.
func malformedResponse(fam *embeddingFamily, err error) error {
	return &Error{Kind: KindUpstream, Code: "MalformedResponse", Err: fmt.Errorf("decode %s response: %w", fam.name, err)}
}

// headerTokens reads the input-token count real Bedrock sends with every
// InvokeModel response.
func headerTokens(out *bedrockruntime.InvokeModelOutput) (int, bool) {
	raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
	if !ok || raw == nil {
		return 0, false
	}
	v := raw.Header.Get(inputTokenCountHeader)
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}

// parseTitan reads {"embedding": [...], "inputTextTokenCount": n}.
func parseTitan(body []byte) ([][]byte, int, bool, error) {
	var vec []byte
	tokens, reported := 0, false
	err := eachMember(body, func(key, value []byte) error {
		switch string(key) {
		case "embedding":
			if _, err := checkVector(value); err != nil {
				return err
			}
			vec = value
		case "inputTextTokenCount":
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 {
				return fmt.Errorf("inputTextTokenCount %s is not a count", value)
			}
			tokens, reported = n, true
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, 0, false, err
	case vec == nil:
		return nil, 0, false, errors.New("no embedding in the response")
	}
	return [][]byte{vec}, tokens, reported, nil
}

// parseCohere reads both response shapes: embeddings_floats (a list) and
// embeddings_by_type (an object with a "float" list).
func parseCohere(body []byte) ([][]byte, int, bool, error) {
	var vecs [][]byte
	found := false
	err := eachMember(body, func(key, value []byte) error {
		if string(key) != "embeddings" {
			return nil
		}
		found = true
		if value[0] != '{' {
			var err error
			vecs, err = checkVectors(value)
			return err
		}
		return eachMember(value, func(key, value []byte) error {
			if string(key) != embeddingFormatFloat {
				return nil
			}
			var err error
			vecs, err = checkVectors(value)
			return err
		})
	})
	switch {
	case err != nil:
		return nil, 0, false, err
	case !found:
		return nil, 0, false, errors.New("no embeddings in the response")
	}
	return vecs, 0, false, nil
}

// parseNova reads {"embeddings": [{"embeddingType": "TEXT", "embedding": [...]}]}.
func parseNova(body []byte) ([][]byte, int, bool, error) {
	var text []byte
	err := eachMember(body, func(key, value []byte) error {
		if string(key) != "embeddings" {
			return nil
		}
		return eachElement(value, func(item []byte) error {
			var typ string
			var vec []byte
			err := eachMember(item, func(key, value []byte) error {
				switch string(key) {
				case "embeddingType":
					typ = string(value)
				case "embedding":
					if _, err := checkVector(value); err != nil {
						return err
					}
					vec = value
				}
				return nil
			})
			if err == nil && text == nil && vec != nil && (typ == `"TEXT"` || typ == `""` || typ == "") {
				text = vec
			}
			return err
		})
	})
	switch {
	case err != nil:
		return nil, 0, false, err
	case text == nil:
		return nil, 0, false, errors.New("no TEXT embedding in the response")
	}
	return [][]byte{text}, 0, false, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
