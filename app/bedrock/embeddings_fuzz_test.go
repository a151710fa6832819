package bedrock

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
)

// FuzzEmbeddingVector checks the vector scanner against encoding/json: a
// vector passes checkVector exactly when encoding/json reads it as a
// non-empty array of JSON numbers, with the same count, and the base64 form
// of a vector that passes holds four bytes per number. Nothing panics.
func FuzzEmbeddingVector(f *testing.F) {
	for _, s := range []string{`[0.1,-0.2,3]`, `[ 1e-3 , -0 , 2E+5 ]`, `[]`, `[1,]`, `[01]`, `[1.]`, `["1"]`,
		`[1] x`, `[-]`, `[1e400]`, `[[1]]`, `{"a":1}`, ` [0.5]`, `[1 2]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		n, err := checkVector(v)
		var nums []any
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		jerr := dec.Decode(&nums)
		if jerr == nil && dec.More() {
			jerr = errVector // trailing data after the array
		}
		if jerr == nil {
			var rest bytes.Buffer
			_, _ = rest.ReadFrom(dec.Buffered())
			if len(bytes.TrimSpace(rest.Bytes())) > 0 {
				jerr = errVector
			}
		}
		for _, x := range nums {
			if _, ok := x.(json.Number); !ok {
				jerr = errVector // a string, an array, ...: not a number
			}
		}
		jsonOK := jerr == nil && len(nums) > 0 && json.Valid(v)
		if (err == nil) != jsonOK {
			t.Fatalf("checkVector(%q) = %d, %v; encoding/json reads %d numbers, %v", v, n, err, len(nums), jerr)
		}
		if err != nil {
			return
		}
		if n != len(nums) {
			t.Fatalf("checkVector(%q) counts %d numbers, encoding/json %d", v, n, len(nums))
		}
		out, err := appendBase64Vector(nil, v)
		if err != nil {
			return // a number beyond float32: refused, not panicked
		}
		raw, derr := base64.StdEncoding.DecodeString(string(bytes.Trim(out, `"`)))
		if derr != nil || len(raw) != 4*n {
			t.Fatalf("base64 form of %q is %q: %d bytes (%v), want %d", v, out, len(raw), derr, 4*n)
		}
	})
}
