package openai_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/openbedrock/gateway/app/openai"
	"github.com/openbedrock/gateway/app/openai/openaitest"
)

func TestEmbeddingInputShapes(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		texts  []string
		tokens [][]int
		set    bool
	}{
		{"string", `"hello"`, []string{"hello"}, nil, true},
		{"strings", `["a", "b"]`, []string{"a", "b"}, nil, true},
		{"empty array", `[]`, []string{}, nil, true},
		{"tokens", `[1, 2, 3]`, nil, [][]int{{1, 2, 3}}, true},
		{"token arrays", `[[1, 2], [3]]`, nil, [][]int{{1, 2}, {3}}, true},
		{"null", `null`, nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req openai.EmbeddingRequest
			if err := json.Unmarshal([]byte(`{"model":"m","input":`+tt.json+`}`), &req); err != nil {
				t.Fatal(err)
			}
			in := req.Input
			if in.Set != tt.set || !reflect.DeepEqual(in.Texts, tt.texts) || !reflect.DeepEqual(in.Tokens, tt.tokens) {
				t.Errorf("got set=%v texts=%q tokens=%v, want set=%v texts=%q tokens=%v", in.Set, in.Texts, in.Tokens, tt.set, tt.texts, tt.tokens)
			}
		})
	}
}

func TestEmbeddingInputRejects(t *testing.T) {
	for _, bad := range []string{`1`, `true`, `{"a":1}`, `["a", 1]`, `[1, "a"]`, `[null]`, `[1.5]`, `[[1], "a"]`, `[[1, null]]`, `[["a"]]`} {
		var req openai.EmbeddingRequest
		err := json.Unmarshal([]byte(`{"input":`+bad+`}`), &req)
		if !errors.Is(err, openai.ErrEmbeddingInput) {
			t.Errorf("input %s: got %v, want ErrEmbeddingInput", bad, err)
		}
	}
}

func TestEmbeddingVectorBase64RoundTrip(t *testing.T) {
	floats := []float32{0, 1, -1, 0.1, 3.4028235e38, 1e-45, -0.33333334}
	b, err := json.Marshal(openai.EmbeddingVector{Floats: floats, Base64: true})
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("base64 form is not a JSON string: %s", b)
	}
	var back openai.EmbeddingVector
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Base64 || !reflect.DeepEqual(back.Floats, floats) {
		t.Errorf("round trip: got %v, want %v", back.Floats, floats)
	}
	// OpenAI's encoding: little-endian float32; 1.0 is 00 00 80 3f.
	one, _ := json.Marshal(openai.EmbeddingVector{Floats: []float32{1}, Base64: true})
	if string(one) != `"AACAPw=="` {
		t.Errorf("base64 of [1]: got %s, want \"AACAPw==\"", one)
	}

	b, err = json.Marshal(openai.EmbeddingVector{Floats: floats})
	if err != nil {
		t.Fatal(err)
	}
	var plain []float32
	if err := json.Unmarshal(b, &plain); err != nil || !reflect.DeepEqual(plain, floats) {
		t.Errorf("float form %s: got %v, %v", b, plain, err)
	}
	if _, err := json.Marshal(openai.EmbeddingVector{Floats: []float32{float32(math.NaN())}}); err == nil {
		t.Error("NaN marshalled without error")
	}
}

func TestEmbeddingResponseMatchesSchema(t *testing.T) {
	resp := openai.EmbeddingResponse{Object: "list", Model: "cohere.embed-v4:0",
		Data:  []openai.Embedding{{Object: "embedding", Index: 0, Embedding: openai.EmbeddingVector{Floats: []float32{0.5, -0.25}}}},
		Usage: openai.EmbeddingUsage{PromptTokens: 3, TotalTokens: 3}}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	openaitest.Validate(t, openaitest.EmbeddingResponse, b)
	// The spec types `embedding` as an array only, although OpenAI answers
	// encoding_format=base64 with a string; so that form is not validated.
}
