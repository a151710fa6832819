package openaitest

import "testing"

func TestCheckCatchesDeviations(t *testing.T) {
	tests := []struct {
		name      string
		component string
		body      string
		ok        bool
	}{
		{"valid completion", ChatCompletion, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","logprobs":null,"message":{"role":"assistant","content":"hi","refusal":null}}]}`, true},
		{"missing refusal", ChatCompletion, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","logprobs":null,"message":{"role":"assistant","content":"hi"}}]}`, false},
		{"float created", ChatCompletion, `{"id":"c","object":"chat.completion","created":1.5,"model":"m","choices":[]}`, false},
		{"valid chunk", ChatCompletionChunk, `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`, true},
		{"bad finish", ChatCompletionChunk, `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"done"}]}`, false},
		{"valid error", ErrorResponse, `{"error":{"message":"m","type":"t","param":null,"code":null}}`, true},
		{"valid text delta", ResponseStreamEvent, `{"type":"response.output_text.delta","item_id":"m","output_index":0,"content_index":0,"delta":"x","sequence_number":1,"logprobs":[]}`, true},
		{"text delta without logprobs", ResponseStreamEvent, `{"type":"response.output_text.delta","item_id":"m","output_index":0,"content_index":0,"delta":"x","sequence_number":1}`, false},
		{"valid response", Response, `{"id":"r","object":"response","created_at":1,"status":"completed","error":null,"incomplete_details":null,"instructions":null,"model":"m","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"hi","annotations":[],"logprobs":[]}]}],"parallel_tool_calls":true,"metadata":{},"tool_choice":"auto","tools":[],"temperature":1,"top_p":1}`, true},
		{"response with unknown item", Response, `{"id":"r","object":"response","created_at":1,"status":"completed","error":null,"incomplete_details":null,"instructions":null,"model":"m","output":[{"type":"bogus"}],"parallel_tool_calls":true,"metadata":{},"tool_choice":"auto","tools":[],"temperature":1,"top_p":1}`, false},
		{"reasoning without summary", Response, `{"id":"r","object":"response","created_at":1,"status":"completed","error":null,"incomplete_details":null,"instructions":null,"model":"m","output":[{"type":"reasoning","id":"rs_1"}],"parallel_tool_calls":true,"metadata":{},"tool_choice":"auto","tools":[],"temperature":1,"top_p":1}`, false},
		{"error without code", ErrorResponse, `{"error":{"message":"m","type":"t","param":null}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.component, []byte(tt.body))
			if (err == nil) != tt.ok {
				t.Errorf("Check: got err %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
