// Package auth holds the gateway's API keys: where they come from (a literal
// key, SSM, Secrets Manager, or an SSM parameter naming a secret), how they
// are cached and refreshed, and how a presented key is checked in constant
// time. Key values never leave this package in logs or errors: Key redacts
// itself.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
)

// Key is one API key with the name used for it in logs and metrics.
type Key struct {
	Name  string
	value string
}

// NewKey returns a key.
func NewKey(name, value string) Key { return Key{Name: name, value: value} }

// LogValue redacts the key's value.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", k.Name), slog.String("value", "[REDACTED]"))
}

// String redacts the key's value.
func (k Key) String() string { return k.Name + ":[REDACTED]" }

// matches compares in constant time (hashing first so lengths do not leak).
func (k Key) matches(token string) bool {
	a, b := sha256.Sum256([]byte(k.value)), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// Static is a fixed set of keys, e.g. from API_KEY.
type Static struct{ keys []Key }

// NewStatic returns an authenticator for the given keys.
func NewStatic(keys ...Key) *Static { return &Static{keys: keys} }

// Authenticate reports the name of the key token matches.
func (s *Static) Authenticate(_ context.Context, token string) (string, bool) {
	return match(s.keys, token)
}

// match checks every key (no early exit) and returns the matching one's name.
func match(keys []Key, token string) (string, bool) {
	name, found := "", false
	for _, k := range keys {
		if k.matches(token) && !found {
			name, found = k.Name, true
		}
	}
	return name, found
}
