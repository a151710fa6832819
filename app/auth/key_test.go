package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const secretValue = "sk-live-4f9a1c0e7b2d8a6f"

func TestKeyNeverPrintsItsValue(t *testing.T) {
	k := NewKey("team-a", secretValue)
	// A struct holding keys in an unexported field: fmt does not call Key's
	// methods there, so this checks the digest-behind-a-pointer layout.
	holder := struct {
		keys []Key
		st   *Static
	}{keys: []Key{k}, st: NewStatic(k)}
	printed := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v"} {
		printed["key "+verb] = fmt.Sprintf(verb, k)
		printed["pointer "+verb] = fmt.Sprintf(verb, &k)
		printed["holder "+verb] = fmt.Sprintf(verb, holder)
		printed["static "+verb] = fmt.Sprintf(verb, *holder.st)
	}
	printed["Sprint"] = fmt.Sprint(k, []Key{k})
	printed["error"] = fmt.Errorf("bad key %v", k).Error()
	js, err := json.Marshal(map[string]any{"key": k, "keys": []Key{k}})
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	printed["json"] = string(js)
	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("loaded", "key", k, "keys", []Key{k}, "any", any(k), "err", errors.New(k.String()))
		printed["slog "+strings.Fields(buf.String())[0]] = buf.String()
	}
	for where, s := range printed {
		if strings.Contains(s, secretValue) || strings.Contains(s, "4f9a1c0e") {
			t.Errorf("%s prints the value: %s", where, s)
		}
	}
	if got := fmt.Sprintf("%+v", k); got != "team-a:[REDACTED]" {
		t.Errorf("%%+v = %q, want team-a:[REDACTED]", got)
	}
	if got := fmt.Sprintf("%#v", k); got != `auth.Key{Name:"team-a", value:"[REDACTED]"}` {
		t.Errorf("%%#v = %q", got)
	}
}

func TestSourcesNeverPrintTheLiteralKey(t *testing.T) {
	s := Sources{APIKey: secretValue}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(verb, s); got != "API_KEY" {
			t.Errorf("Sprintf(%q) = %q, want API_KEY", verb, got)
		}
	}
}

func TestMatch(t *testing.T) {
	keys := []Key{NewKey("a", "key-a"), NewKey("b", "key-b"), NewKey("b2", "key-b"), {Name: "zero"}}
	tests := []struct {
		token, wantName string
		wantOK          bool
	}{
		{"key-a", "a", true},
		{"key-b", "b", true}, // first match wins
		{"key-", "", false},
		{"key-a ", "", false},
		{"", "", false},
		{strings.Repeat("x", 10000), "", false},
	}
	for _, tt := range tests {
		name, ok := match(keys, tt.token)
		if name != tt.wantName || ok != tt.wantOK {
			t.Errorf("match(%q) = %q, %v; want %q, %v", tt.token, name, ok, tt.wantName, tt.wantOK)
		}
	}
}
