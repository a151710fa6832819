package auth_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/openbedrock/gateway/app/auth"
)

// BenchmarkAuthCheck measures the per-request key check of both
// authenticators, for a known and an unknown key, against the floor of
// hashing the presented token once (the check compares SHA-256 digests).
func BenchmarkAuthCheck(b *testing.B) {
	key := "sk-" + strings.Repeat("k", 61) // a 64-byte key
	unknown := "sk-" + strings.Repeat("u", 61)
	ctx := context.Background()
	store, err := auth.NewStore(auth.Options{Sources: auth.Sources{APIKey: key}})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.Load(ctx); err != nil {
		b.Fatal(err)
	}
	static := auth.NewStatic(auth.NewKey("default", key))
	for _, tc := range []struct {
		name  string
		check func(string) bool
		token string
	}{
		{"store-known", func(t string) bool { _, ok := store.Authenticate(ctx, t); return ok }, key},
		{"store-unknown", func(t string) bool { _, ok := store.Authenticate(ctx, t); return !ok }, unknown},
		{"static-known", func(t string) bool { _, ok := static.Authenticate(ctx, t); return ok }, key},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !tc.check(tc.token) {
					b.Fatalf("%s: wrong answer", tc.name)
				}
			}
		})
	}
	b.Run("baseline-sha256", func(b *testing.B) {
		b.ReportAllocs()
		kb := []byte(key)
		var sink [sha256.Size]byte
		for b.Loop() {
			sink = sha256.Sum256(kb)
		}
		_ = sink
	})
}
