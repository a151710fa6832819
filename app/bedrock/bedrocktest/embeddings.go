package bedrocktest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// InvokeModel is emulated for the embedding models (protocols.md §3); each
// family validates its own native JSON body, with errors worded like the
// model schemas Bedrock applies ("Malformed input request: #/texts: ...").

// embedJob is a validated embedding request.
type embedJob struct {
	inputs  []string   // what is embedded, in order (texts, or image data)
	tokens  int        // input tokens, reported in X-Amzn-Bedrock-Input-Token-Count
	respond func() any // builds the response body
}

// invokeModel serves InvokeModel for embedding models, and with
// InvokeModelWithResponseStream for Anthropic models (anthropic.go).
func (e *Emulator) invokeModel(x *exchange) {
	m, ok := e.catalogue().resolve(x.req.ModelID)
	if !ok {
		writeError(x.w, validation("The provided model identifier is invalid."))
		return
	}
	if m.retired() {
		writeError(x.w, &apiError{Type: "ResourceNotFoundException", Message: EndOfLifeMessage})
		return
	}
	if m.isAnthropic() {
		e.invokeAnthropic(x, m)
		return
	}
	parse := embedderFor(m.ID)
	if parse == nil {
		writeError(x.w, validation("bedrocktest: InvokeModel is emulated for Anthropic and embedding models only; use Converse for %s.", m.ID))
		return
	}
	if x.req.Operation == "InvokeModelWithResponseStream" {
		writeError(x.w, validation("The model is unsupported for streaming. Try again with a model that supports streaming."))
		return
	}
	if ct := x.r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(x.w, validation("The provided content type %q is not supported for this model. Use application/json.", ct))
		return
	}
	job, aerr := parse(x.req.Body)
	if aerr != nil {
		writeError(x.w, aerr)
		return
	}
	var reply Reply
	if r := e.scripted(x.req); r != nil {
		reply = *r
	} else {
		for _, in := range job.inputs {
			r, err := parseDirective(in)
			if err != nil {
				writeError(x.w, validation("bedrocktest: %v", err))
				return
			}
			if r != nil {
				reply = *r
				break
			}
		}
	}
	if !e.wait(x.r.Context(), reply.Delay) {
		return
	}
	if f := reply.Fault; f != nil {
		if aerr := f.check(false); aerr != nil {
			writeError(x.w, aerr)
			return
		}
		if !e.failBefore(x, f) {
			return
		}
	}
	if reply.Error != nil {
		writeError(x.w, scripted(reply.Error, m.ARN()))
		return
	}
	x.w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", strconv.Itoa(job.tokens))
	x.w.Header().Set("X-Amzn-Bedrock-Invocation-Latency", strconv.FormatInt(sinceMs(x), 10))
	e.finish(x, job.respond())
}

// embedderFor returns the body parser of an embedding model, or nil.
func embedderFor(modelID string) func([]byte) (*embedJob, *apiError) {
	switch modelID {
	case "amazon.titan-embed-text-v1":
		return titanV1
	case "amazon.titan-embed-text-v2:0":
		return titanV2
	case "cohere.embed-english-v3", "cohere.embed-multilingual-v3":
		return cohereV3
	case "cohere.embed-v4:0":
		return cohereV4
	case "amazon.nova-2-multimodal-embeddings-v1:0":
		return novaEmbed
	}
	return nil
}

// malformed words a native-schema violation at a JSON pointer.
func malformed(pointer, format string, args ...any) *apiError {
	return validation("Malformed input request: %s: %s, please reformat your input and try again.", pointer, fmt.Sprintf(format, args...))
}

func required(key string) *apiError {
	return validation("Malformed input request: #: required key [%s] not found, please reformat your input and try again.", key)
}

// decodeNative decodes a model-native body strictly; unlike Converse, type
// mismatches and malformed JSON are ValidationExceptions here.
func decodeNative(body []byte, v any) *apiError {
	err := decodeStrict(body, v)
	var te *typeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return malformed(te.pointer(), "expected type: %s, found: %s", strings.TrimPrefix(te.want, "*"), te.got)
	}
	var se *shapeError
	if errors.As(err, &se) {
		return validation("%s", se.nativeMessage())
	}
	return validation("Malformed input request: %v, please reformat your input and try again.", err)
}

func textTokens(texts ...string) int {
	n := 0
	for _, t := range texts {
		n += len(t)/4 + 1
	}
	return n
}

// embedding is a deterministic vector for input: seeded by a hash of the
// model family and input, with components in [-1, 1), unit length when
// normalize is set.
func embedding(family, input string, dim int, normalize bool) []float32 {
	seed := sha256.Sum256([]byte(family + "\x00" + input))
	state := binary.BigEndian.Uint64(seed[:8])
	v := make([]float32, dim)
	var norm float64
	for i := range v {
		// splitmix64
		state += 0x9e3779b97f4a7c15
		z := state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		f := float64(z>>11)/(1<<53)*2 - 1
		v[i] = float32(f)
		norm += f * f
	}
	if normalize {
		norm = math.Sqrt(norm)
		for i := range v {
			v[i] = float32(float64(v[i]) / norm)
		}
	}
	return v
}

func responseID(inputs []string) string {
	sum := sha256.Sum256([]byte(strings.Join(inputs, "\x00")))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Titan Text Embeddings.

type titanV1Request struct {
	InputText *string `json:"inputText"`
}

type titanV2Request struct {
	InputText      *string  `json:"inputText"`
	Dimensions     *int     `json:"dimensions"`
	Normalize      *bool    `json:"normalize"`
	EmbeddingTypes []string `json:"embeddingTypes"`
}

// titanMaxTokens is Titan's input limit.
const titanMaxTokens = 8192

func titanText(s *string, maxChars int) *apiError {
	switch {
	case s == nil:
		return required("inputText")
	case *s == "":
		return malformed("#/inputText", "expected minLength: 1, actual: 0")
	case len(*s) > maxChars:
		return malformed("#/inputText", "expected maxLength: %d, actual: %d", maxChars, len(*s))
	case textTokens(*s) > titanMaxTokens:
		return validation("Too many input tokens. Max input tokens: %d, request input token count: %d", titanMaxTokens, textTokens(*s))
	}
	return nil
}

func titanV1(body []byte) (*embedJob, *apiError) {
	var req titanV1Request
	if err := decodeNative(body, &req); err != nil {
		return nil, err
	}
	if err := titanText(req.InputText, 50000); err != nil {
		return nil, err
	}
	text := *req.InputText
	tokens := textTokens(text)
	return &embedJob{inputs: []string{text}, tokens: tokens, respond: func() any {
		return map[string]any{"embedding": embedding("titan-v1", text, 1536, false), "inputTextTokenCount": tokens}
	}}, nil
}

func titanV2(body []byte) (*embedJob, *apiError) {
	var req titanV2Request
	if err := decodeNative(body, &req); err != nil {
		return nil, err
	}
	if err := titanText(req.InputText, 50000); err != nil {
		return nil, err
	}
	dim := 1024
	if req.Dimensions != nil {
		if !slices.Contains([]int{256, 512, 1024}, *req.Dimensions) {
			return nil, malformed("#/dimensions", "%d is not a valid enum value", *req.Dimensions)
		}
		dim = *req.Dimensions
	}
	normalize := req.Normalize == nil || *req.Normalize
	types := req.EmbeddingTypes
	if types == nil {
		types = []string{"float"}
	}
	if len(types) == 0 {
		return nil, malformed("#/embeddingTypes", "expected minItems: 1, actual: 0")
	}
	for i, t := range types {
		if t != "float" && t != "binary" {
			return nil, malformed("#/embeddingTypes/"+strconv.Itoa(i), "%s is not a valid enum value", t)
		}
	}
	text := *req.InputText
	tokens := textTokens(text)
	return &embedJob{inputs: []string{text}, tokens: tokens, respond: func() any {
		v := embedding("titan-v2", text, dim, normalize)
		byType := map[string]any{}
		for _, t := range types {
			if t == "float" {
				byType["float"] = v
			} else {
				byType["binary"] = binarize(v)
			}
		}
		return map[string]any{"embedding": v, "inputTextTokenCount": tokens, "embeddingsByType": byType}
	}}, nil
}

// binarize maps each component to 1 when positive, else 0 (Titan's binary type).
func binarize(v []float32) []int {
	out := make([]int, len(v))
	for i, f := range v {
		if f > 0 {
			out[i] = 1
		}
	}
	return out
}

// Cohere Embed.

type cohereV3Request struct {
	Texts          []string `json:"texts"`
	Images         []string `json:"images"`
	InputType      *string  `json:"input_type"`
	Truncate       *string  `json:"truncate"`
	EmbeddingTypes []string `json:"embedding_types"`
}

type cohereV4Request struct {
	Texts           []string      `json:"texts"`
	Images          []string      `json:"images"`
	Inputs          []cohereInput `json:"inputs"`
	InputType       *string       `json:"input_type"`
	EmbeddingTypes  []string      `json:"embedding_types"`
	OutputDimension *int          `json:"output_dimension"`
	MaxTokens       *int          `json:"max_tokens"`
	Truncate        *string       `json:"truncate"`
}

type cohereInput struct {
	Content []cohereContent `json:"content"`
}

type cohereContent struct {
	Type     string  `json:"type"`
	Text     *string `json:"text"`
	ImageURL *string `json:"image_url"`
}

// cohereMaxInputs is the most texts, images or inputs one call may carry.
const cohereMaxInputs = 96

func enumCheck(pointer string, v *string, allowed ...string) *apiError {
	if v != nil && !slices.Contains(allowed, *v) {
		return malformed(pointer, "%s is not a valid enum value", *v)
	}
	return nil
}

func cohereTypes(types []string) ([]string, *apiError) {
	for i, t := range types {
		if err := enumCheck("#/embedding_types/"+strconv.Itoa(i), &t, "float", "int8", "uint8", "binary", "ubinary"); err != nil {
			return nil, err
		}
	}
	return types, nil
}

func cohereList(name string, items []string, maxLen int) *apiError {
	if len(items) == 0 {
		return malformed("#/"+name, "expected minItems: 1, actual: 0")
	}
	if len(items) > cohereMaxInputs {
		return malformed("#/"+name, "expected maxItems: %d, actual: %d", cohereMaxInputs, len(items))
	}
	for i, s := range items {
		if maxLen > 0 && len(s) > maxLen {
			return malformed(fmt.Sprintf("#/%s/%d", name, i), "expected maxLength: %d, actual: %d", maxLen, len(s))
		}
		if name == "images" && !strings.HasPrefix(s, "data:image/") {
			return malformed(fmt.Sprintf("#/%s/%d", name, i), "expected a data URI (data:image/<type>;base64,...)")
		}
	}
	return nil
}

func cohereV3(body []byte) (*embedJob, *apiError) {
	var req cohereV3Request
	if err := decodeNative(body, &req); err != nil {
		return nil, err
	}
	if req.InputType == nil {
		return nil, required("input_type")
	}
	if err := enumCheck("#/input_type", req.InputType, "search_document", "search_query", "classification", "clustering", "image"); err != nil {
		return nil, err
	}
	if err := enumCheck("#/truncate", req.Truncate, "NONE", "START", "END"); err != nil {
		return nil, err
	}
	types, aerr := cohereTypes(req.EmbeddingTypes)
	if aerr != nil {
		return nil, aerr
	}
	var inputs []string
	switch {
	case req.Texts != nil && req.Images != nil:
		return nil, validation("Malformed input request: #: only one of [texts, images] may be set, please reformat your input and try again.")
	case req.Images != nil:
		if len(req.Images) > 1 {
			return nil, malformed("#/images", "expected maxItems: 1, actual: %d", len(req.Images))
		}
		if err := cohereList("images", req.Images, 0); err != nil {
			return nil, err
		}
		inputs = req.Images
	case req.Texts != nil:
		if err := cohereList("texts", req.Texts, 2048); err != nil {
			return nil, err
		}
		inputs = req.Texts
	default:
		return nil, required("texts")
	}
	return cohereJob("cohere-v3", inputs, req.Texts, types, 1024, req.EmbeddingTypes == nil), nil
}

func cohereV4(body []byte) (*embedJob, *apiError) {
	var req cohereV4Request
	if err := decodeNative(body, &req); err != nil {
		return nil, err
	}
	if req.InputType == nil {
		return nil, required("input_type")
	}
	if err := enumCheck("#/input_type", req.InputType, "search_document", "search_query", "classification", "clustering"); err != nil {
		return nil, err
	}
	if err := enumCheck("#/truncate", req.Truncate, "NONE", "LEFT", "RIGHT"); err != nil {
		return nil, err
	}
	dim := 1536
	if req.OutputDimension != nil {
		if !slices.Contains([]int{256, 512, 1024, 1536}, *req.OutputDimension) {
			return nil, malformed("#/output_dimension", "%d is not a valid enum value", *req.OutputDimension)
		}
		dim = *req.OutputDimension
	}
	if req.MaxTokens != nil && *req.MaxTokens < 1 {
		return nil, malformed("#/max_tokens", "%d is not greater or equal to 1", *req.MaxTokens)
	}
	types, aerr := cohereTypes(req.EmbeddingTypes)
	if aerr != nil {
		return nil, aerr
	}
	if types == nil {
		types = []string{"float"}
	}
	set := 0
	for _, present := range []bool{req.Texts != nil, req.Images != nil, req.Inputs != nil} {
		if present {
			set++
		}
	}
	if set != 1 {
		return nil, validation("Malformed input request: #: exactly one of [texts, images, inputs] must be set, please reformat your input and try again.")
	}
	var inputs []string
	switch {
	case req.Texts != nil:
		if err := cohereList("texts", req.Texts, 0); err != nil {
			return nil, err
		}
		inputs = req.Texts
	case req.Images != nil:
		if err := cohereList("images", req.Images, 0); err != nil {
			return nil, err
		}
		inputs = req.Images
	default:
		if len(req.Inputs) == 0 || len(req.Inputs) > cohereMaxInputs {
			return nil, malformed("#/inputs", "expected between 1 and %d items, actual: %d", cohereMaxInputs, len(req.Inputs))
		}
		for i, in := range req.Inputs {
			var parts []string
			for j, c := range in.Content {
				at := fmt.Sprintf("#/inputs/%d/content/%d", i, j)
				switch {
				case c.Type == "text" && c.Text != nil:
					parts = append(parts, *c.Text)
				case c.Type == "image_url" && c.ImageURL != nil:
					parts = append(parts, *c.ImageURL)
				default:
					return nil, malformed(at, "expected {\"type\":\"text\",\"text\":...} or {\"type\":\"image_url\",\"image_url\":...}")
				}
			}
			if len(parts) == 0 {
				return nil, malformed(fmt.Sprintf("#/inputs/%d/content", i), "expected minItems: 1, actual: 0")
			}
			inputs = append(inputs, strings.Join(parts, "\n"))
		}
	}
	return cohereJob("cohere-v4", inputs, req.Texts, types, dim, false), nil
}

// cohereJob embeds inputs; floatsOnly selects the legacy embeddings_floats
// response shape (Embed v3 without embedding_types).
func cohereJob(family string, inputs, texts, types []string, dim int, floatsOnly bool) *embedJob {
	return &embedJob{inputs: inputs, tokens: textTokens(inputs...), respond: func() any {
		vecs := make([][]float32, len(inputs))
		for i, in := range inputs {
			vecs[i] = embedding(family, in, dim, true)
		}
		out := map[string]any{"id": responseID(inputs), "texts": nonNil(texts)}
		if floatsOnly {
			out["response_type"] = "embeddings_floats"
			out["embeddings"] = vecs
			return out
		}
		byType := map[string]any{}
		for _, t := range types {
			byType[t] = quantize(vecs, t)
		}
		out["response_type"] = "embeddings_by_type"
		out["embeddings"] = byType
		return out
	}}
}

// quantize converts float vectors to a Cohere embedding type: int8/uint8
// scale by the largest component; binary/ubinary pack sign bits, 8 a byte.
func quantize(vecs [][]float32, typ string) any {
	if typ == "float" {
		return vecs
	}
	out := make([][]int, len(vecs))
	for i, v := range vecs {
		switch typ {
		case "int8", "uint8":
			var peak float64
			for _, f := range v {
				peak = max(peak, math.Abs(float64(f)))
			}
			q := make([]int, len(v))
			for j, f := range v {
				q[j] = int(math.Round(float64(f) / peak * 127))
				if typ == "uint8" {
					q[j] += 128
				}
			}
			out[i] = q
		default: // binary, ubinary
			q := make([]int, len(v)/8)
			for j := range q {
				var b int
				for k := range 8 {
					if v[j*8+k] > 0 {
						b |= 1 << (7 - k)
					}
				}
				if typ == "binary" {
					b -= 128
				}
				q[j] = b
			}
			out[i] = q
		}
	}
	return out
}

// Nova Multimodal Embeddings.

type novaRequest struct {
	SchemaVersion            *string           `json:"schemaVersion"`
	TaskType                 *string           `json:"taskType"`
	SingleEmbeddingParams    *novaSingleParams `json:"singleEmbeddingParams"`
	SegmentedEmbeddingParams map[string]any    `json:"segmentedEmbeddingParams"`
}

type novaSingleParams struct {
	EmbeddingPurpose   *string    `json:"embeddingPurpose"`
	EmbeddingDimension *int       `json:"embeddingDimension"`
	Text               *novaText  `json:"text"`
	Image              *novaImage `json:"image"`
	Audio              *novaAudio `json:"audio"`
	Video              *novaVideo `json:"video"`
}

type novaText struct {
	TruncationMode *string     `json:"truncationMode"`
	Value          *string     `json:"value"`
	Source         *novaSource `json:"source"`
}

type novaImage struct {
	DetailLevel string      `json:"detailLevel"`
	Format      string      `json:"format"`
	Source      *novaSource `json:"source"`
}

type novaAudio struct {
	Format string      `json:"format"`
	Source *novaSource `json:"source"`
}

type novaVideo struct {
	Format        string      `json:"format"`
	Source        *novaSource `json:"source"`
	EmbeddingMode string      `json:"embeddingMode"`
}

type novaSource struct {
	Bytes      string      `json:"bytes"`
	S3Location *s3Location `json:"s3Location"`
}

// novaMaxTokens is Nova Multimodal Embeddings' text limit.
const novaMaxTokens = 8192

func novaEmbed(body []byte) (*embedJob, *apiError) {
	var req novaRequest
	if err := decodeNative(body, &req); err != nil {
		return nil, err
	}
	if err := enumCheck("#/schemaVersion", req.SchemaVersion, "nova-multimodal-embed-v1"); err != nil {
		return nil, err
	}
	if req.TaskType == nil {
		return nil, required("taskType")
	}
	if *req.TaskType == "SEGMENTED_EMBEDDING" {
		return nil, validation("The SEGMENTED_EMBEDDING task type is only supported by StartAsyncInvoke. Use SINGLE_EMBEDDING with InvokeModel.")
	}
	if err := enumCheck("#/taskType", req.TaskType, "SINGLE_EMBEDDING"); err != nil {
		return nil, err
	}
	p := req.SingleEmbeddingParams
	if p == nil {
		return nil, required("singleEmbeddingParams")
	}
	if p.EmbeddingPurpose == nil {
		return nil, malformed("#/singleEmbeddingParams", "required key [embeddingPurpose] not found")
	}
	if err := enumCheck("#/singleEmbeddingParams/embeddingPurpose", p.EmbeddingPurpose, "GENERIC_INDEX", "GENERIC_RETRIEVAL",
		"TEXT_RETRIEVAL", "IMAGE_RETRIEVAL", "VIDEO_RETRIEVAL", "DOCUMENT_RETRIEVAL", "AUDIO_RETRIEVAL", "CLASSIFICATION", "CLUSTERING"); err != nil {
		return nil, err
	}
	dim := 3072
	if p.EmbeddingDimension != nil {
		if !slices.Contains([]int{256, 384, 1024, 3072}, *p.EmbeddingDimension) {
			return nil, malformed("#/singleEmbeddingParams/embeddingDimension", "%d is not a valid enum value", *p.EmbeddingDimension)
		}
		dim = *p.EmbeddingDimension
	}
	var kind, input string
	set := 0
	if t := p.Text; t != nil {
		set++
		kind = "TEXT"
		if t.TruncationMode == nil {
			return nil, malformed("#/singleEmbeddingParams/text", "required key [truncationMode] not found")
		}
		if err := enumCheck("#/singleEmbeddingParams/text/truncationMode", t.TruncationMode, "START", "END", "NONE"); err != nil {
			return nil, err
		}
		switch {
		case t.Value != nil && t.Source == nil:
			input = *t.Value
		case t.Source != nil && t.Value == nil:
			input = t.Source.Bytes
			if t.Source.S3Location != nil {
				input = t.Source.S3Location.URI
			}
		default:
			return nil, malformed("#/singleEmbeddingParams/text", "exactly one of [value, source] must be set")
		}
		if input == "" {
			return nil, malformed("#/singleEmbeddingParams/text/value", "expected minLength: 1, actual: 0")
		}
		if *t.TruncationMode == "NONE" && textTokens(input) > novaMaxTokens {
			return nil, validation("The input text is %d tokens long, more than the %d the model accepts. Shorten it or set truncationMode to START or END.", textTokens(input), novaMaxTokens)
		}
	}
	type medium struct {
		kind, format string
		source       *novaSource
		formats      []string
	}
	var media []medium
	if v := p.Image; v != nil {
		media = append(media, medium{"IMAGE", v.Format, v.Source, []string{"png", "jpeg", "gif", "webp"}})
	}
	if v := p.Audio; v != nil {
		media = append(media, medium{"AUDIO", v.Format, v.Source, []string{"mp3", "wav", "ogg"}})
	}
	if v := p.Video; v != nil {
		media = append(media, medium{"VIDEO", v.Format, v.Source, []string{"mp4", "mov", "mkv", "webm", "flv", "mpeg", "mpg", "wmv", "3gp"}})
	}
	for _, m := range media {
		set++
		kind = m.kind
		at := "#/singleEmbeddingParams/" + strings.ToLower(m.kind)
		if err := enumCheck(at+"/format", &m.format, m.formats...); err != nil {
			return nil, err
		}
		if m.source == nil || m.source.Bytes == "" && m.source.S3Location == nil {
			return nil, malformed(at, "required key [source] not found")
		}
		input = m.source.Bytes
		if m.source.S3Location != nil {
			input = m.source.S3Location.URI
		}
	}
	if set != 1 {
		return nil, validation("Malformed input request: #/singleEmbeddingParams: exactly one of [text, image, audio, video] must be set, please reformat your input and try again.")
	}
	tokens := textTokens(input)
	return &embedJob{inputs: []string{input}, tokens: tokens, respond: func() any {
		return map[string]any{"embeddings": []map[string]any{{"embeddingType": kind, "embedding": embedding("nova-mme", input, dim, true)}}}
	}}, nil
}
