package auth

import (
	"strings"
	"testing"
)

// FuzzParseSecret: any secret value parses to named keys or fails with a
// message that does not quote the value.
func FuzzParseSecret(f *testing.F) {
	f.Add(" sk-raw-key\n")
	f.Add(`{"api_key":"sk-1","other":2}`)
	f.Add(`{"team-a":"sk-a","team-b":" sk-b "}`)
	f.Add(`{"sk-secret-value-reversed":"team"}`)
	f.Fuzz(func(t *testing.T, value string) {
		keys, err := parseSecret(value)
		if err != nil {
			if v := strings.TrimSpace(value); len(v) >= 8 && strings.Contains(err.Error(), v) {
				t.Fatalf("error %q quotes the secret", err)
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		for _, k := range keys {
			if !validName(k.Name) || k.digest == nil {
				t.Fatalf("key %v has an invalid name or no digest", k)
			}
		}
	})
}
