// Package openaitest checks that gateway output conforms to the official
// OpenAI OpenAPI schemas, so "OpenAI-compatible" is tested, not assumed.
//
// testdata/openai-openapi-subset.json holds the needed components, extracted
// from openai/openai-openapi openapi.yaml at commit
// f85dbe223d40e1a31cba812ab2d755c7e98a92a3 (see the file's info.description).
package openaitest

import (
	_ "embed"
	"encoding/json"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed testdata/openai-openapi-subset.json
var spec []byte

var loadSpec = sync.OnceValues(func() (*openapi3.T, error) {
	return openapi3.NewLoader().LoadFromData(spec)
})

// Component names used by the gateway's tests.
const (
	ChatCompletion      = "CreateChatCompletionResponse"
	ChatCompletionChunk = "CreateChatCompletionStreamResponse"
	EmbeddingResponse   = "CreateEmbeddingResponse"
	ModelList           = "ListModelsResponse"
	Model               = "Model"
	ErrorResponse       = "ErrorResponse"
	Response            = "Response"
	ResponseStreamEvent = "ResponseStreamEvent"
	ResponseItemList    = "ResponseItemList"
	InputTokens         = "TokenCountsResource"
)

// Validate fails tb when body (JSON) does not conform to the named schema component.
func Validate(tb testing.TB, component string, body []byte) {
	tb.Helper()
	if err := Check(component, body); err != nil {
		tb.Errorf("%s does not conform to the OpenAI schema: %v\nbody: %s", component, err, body)
	}
}

// Check reports whether body (JSON) conforms to the named schema component.
func Check(component string, body []byte) error {
	doc, err := loadSpec()
	if err != nil {
		return err
	}
	ref, ok := doc.Components.Schemas[component]
	if !ok || ref.Value == nil {
		return &json.UnsupportedValueError{Str: "unknown component " + component}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return ref.Value.VisitJSON(v, openapi3.MultiErrors())
}
