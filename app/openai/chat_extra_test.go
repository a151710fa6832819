package openai_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/openbedrock/gateway/app/openai"
)

// extraByMap is how Extra used to be collected: a second decode into a
// map. The key walk that replaced it must agree with it on every body.
func extraByMap(tb testing.TB, body string) map[string]json.RawMessage {
	tb.Helper()
	var all map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		tb.Fatalf("decode %s: %v", body, err)
	}
	var extra map[string]json.RawMessage
	for k, v := range all {
		if openai.KnownChatFields[k] {
			continue
		}
		if extra == nil {
			extra = map[string]json.RawMessage{}
		}
		extra[k] = v
	}
	return extra
}

func TestExtraMatchesMapDecode(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"no extras", `{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5}`},
		{"empty object", `{}`},
		{"null", `null`},
		{"scalars", `{"top_k":40,"flag":true,"none":null,"neg":-1.5e3,"model":"m"}`},
		{"nested values", `{"a":{"b":[1,{"c":"}]"}]},"arr":[[],[{}],"[{"],"model":"m"}`},
		{"escaped quotes and backslashes", `{"s":"a\"}{\\","t":"\\\"","model":"x\"y"}`},
		{"escaped key", `{"top\u005fk":3,"mod\u0065l":"m"}`},
		{"non-ASCII key and value", `{"tëst":"ünï","日本":[1]}`},
		{"duplicate extra key", `{"k":1,"k":2}`},
		{"whitespace everywhere", " \n{ \"k\" :\t[ 1 , 2 ] ,\r\n \"model\" : \"m\" , \"j\" : { } }\n "},
		{"known fields only", `{"extra_body":{"top_k":1},"thinking":{"type":"enabled"},"stream":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req openai.ChatCompletionRequest
			if err := json.Unmarshal([]byte(tc.body), &req); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if want := extraByMap(t, tc.body); !reflect.DeepEqual(req.Extra, want) {
				t.Errorf("Extra = %q, want %q", req.Extra, want)
			}
		})
	}
}

func TestExtraIsACopy(t *testing.T) {
	body := []byte(`{"model":"m","top_k":40}`)
	var req openai.ChatCompletionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	copy(body[len(body)-3:], "99")
	if got := string(req.Extra["top_k"]); got != "40" {
		t.Errorf("Extra aliases the request body: got %s after it changed, want 40", got)
	}
}

func TestInvalidRequestsStillFail(t *testing.T) {
	for _, body := range []string{`{"model":`, `{"model":"m",}`, `[1]`, `{"messages":"x"}`} {
		var req openai.ChatCompletionRequest
		if err := json.Unmarshal([]byte(body), &req); err == nil {
			t.Errorf("%s decoded without error", body)
		}
	}
}
