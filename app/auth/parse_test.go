package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    map[string]string // name -> value that must match
		wantErr string
	}{
		{name: "raw (CDK generated)", value: "AbC123xyz", want: map[string]string{"default": "AbC123xyz"}},
		{name: "raw with newline", value: "AbC123xyz\n", want: map[string]string{"default": "AbC123xyz"}},
		{name: "api_key JSON (reference gateway)", value: `{"api_key":"sk-1"}`, want: map[string]string{"api_key": "sk-1"}},
		{name: "api_key with other fields", value: `{"api_key":"sk-1","rotated":"2025-01-01","n":3}`, want: map[string]string{"api_key": "sk-1"}},
		{name: "named keys", value: `{"team-a":"sk-a","team-b":"sk-b"}`, want: map[string]string{"team-a": "sk-a", "team-b": "sk-b"}},
		{name: "empty", value: "  \n", wantErr: "empty"},
		{name: "broken JSON", value: `{"api_key": "sk-secret-1`, wantErr: "not a JSON object"},
		{name: "lone brace", value: `{`, wantErr: "not a JSON object"},
		{name: "JSON array", value: `["sk-secret-1"]`, wantErr: "JSON array"},
		{name: "empty object", value: `{}`, wantErr: "empty JSON object"},
		{name: "api_key not a string", value: `{"api_key":12345}`, wantErr: `field "api_key" of the secret is not a JSON string`},
		{name: "api_key empty", value: `{"api_key":" "}`, wantErr: `field "api_key" of the secret is empty`},
		{name: "named key not a string", value: `{"team-a":"sk-a","team-b":{"k":"sk-b"}}`, wantErr: `field "team-b"`},
		{name: "reversed map", value: `{"sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0sk-9f8e7d6c5b4a39281706f5e4d3c2b1a0":"team-a"}`, wantErr: "is the JSON reversed"},
		{name: "name with spaces", value: `{"team a":"sk-a"}`, wantErr: "key name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseSecret(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				for _, secret := range []string{"sk-secret-1", "sk-b", "12345", "sk-9f8e"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q quotes the value", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(keys) != len(tt.want) {
				t.Fatalf("got %d keys %v, want %d", len(keys), keys, len(tt.want))
			}
			for name, value := range tt.want {
				if got, ok := match(keys, value); !ok || got != name {
					t.Errorf("value for %q matched %q, %v", name, got, ok)
				}
			}
		})
	}
}

func TestSourcesValidate(t *testing.T) {
	tests := []struct {
		name    string
		src     Sources
		wantErr string
	}{
		{"none", Sources{}, "no API key source"},
		{"literal", Sources{APIKey: "k"}, ""},
		{"SSM key", Sources{ParamName: "/gw/key"}, ""},
		{"secret", Sources{SecretARN: "arn:aws:secretsmanager:us-east-1:1:secret:s"}, ""},
		{"ARN parameter", Sources{SecretARNParameter: "BedrockApiKey"}, ""},
		{"ARN parameter and ARN (checked at load)", Sources{SecretARNParameter: "BedrockApiKey", SecretARN: "arn:x"}, ""},
		{"literal and secret", Sources{APIKey: "k", SecretARN: "arn:x"}, "API_KEY_SECRET_ARN, API_KEY are all set"},
		{"SSM key and ARN parameter", Sources{ParamName: "/p", SecretARNParameter: "BedrockApiKey"}, "SECRET_ARN_PARAMETER, API_KEY_PARAM_NAME"},
		{"three", Sources{ParamName: "/p", SecretARNParameter: "B", SecretARN: "arn:x"}, "conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.src.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
			if tt.name == "none" && !errors.Is(err, ErrNoSource) {
				t.Errorf("Validate() = %v, want ErrNoSource", err)
			}
			if strings.Contains(err.Error(), "=k") {
				t.Errorf("error %q quotes API_KEY", err)
			}
		})
	}
}
