package auth

import "context"

// Static is a fixed set of keys, e.g. from API_KEY.
type Static struct{ keys []Key }

// NewStatic returns an authenticator for the given keys.
func NewStatic(keys ...Key) *Static { return &Static{keys: keys} }

// Authenticate reports the name of the key token matches.
func (s *Static) Authenticate(_ context.Context, token string) (string, bool) {
	return match(s.keys, token)
}
