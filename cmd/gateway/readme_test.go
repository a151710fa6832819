package main

import (
	"os"
	"sort"
	"strings"
	"testing"
)

// TestREADMEConfigurationTable keeps the README's configuration table true:
// every variable loadConfig reads must be documented there.
func TestREADMEConfigurationTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	if i := strings.Index(section, "## Configuration"); i >= 0 {
		section = section[i:]
	}
	if i := strings.Index(section[3:], "\n## "); i >= 0 {
		section = section[:i+3]
	}
	asked := map[string]bool{}
	for _, base := range [][]string{
		{"API_KEY", "k"},
		{"DISABLE_AUTH", "true"},
		{"API_KEY", "k", "TLS_CERT_FILE", "c", "TLS_KEY_FILE", "k"},
		{"SECRET_ARN_PARAMETER", "p"},
		{"API_KEY", "k", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"},
	} {
		set := env(base...)
		_, _ = loadConfig(func(k string) string { asked[k] = true; return set(k) })
	}
	var missing []string
	for name := range asked {
		if !strings.Contains(section, "`"+name+"`") {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(asked) < 30 || len(missing) > 0 {
		t.Errorf("%d variables read; not in the README's configuration section: %v", len(asked), missing)
	}
}
