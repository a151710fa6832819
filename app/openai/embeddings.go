package openai

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// EmbeddingRequest is the body of POST /v1/embeddings.
type EmbeddingRequest struct {
	Model string         `json:"model"`
	Input EmbeddingInput `json:"input"`
	// EncodingFormat is "float" (default) or "base64".
	EncodingFormat string `json:"encoding_format,omitempty"`
	// Dimensions asks for a shorter vector where the model supports it.
	Dimensions *int   `json:"dimensions,omitempty"`
	User       string `json:"user,omitempty"`
	// InputType is a gateway extension for Cohere and Nova models
	// (search_document, search_query, classification, clustering); clients
	// send it through extra_body.
	InputType string `json:"input_type,omitempty"`
}

// EmbeddingInput is the `input` of an embeddings request, which OpenAI
// accepts as a string, an array of strings, an array of token ids, or an
// array of token-id arrays. Exactly one of Texts and Tokens is set after
// decoding a present, non-null value.
type EmbeddingInput struct {
	// Texts holds the string forms (a single string becomes one element).
	Texts []string
	// Tokens holds the token-array forms (a single array becomes one element).
	Tokens [][]int
	// Set reports whether the field was present and not null.
	Set bool
}

// Len is the number of inputs.
func (in EmbeddingInput) Len() int { return len(in.Texts) + len(in.Tokens) }

// ErrEmbeddingInput is returned (wrapped) for an input of any other shape.
var ErrEmbeddingInput = errors.New("input must be a string, an array of strings, an array of integers, or an array of integer arrays")

// UnmarshalJSON decodes the four accepted shapes.
func (in *EmbeddingInput) UnmarshalJSON(b []byte) error {
	*in = EmbeddingInput{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return nil
	}
	in.Set = true
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		in.Texts = []string{s}
		return nil
	case '[':
	default:
		return ErrEmbeddingInput
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	if len(items) == 0 {
		in.Texts = []string{}
		return nil
	}
	switch first := bytes.TrimSpace(items[0]); {
	case len(first) > 0 && first[0] == '"':
		in.Texts = make([]string, len(items))
		for i, it := range items {
			if err := json.Unmarshal(it, &in.Texts[i]); err != nil || !isJSONString(it) {
				return fmt.Errorf("input[%d]: %w", i, ErrEmbeddingInput)
			}
		}
	case len(first) > 0 && first[0] == '[':
		in.Tokens = make([][]int, len(items))
		for i, it := range items {
			tokens, err := decodeTokens(it)
			if err != nil {
				return fmt.Errorf("input[%d]: %w", i, err)
			}
			in.Tokens[i] = tokens
		}
	default:
		tokens, err := decodeTokens(b)
		if err != nil {
			return err
		}
		in.Tokens = [][]int{tokens}
	}
	return nil
}

// decodeTokens decodes a JSON array of integers, rejecting nulls and other
// values encoding/json would quietly turn into 0.
func decodeTokens(b []byte) ([]int, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil || !isJSONArray(b) {
		return nil, ErrEmbeddingInput
	}
	tokens := make([]int, len(items))
	for i, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) == 0 || !(it[0] == '-' || it[0] >= '0' && it[0] <= '9') {
			return nil, ErrEmbeddingInput
		}
		n, err := strconv.Atoi(string(it))
		if err != nil {
			return nil, ErrEmbeddingInput
		}
		tokens[i] = n
	}
	return tokens, nil
}

// MarshalJSON encodes the input in its most compact accepted shape.
func (in EmbeddingInput) MarshalJSON() ([]byte, error) {
	switch {
	case !in.Set:
		return []byte("null"), nil
	case in.Tokens != nil:
		return json.Marshal(in.Tokens)
	case in.Texts == nil:
		return []byte("[]"), nil
	}
	return json.Marshal(in.Texts)
}

func isJSONString(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '"'
}

func isJSONArray(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '['
}

// EmbeddingResponse is the body of a successful POST /v1/embeddings.
type EmbeddingResponse struct {
	Object string         `json:"object"` // "list"
	Data   []Embedding    `json:"data"`
	Model  string         `json:"model"`
	Usage  EmbeddingUsage `json:"usage"`
}

// Embedding is one vector of an EmbeddingResponse.
type Embedding struct {
	Object    string          `json:"object"` // "embedding"
	Embedding EmbeddingVector `json:"embedding"`
	Index     int             `json:"index"`
}

// EmbeddingUsage counts the input tokens of an embeddings request.
type EmbeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// EmbeddingVector is a vector that encodes as a JSON array of numbers, or,
// when Base64 is set, as OpenAI's base64 string of little-endian float32s.
type EmbeddingVector struct {
	Floats []float32
	Base64 bool
	// JSON, when set, is the vector already in its wire form (a JSON array
	// of numbers or a base64 string) and is written as it is, Floats and
	// Base64 unused: the gateway copies Bedrock's numbers without decoding
	// them. Decoding never sets it.
	JSON []byte
}

// MarshalJSON encodes the vector as numbers or as a base64 string.
func (v EmbeddingVector) MarshalJSON() ([]byte, error) {
	if v.JSON != nil {
		return v.JSON, nil
	}
	if v.Base64 {
		raw := make([]byte, 4*len(v.Floats))
		for i, f := range v.Floats {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
		out := make([]byte, 0, base64.StdEncoding.EncodedLen(len(raw))+2)
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, raw)
		return append(out, '"'), nil
	}
	out := make([]byte, 0, 2+len(v.Floats)*12)
	out = append(out, '[')
	for i, f := range v.Floats {
		if i > 0 {
			out = append(out, ',')
		}
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, fmt.Errorf("embedding[%d] is not a finite number", i)
		}
		out = strconv.AppendFloat(out, float64(f), 'g', -1, 32)
	}
	return append(out, ']'), nil
}

// UnmarshalJSON decodes either form; a string is decoded from base64.
func (v *EmbeddingVector) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("decode base64 embedding: %w", err)
		}
		if len(raw)%4 != 0 {
			return fmt.Errorf("decode base64 embedding: %d bytes is not a whole number of float32s", len(raw))
		}
		v.Base64 = true
		v.Floats = make([]float32, len(raw)/4)
		for i := range v.Floats {
			v.Floats[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return nil
	}
	v.Base64 = false
	return json.Unmarshal(b, &v.Floats)
}

// AppendJSON appends r as JSON, what json.Marshal(r) writes but for any
// white space inside a vector's JSON, without encoding/json's second pass
// over each vector's bytes (it checks and compacts whatever a MarshalJSON
// method returns): vectors are most of an embeddings response.
func (r *EmbeddingResponse) AppendJSON(dst []byte) ([]byte, error) {
	size := 128 + len(r.Model)
	for _, d := range r.Data {
		size += 64 + len(d.Embedding.JSON)
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, `{"object":`...)
	dst = appendString(dst, r.Object)
	dst = append(dst, `,"data":[`...)
	for i, d := range r.Data {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"object":`...)
		dst = appendString(dst, d.Object)
		dst = append(dst, `,"embedding":`...)
		v, err := d.Embedding.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("data[%d]: %w", i, err)
		}
		dst = append(dst, v...)
		dst = append(dst, `,"index":`...)
		dst = strconv.AppendInt(dst, int64(d.Index), 10)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"model":`...)
	dst = appendString(dst, r.Model)
	dst = append(dst, `,"usage":{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, int64(r.Usage.PromptTokens), 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, int64(r.Usage.TotalTokens), 10)
	return append(dst, "}}"...), nil
}

// appendString appends s as a JSON string, escaped as encoding/json does.
func appendString(dst []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
