package bedrock

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The embedding models answer with vectors of a few thousand numbers. The
// gateway does not decode them to floats to print them again: a small
// scanner finds each vector in Bedrock's JSON and checks its shape (an
// array of JSON numbers), and the float form of the OpenAI response carries
// those bytes as they are. Only the base64 form reads each number's value,
// straight into little-endian float32 bytes.

// maxJSONDepth bounds the nesting of the values the scanner skips.
const maxJSONDepth = 64

// errJSON is the scanner's error; the parse functions add where it was.
var errJSON = errors.New("malformed JSON")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// scanString returns the end of the string starting at b[i] ('"').
func scanString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, nil
		case c == '\\':
			j++ // the escaped byte; \uXXXX's digits are plain bytes
		case c < 0x20:
			return 0, errJSON
		}
	}
	return 0, errJSON
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber returns the end of the JSON number starting at b[i], checking
// its grammar (-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?) but not its value.
func scanNumber(b []byte, i int) (int, error) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && isDigit(b[i]):
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0, errJSON
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, errJSON
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, errJSON
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

// skipValue returns the end of the JSON value starting at b[i]. Objects
// and arrays are skipped by matching brackets outside strings, without
// checking what they hold: the parse functions check the values they use.
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errJSON
	}
	switch b[i] {
	case '"':
		return scanString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := scanString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				if depth++; depth > maxJSONDepth {
					return 0, errJSON
				}
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errJSON
	case 't', 'f', 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
				return i + len(lit), nil
			}
		}
		return 0, errJSON
	}
	return scanNumber(b, i)
}

// eachMember calls fn with each member of the JSON object b (the whole of
// b, bar white space), the key as written between its quotes.
func eachMember(b []byte, fn func(key, value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return fmt.Errorf("%w: not an object", errJSON)
	}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errJSON
		}
		end, err := scanString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : end-1]
		if i = skipSpace(b, end); i >= len(b) || b[i] != ':' {
			return errJSON
		}
		start := skipSpace(b, i+1)
		if i, err = skipValue(b, start); err != nil {
			return err
		}
		if err := fn(key, b[start:i]); err != nil {
			return err
		}
		switch i = skipSpace(b, i); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return trailing(b, i+1)
		default:
			return errJSON
		}
	}
}

// eachElement calls fn with each element of the JSON array b, which
// skipValue has already checked.
func eachElement(b []byte, fn func(value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return fmt.Errorf("%w: not an array", errJSON)
	}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == ']' {
		return nil
	}
	for {
		end, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if err := fn(b[i:end]); err != nil {
			return err
		}
		switch i = skipSpace(b, end); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return nil
		default:
			return errJSON
		}
	}
}

func trailing(b []byte, i int) error {
	if skipSpace(b, i) != len(b) {
		return fmt.Errorf("%w: data after the value", errJSON)
	}
	return nil
}

// errVector says what is wrong with a vector.
var errVector = errors.New("the embedding is not a non-empty array of numbers")

// checkVector checks that v is a non-empty JSON array of numbers and
// returns how many it holds.
func checkVector(v []byte) (int, error) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return 0, errVector
	}
	n := 0
	i = skipSpace(v, i+1)
	for {
		end, err := scanNumber(v, i)
		if err != nil {
			return 0, errVector
		}
		n++
		switch i = skipSpace(v, end); {
		case i < len(v) && v[i] == ',':
			i = skipSpace(v, i+1)
		case i < len(v) && v[i] == ']':
			if skipSpace(v, i+1) != len(v) {
				return 0, errVector
			}
			return n, nil
		default:
			return 0, errVector
		}
	}
}

// checkVectors checks a JSON array of vectors and returns them.
func checkVectors(b []byte) ([][]byte, error) {
	var vecs [][]byte
	err := eachElement(b, func(v []byte) error {
		if _, err := checkVector(v); err != nil {
			return fmt.Errorf("embedding %d: %w", len(vecs), err)
		}
		vecs = append(vecs, v)
		return nil
	})
	return vecs, err
}

// appendBase64Vector appends vector v (a JSON array of numbers) as OpenAI's
// base64 form: a JSON string of its little-endian float32s.
func appendBase64Vector(dst, v []byte) ([]byte, error) {
	n, err := checkVector(v)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 0, 4*n)
	i := skipSpace(v, 0) + 1
	for range n {
		i = skipSpace(v, i)
		end, _ := scanNumber(v, i) // checked above
		f, err := strconv.ParseFloat(string(v[i:end]), 32)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("embedding component %s is not a float32", v[i:end])
		}
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(float32(f)))
		i = skipSpace(v, end) + 1 // past the ',' or the closing ']'
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, raw)
	return append(dst, '"'), nil
}
