package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// redacted stands in for a key's value wherever a key is printed.
const redacted = "[REDACTED]"

// Key is one API key with the name used for it in logs and metrics.
//
// A Key keeps only the SHA-256 digest of its value, behind a pointer, so the
// value cannot be printed by any fmt verb, by slog, or by encoding/json, even
// when the Key sits in an unexported field of a struct being printed (fmt
// does not call methods there, but prints nested pointers as addresses).
type Key struct {
	Name   string
	digest *[sha256.Size]byte
}

// NewKey returns a key named name (e.g. "default" or "team-a").
func NewKey(name, value string) Key {
	d := sha256.Sum256([]byte(value))
	return Key{Name: name, digest: &d}
}

// LogValue redacts the key's value.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", k.Name), slog.String("value", redacted))
}

// String redacts the key's value.
func (k Key) String() string { return k.Name + ":" + redacted }

// GoString redacts the key's value for %#v.
func (k Key) GoString() string {
	return fmt.Sprintf("auth.Key{Name:%q, value:%q}", k.Name, redacted)
}

// Format prints the redacted form for every verb, so %v, %+v, %#v, %s, %q
// and %x all show the name and never the value.
func (k Key) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, k.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", k.String())
	default:
		fmt.Fprint(f, k.String())
	}
}

// MarshalText redacts the key's value in JSON, YAML and text encoders.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// tokenDigest is what a presented token is compared by.
type tokenDigest [sha256.Size]byte

// digestOf hashes token. Copying into a stack buffer first keeps the common
// case (keys up to 512 bytes; CDK generates 256) free of heap allocations.
func digestOf(token string) tokenDigest {
	if len(token) <= 512 {
		var buf [512]byte
		n := copy(buf[:], token)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(token))
}

// matches compares digests in constant time; comparing digests rather than
// values keeps the key's length from leaking through timing.
func (k Key) matches(t *tokenDigest) bool {
	if k.digest == nil {
		return false
	}
	return subtle.ConstantTimeCompare(k.digest[:], t[:]) == 1
}

// match checks every key (no early exit) and returns the matching one's name.
func match(keys []Key, token string) (string, bool) {
	t := digestOf(token)
	name, found := "", false
	for _, k := range keys {
		if k.matches(&t) && !found {
			name, found = k.Name, true
		}
	}
	return name, found
}
