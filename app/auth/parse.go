package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// defaultName names a key that comes without a name (API_KEY, an SSM
// parameter, a raw secret).
const defaultName = "default"

// apiKeyField is the field of the reference gateway's JSON secret.
const apiKeyField = "api_key"

// maxNameLen bounds key names, which appear in logs and metric labels.
const maxNameLen = 64

// parseSecret reads a secret's value. Three forms are accepted:
//
//   - the raw key (what CDK's generated secrets hold), named "default";
//   - JSON with an "api_key" field (the reference gateway's form), named
//     "api_key"; other fields are ignored;
//   - a JSON object mapping key names to keys, e.g.
//     {"team-a":"sk-...","team-b":"sk-..."}; each key is named by its field.
//
// Errors never quote the value, nor JSON decoder messages (which quote it).
func parseSecret(value string) ([]Key, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return nil, errors.New("the secret value is empty")
	}
	if strings.HasPrefix(v, "[") {
		return nil, errors.New("the secret value is a JSON array; use an object mapping key names to keys")
	}
	if !strings.HasPrefix(v, "{") {
		return []Key{NewKey(defaultName, v)}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &fields); err != nil {
		return nil, errors.New("the secret value starts with '{' but is not a JSON object")
	}
	if raw, ok := fields[apiKeyField]; ok {
		k, err := stringField(apiKeyField, raw)
		if err != nil {
			return nil, err
		}
		return []Key{NewKey(apiKeyField, k)}, nil
	}
	if len(fields) == 0 {
		return nil, errors.New("the secret value is an empty JSON object")
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		if !validName(name) {
			return nil, fmt.Errorf("the secret holds a key name that is not 1-%d letters, digits or ._-@: (names appear in logs; is the JSON reversed?)", maxNameLen)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	keys := make([]Key, 0, len(names))
	for _, name := range names {
		k, err := stringField(name, fields[name])
		if err != nil {
			return nil, err
		}
		keys = append(keys, NewKey(name, k))
	}
	return keys, nil
}

// stringField decodes a field that must be a non-empty JSON string.
func stringField(name string, raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %q of the secret is not a JSON string", name)
	}
	if s = strings.TrimSpace(s); s == "" {
		return "", fmt.Errorf("field %q of the secret is empty", name)
	}
	return s, nil
}

func validName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@:", r)) {
			return false
		}
	}
	return true
}
