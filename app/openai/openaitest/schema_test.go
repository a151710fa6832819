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
