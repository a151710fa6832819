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
// or fragment, or lambda://FUNCTION-NAME (see [InvokeTransport]), and
// returns it without a trailing slash, ready for probe paths to be appended.
func ParseTarget(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("target %q: %w", s, err)
	}
	if u.Scheme == LambdaScheme {
		if !isFunctionName(u.Host) || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return "", fmt.Errorf("target %q: want lambda://FUNCTION-NAME", s)
		}
		return LambdaScheme + "://" + u.Host, nil
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("target %q: scheme must be http, https or lambda", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("target %q: no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("target %q: must not carry a query, fragment or user info", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// NeedsLambda reports whether any target is a lambda:// target, so callers
// build a Lambda client only when one is needed.
func NeedsLambda(targets []string) bool {
	for _, t := range targets {
		if strings.HasPrefix(t, LambdaScheme+"://") {
			return true
		}
	}
	return false
}

// isFunctionName reports whether s is a Lambda function name; a lambda://
// target names a function, not an ARN, whose colons a URL host cannot hold.
func isFunctionName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
