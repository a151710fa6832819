package auth

import (
	"context"
	"slices"
)

// Static is a fixed set of keys, e.g. from API_KEY.
type Static struct {
	keys  []Key
	names []string
}

// NewStatic returns an authenticator for the given keys.
func NewStatic(keys ...Key) *Static {
	s := &Static{keys: keys}
	for _, k := range keys {
		s.names = append(s.names, k.Name)
	}
	slices.Sort(s.names)
	s.names = slices.Compact(s.names)
	return s
}

// Authenticate reports the name of the key token matches.
func (s *Static) Authenticate(_ context.Context, token string) (string, bool) {
	return match(s.keys, token)
}

// Names returns the keys' names, sorted; the slice is shared and must not
// be modified.
func (s *Static) Names() []string { return s.names }
