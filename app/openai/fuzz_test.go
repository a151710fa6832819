package openai

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzChatRequest checks the chat decoder and its key walker (eachMember)
// against encoding/json: whatever the body, no panic, and for a body that
// decodes, Extra holds exactly the unknown top-level keys with their raw
// values (the last of a repeated key), as a map decode sees them.
func FuzzChatRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"top_k":40,"extra_body":{"x":1}}`))
	f.Add([]byte(`{"a":1,"a":2,"\u006dodel":"m","b\"c":[{"d":"}"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req ChatCompletionRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return
		}
		var all map[string]json.RawMessage
		if err := json.Unmarshal(body, &all); err != nil {
			if len(req.Extra) > 0 {
				t.Fatalf("extra keys %v from a body that is not an object", req.Extra)
			}
			return
		}
		want := 0
		for k, v := range all {
			if KnownChatFields[k] {
				continue
			}
			want++
			if got, ok := req.Extra[k]; !ok || !bytes.Equal(got, v) {
				t.Fatalf("key %q: Extra has %q (%v), want %q", k, got, ok, v)
			}
		}
		if len(req.Extra) != want {
			t.Fatalf("Extra has %d keys, want %d", len(req.Extra), want)
		}
	})
}

// FuzzEmbeddingRequest: the embeddings decoder never panics, and a decoded
// request encodes again.
func FuzzEmbeddingRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","input":["a","b"],"dimensions":256}`))
	f.Add([]byte(`{"input":[[1,2,3],[4]],"encoding_format":"base64"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req EmbeddingRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return
		}
		if _, err := json.Marshal(req); err != nil {
			t.Fatalf("a decoded request does not encode: %v", err)
		}
	})
}
