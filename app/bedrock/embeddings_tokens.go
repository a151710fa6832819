package bedrock

import (
	"bytes"
	_ "embed" // cl100k_base.tiktoken
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/pkoukk/tiktoken-go"
)

// cl100kRanks is OpenAI's cl100k_base.tiktoken (each line: a token's bytes
// in base64, a space, its rank), as published at
// https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken
// (sha256 223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7,
// the hash OpenAI's tiktoken checks; MIT licence). Only this encoding is
// embedded: a loader package embedding every encoding made the binary 5 MB
// larger.
//
//go:embed cl100k_base.tiktoken
var cl100kRanks []byte

// Tokenizer decodes and counts OpenAI cl100k_base tokens. LangChain's
// OpenAIEmbeddings sends token arrays by default, and Bedrock wants text.
//
// The BPE ranks are embedded in the binary, so nothing is downloaded.
// Loading them takes far longer than the gateway's whole start-up, so it
// happens on first use, once. The encoding is built here rather than
// through tiktoken.GetEncoding so that no package-level loader setting is
// needed and no code path can fall back to downloading.
type Tokenizer struct {
	once   sync.Once
	enc    *tiktoken.Tiktoken
	nRanks int
	err    error
}

// NewTokenizer returns a tokenizer that loads cl100k_base on first use.
func NewTokenizer() *Tokenizer { return &Tokenizer{} }

// cl100k_base's split pattern and special tokens, as in tiktoken-go
// v0.1.8 encoding.go (from OpenAI's tiktoken openai_public.py).
const cl100kPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

var cl100kSpecial = map[string]int{
	"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
	"<|fim_suffix|>": 100260, "<|endofprompt|>": 100276,
}

// Load loads the encoding if it is not loaded yet.
func (t *Tokenizer) Load() error {
	t.once.Do(func() {
		ranks, err := parseRanks(cl100kRanks)
		if err != nil {
			t.err = fmt.Errorf("load cl100k_base: %w", err)
			return
		}
		special := make(map[string]int, len(cl100kSpecial))
		set := make(map[string]any, len(cl100kSpecial))
		for k, v := range cl100kSpecial {
			special[k], set[k] = v, true
		}
		bpe, err := tiktoken.NewCoreBPE(ranks, special, cl100kPattern)
		if err != nil {
			t.err = fmt.Errorf("build cl100k_base: %w", err)
			return
		}
		enc := &tiktoken.Encoding{Name: tiktoken.MODEL_CL100K_BASE, PatStr: cl100kPattern, MergeableRanks: ranks, SpecialTokens: special}
		t.enc, t.nRanks = tiktoken.NewTiktoken(bpe, enc, set), len(ranks)
	})
	return t.err
}

// valid reports whether id is a cl100k_base token.
func (t *Tokenizer) valid(id int) bool {
	if id >= 0 && id < t.nRanks {
		return true
	}
	for _, v := range cl100kSpecial {
		if v == id {
			return true
		}
	}
	return false
}

// Decode turns token ids back into text. It rejects ids that are not
// cl100k_base tokens rather than dropping them.
func (t *Tokenizer) Decode(tokens []int) (string, error) {
	if err := t.Load(); err != nil {
		return "", err
	}
	for i, id := range tokens {
		if !t.valid(id) {
			return "", &tokenError{index: i, id: id}
		}
	}
	return t.enc.Decode(tokens), nil
}

// Count returns the number of cl100k_base tokens in text. It is an estimate
// for models with another tokenizer.
func (t *Tokenizer) Count(text string) (int, error) {
	if err := t.Load(); err != nil {
		return 0, err
	}
	if strings.TrimSpace(text) == "" {
		return 0, nil
	}
	return len(t.enc.EncodeOrdinary(text)), nil
}

// tokenError names an id that is not a cl100k_base token.
type tokenError struct{ index, id int }

func (e *tokenError) Error() string {
	return fmt.Sprintf("token %d at position %d is not a cl100k_base token", e.id, e.index)
}

// parseRanks reads a .tiktoken file: one "base64-token rank" pair a line.
func parseRanks(data []byte) (map[string]int, error) {
	ranks := make(map[string]int, bytes.Count(data, []byte("\n"))+1)
	for n, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		tok, rank, ok := bytes.Cut(line, []byte(" "))
		if !ok {
			return nil, fmt.Errorf("line %d: no rank", n+1)
		}
		b, err := base64.StdEncoding.DecodeString(string(tok))
		if err != nil {
			return nil, fmt.Errorf("line %d: token: %w", n+1, err)
		}
		r, err := strconv.Atoi(string(rank))
		if err != nil {
			return nil, fmt.Errorf("line %d: rank: %w", n+1, err)
		}
		ranks[string(b)] = r
	}
	return ranks, nil
}
