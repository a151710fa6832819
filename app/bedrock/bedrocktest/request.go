package bedrocktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The Converse / ConverseStream request body (protocols.md §1.2). Every
// member of the SDK's schema has a field here, with the same JSON name, so
// unknown members can be rejected the way Bedrock does; schema_test.go keeps
// the two in step. Types with an isUnion method are Smithy unions: exactly
// one member must be set.

type converseRequest struct {
	Messages                          []message                 `json:"messages"`
	System                            []systemBlock             `json:"system"`
	InferenceConfig                   *inferenceConfig          `json:"inferenceConfig"`
	ToolConfig                        *toolConfig               `json:"toolConfig"`
	GuardrailConfig                   *guardrailConfig          `json:"guardrailConfig"`
	AdditionalModelRequestFields      json.RawMessage           `json:"additionalModelRequestFields"`
	PromptVariables                   map[string]promptVariable `json:"promptVariables"`
	AdditionalModelResponseFieldPaths []string                  `json:"additionalModelResponseFieldPaths"`
	RequestMetadata                   map[string]string         `json:"requestMetadata"`
	PerformanceConfig                 *performanceConfig        `json:"performanceConfig"`
	ServiceTier                       *serviceTier              `json:"serviceTier"`
	OutputConfig                      *outputConfig             `json:"outputConfig"`
}

type message struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

type contentBlock struct {
	Text             *string                `json:"text"`
	Image            *imageBlock            `json:"image"`
	Document         *documentBlock         `json:"document"`
	Video            *videoBlock            `json:"video"`
	Audio            *audioBlock            `json:"audio"`
	ToolUse          *toolUseBlock          `json:"toolUse"`
	ToolResult       *toolResultBlock       `json:"toolResult"`
	ReasoningContent *reasoningContent      `json:"reasoningContent"`
	CachePoint       *cachePointBlock       `json:"cachePoint"`
	GuardContent     *guardContent          `json:"guardContent"`
	CitationsContent *citationsContentBlock `json:"citationsContent"`
	SearchResult     *searchResultBlock     `json:"searchResult"`
	ToolAddition     *toolReferenceBlock    `json:"toolAddition"`
	ToolRemoval      *toolReferenceBlock    `json:"toolRemoval"`
}

func (contentBlock) isUnion() {}

type imageBlock struct {
	Format string       `json:"format"`
	Source *mediaSource `json:"source"`
	Error  *errorBlock  `json:"error"`
}

type videoBlock struct {
	Format string       `json:"format"`
	Source *mediaSource `json:"source"`
}

type audioBlock struct {
	Format string       `json:"format"`
	Source *mediaSource `json:"source"`
	Error  *errorBlock  `json:"error"`
}

type errorBlock struct {
	Message string `json:"message"`
}

type mediaSource struct {
	Bytes      []byte      `json:"bytes"`
	S3Location *s3Location `json:"s3Location"`
}

func (mediaSource) isUnion() {}

type s3Location struct {
	URI         string `json:"uri"`
	BucketOwner string `json:"bucketOwner"`
}

type documentBlock struct {
	Format    string           `json:"format"`
	Name      *string          `json:"name"`
	Source    *documentSource  `json:"source"`
	Context   string           `json:"context"`
	Citations *citationsConfig `json:"citations"`
}

type documentSource struct {
	Bytes      []byte         `json:"bytes"`
	Text       *string        `json:"text"`
	Content    []textOnlyItem `json:"content"`
	S3Location *s3Location    `json:"s3Location"`
}

func (documentSource) isUnion() {}

// textOnlyItem is the one-member union used by document content and citations.
type textOnlyItem struct {
	Text *string `json:"text"`
}

func (textOnlyItem) isUnion() {}

type citationsConfig struct {
	Enabled *bool `json:"enabled"`
}

type toolUseBlock struct {
	ToolUseID *string         `json:"toolUseId"`
	Name      *string         `json:"name"`
	Input     json.RawMessage `json:"input"`
	Type      string          `json:"type"`
}

type toolResultBlock struct {
	ToolUseID *string             `json:"toolUseId"`
	Content   []toolResultContent `json:"content"`
	Status    string              `json:"status"`
	Type      string              `json:"type"`
}

type toolResultContent struct {
	Text         *string            `json:"text"`
	JSON         json.RawMessage    `json:"json"`
	Image        *imageBlock        `json:"image"`
	Document     *documentBlock     `json:"document"`
	Video        *videoBlock        `json:"video"`
	SearchResult *searchResultBlock `json:"searchResult"`
}

func (toolResultContent) isUnion() {}

type reasoningContent struct {
	ReasoningText   *reasoningText `json:"reasoningText"`
	RedactedContent []byte         `json:"redactedContent"`
}

func (reasoningContent) isUnion() {}

type reasoningText struct {
	Text      string  `json:"text"`
	Signature *string `json:"signature"`
}

type cachePointBlock struct {
	Type string `json:"type"`
	TTL  string `json:"ttl"`
}

type guardContent struct {
	Text  *guardText  `json:"text"`
	Image *guardImage `json:"image"`
}

func (guardContent) isUnion() {}

type guardText struct {
	Text       string   `json:"text"`
	Qualifiers []string `json:"qualifiers"`
}

type guardImage struct {
	Format string            `json:"format"`
	Source *guardImageSource `json:"source"`
}

type guardImageSource struct {
	Bytes []byte `json:"bytes"`
}

func (guardImageSource) isUnion() {}

type citationsContentBlock struct {
	Content   []textOnlyItem `json:"content"`
	Citations []citation     `json:"citations"`
}

type citation struct {
	Title         string            `json:"title"`
	Source        string            `json:"source"`
	SourceContent []textOnlyItem    `json:"sourceContent"`
	Location      *citationLocation `json:"location"`
}

type citationLocation struct {
	Web                  *webLocation          `json:"web"`
	DocumentChar         *documentLocation     `json:"documentChar"`
	DocumentPage         *documentLocation     `json:"documentPage"`
	DocumentChunk        *documentLocation     `json:"documentChunk"`
	SearchResultLocation *searchResultLocation `json:"searchResultLocation"`
}

func (citationLocation) isUnion() {}

type webLocation struct {
	URL    string `json:"url"`
	Domain string `json:"domain"`
}

type documentLocation struct {
	DocumentIndex *int `json:"documentIndex"`
	Start         *int `json:"start"`
	End           *int `json:"end"`
}

type searchResultLocation struct {
	SearchResultIndex *int `json:"searchResultIndex"`
	Start             *int `json:"start"`
	End               *int `json:"end"`
}

type searchResultBlock struct {
	Source    string              `json:"source"`
	Title     string              `json:"title"`
	Content   []searchResultEntry `json:"content"`
	Citations *citationsConfig    `json:"citations"`
}

type searchResultEntry struct {
	Text string `json:"text"`
}

type toolReferenceBlock struct {
	Tool *toolReference `json:"tool"`
}

type toolReference struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	ServerName string `json:"serverName"`
}

type systemBlock struct {
	Text         *string          `json:"text"`
	CachePoint   *cachePointBlock `json:"cachePoint"`
	GuardContent *guardContent    `json:"guardContent"`
}

func (systemBlock) isUnion() {}

type inferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens"`
	Temperature   *float64 `json:"temperature"`
	TopP          *float64 `json:"topP"`
	StopSequences []string `json:"stopSequences"`
}

type toolConfig struct {
	Tools      []tool      `json:"tools"`
	ToolChoice *toolChoice `json:"toolChoice"`
}

type tool struct {
	ToolSpec   *toolSpec        `json:"toolSpec"`
	CachePoint *cachePointBlock `json:"cachePoint"`
	SystemTool *systemTool      `json:"systemTool"`
}

func (tool) isUnion() {}

type toolSpec struct {
	Name        *string      `json:"name"`
	Description *string      `json:"description"`
	InputSchema *inputSchema `json:"inputSchema"`
	Strict      *bool        `json:"strict"`
}

type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

func (inputSchema) isUnion() {}

type systemTool struct {
	Name string `json:"name"`
}

type toolChoice struct {
	Auto *struct{}        `json:"auto"`
	Any  *struct{}        `json:"any"`
	Tool *specificToolRef `json:"tool"`
}

func (toolChoice) isUnion() {}

type specificToolRef struct {
	Name string `json:"name"`
}

type guardrailConfig struct {
	GuardrailIdentifier string `json:"guardrailIdentifier"`
	GuardrailVersion    string `json:"guardrailVersion"`
	Trace               string `json:"trace"`
}

type promptVariable struct {
	Text *string `json:"text"`
}

func (promptVariable) isUnion() {}

type performanceConfig struct {
	Latency string `json:"latency"`
}

type serviceTier struct {
	Type string `json:"type"`
}

type outputConfig struct {
	Effort     string        `json:"effort"`
	TextFormat *outputFormat `json:"textFormat"`
}

type outputFormat struct {
	Type      string                 `json:"type"`
	Structure *outputFormatStructure `json:"structure"`
}

type outputFormatStructure struct {
	JSONSchema *jsonSchemaDefinition `json:"jsonSchema"`
}

func (outputFormatStructure) isUnion() {}

type jsonSchemaDefinition struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Schema      string `json:"schema"`
}

// union is implemented by the Smithy union types above.
type union interface{ isUnion() }

// shapeError is a body that does not fit the wire types: an unknown member,
// or a union with other than one member set.
type shapeError struct {
	path  []string
	key   string // the unknown member; empty for a union error
	union int    // number of members set, for a union error
}

// converseMessage words the error the way Bedrock does for Converse bodies.
func (e *shapeError) converseMessage() string {
	p := strings.Join(e.path, ".")
	if e.key != "" {
		k := e.key
		if p != "" {
			k = p + "." + k
		}
		return fmt.Sprintf("Malformed input request: extraneous key [%s] is not permitted, please reformat your input and try again.", k)
	}
	return fmt.Sprintf("Malformed input request: %s must set exactly one member of the union (found %d), please reformat your input and try again.", p, e.union)
}

// nativeMessage words the error the way model-native (InvokeModel) JSON
// schemas do, with a JSON pointer: "#/texts/0".
func (e *shapeError) nativeMessage() string {
	p := "#"
	for _, s := range e.path {
		p += "/" + s
	}
	if e.key != "" {
		return fmt.Sprintf("Malformed input request: %s: extraneous key [%s] is not permitted, please reformat your input and try again.", p, e.key)
	}
	return fmt.Sprintf("Malformed input request: %s: must set exactly one of its members, please reformat your input and try again.", p)
}

// decodeStrict decodes body into v after checking, case-sensitively, that
// every member is known to v's type. It returns a *shapeError for unknown
// members or bad unions, and a plain error for malformed JSON or type mismatches.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return fmt.Errorf("parse JSON: %w", err)
	}
	if dec.More() {
		return errors.New("parse JSON: trailing data after the object")
	}
	if _, ok := tree.(map[string]any); !ok {
		return errors.New("parse JSON: the body must be a JSON object")
	}
	if se := checkShape(tree, reflect.TypeOf(v), nil); se != nil {
		return se
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &typeError{field: te.Field, want: te.Type.String(), got: te.Value}
		}
		return fmt.Errorf("decode body: %w", err)
	}
	return nil
}

// typeError is a member whose JSON type does not fit the schema.
type typeError struct {
	field, want, got string
}

func (e *typeError) Error() string {
	return fmt.Sprintf("value at '%s' must be %s, not a JSON %s", e.field, strings.TrimPrefix(e.want, "*"), e.got)
}

// pointer is the field as a JSON pointer, for model-native messages.
func (e *typeError) pointer() string {
	return "#/" + strings.ReplaceAll(e.field, ".", "/")
}

func (e *shapeError) Error() string { return e.converseMessage() }

// checkShape walks a decoded JSON tree alongside the Go type it will be
// decoded into. Type mismatches are left to encoding/json.
func checkShape(v any, t reflect.Type, path []string) *shapeError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.RawMessage]() {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		set := 0
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			ft, ok := fields[k]
			if !ok {
				return &shapeError{path: path, key: k}
			}
			if obj[k] == nil {
				continue
			}
			set++
			if se := checkShape(obj[k], ft, append(path[:len(path):len(path)], k)); se != nil {
				return se
			}
		}
		if reflect.PointerTo(t).Implements(reflect.TypeFor[union]()) && set != 1 {
			return &shapeError{path: path, union: set}
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // blob
		}
		arr, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, el := range arr {
			if se := checkShape(el, t.Elem(), append(path[:len(path):len(path)], strconv.Itoa(i))); se != nil {
				return se
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if se := checkShape(obj[k], t.Elem(), append(path[:len(path):len(path)], k)); se != nil {
				return se
			}
		}
	}
	return nil
}

// jsonFields maps the JSON member names of a struct type to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}
