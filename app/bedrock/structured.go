package bedrock

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// nativeFormat returns Converse's native structured output
// (outputConfig.textFormat) for a json_schema response format on a model
// that has it, so the answer is plain JSON text in the schema. It returns
// nil for other formats, other models and non-object schemas, which keep
// the forced-tool method.
func nativeFormat(rf *openai.ResponseFormat, q quirks) (*types.OutputConfig, error) {
	if rf == nil || rf.Type != "json_schema" || rf.JSONSchema == nil || !q.structured {
		return nil, nil
	}
	js := rf.JSONSchema
	if !toolNameRE.MatchString(js.Name) {
		return nil, badRequest("response_format.json_schema.name", "response_format.json_schema.name must match ^[a-zA-Z0-9_-]{1,64}$")
	}
	schema, err := schemaDoc(js.Schema)
	if err != nil {
		return nil, badRequest("response_format.json_schema.schema", "response_format.json_schema.schema %v", err)
	}
	if schema["type"] != "object" {
		return nil, nil
	}
	raw, err := json.Marshal(schema)
	if err != nil {
		return nil, badRequest("response_format.json_schema.schema", "response_format.json_schema.schema: %v", err)
	}
	def := types.JsonSchemaDefinition{Name: aws.String(js.Name), Schema: aws.String(string(raw))}
	if js.Description != "" {
		def.Description = aws.String(js.Description)
	}
	return &types.OutputConfig{TextFormat: &types.OutputFormat{Type: types.OutputFormatTypeJsonSchema,
		Structure: &types.OutputFormatStructureMemberJsonSchema{Value: def}}}, nil
}
