package bedrock

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// FuzzTranslate: any request the chat decoder accepts translates or fails
// with a RequestError (a 400 to the client), never panics, and a
// translation starts with a user turn, as Bedrock requires.
func FuzzTranslate(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"assistant","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]}],"n":2}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"required","thinking":{"type":"enabled","budget_tokens":2048}}`))
	f.Add([]byte(`{"messages":[{"role":"tool","tool_call_id":"1","content":"r"}],"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"array"}}}}`))
	tr := &Translator{Media: NewMediaFetcher(MediaOptions{}), PromptCaching: true}
	models := []Model{{ID: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}, {ID: "meta.llama3-1-8b-instruct-v1:0"}, {ID: "deepseek.r1-v1:0"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req openai.ChatCompletionRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return
		}
		for _, m := range models {
			call, err := tr.Translate(context.Background(), &req, m)
			if err != nil {
				var re *RequestError
				if !errors.As(err, &re) {
					t.Fatalf("%s: error %T %v is not a RequestError", m.ID, err, err)
				}
				continue
			}
			if len(call.Input.Messages) == 0 || call.Input.Messages[0].Role != types.ConversationRoleUser {
				t.Fatalf("%s: translation does not start with a user turn", m.ID)
			}
		}
	})
}
