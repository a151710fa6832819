package canary

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ParseTargets splits a comma-separated list of base URLs (the form of
// CANARY_TARGETS) and checks each with [ParseTarget]. Empty items are
// skipped; an empty list is an error.
func ParseTargets(list string) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		t, err := ParseTarget(item)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("no target URL given")
	}
	return out, nil
}

// ParseTarget checks that s is an absolute http or https URL without query
// or fragment and returns it without a trailing slash, ready for probe paths
// to be appended.
func ParseTarget(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("target %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("target %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("target %q: no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("target %q: must not carry a query, fragment or user info", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
