package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunFailsWhenTheKeyCannotBeRead drives run with the on-prem settings
// against an endpoint that denies the SSM read, as AWS does for an IAM user
// without ssm:GetParameter: start-up must fail, naming the parameter and the
// AWS error code.
func TestRunFailsWhenTheKeyCannotBeRead(t *testing.T) {
	deny := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"AccessDeniedException","message":"User: arn:aws:iam::123456789012:user/gateway is not authorized to perform: %s"}`,
			r.Header.Get("X-Amz-Target"))
	}))
	t.Cleanup(deny.Close)
	// The SDK reads the process environment itself.
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SSM":        deny.URL,
		"AWS_ACCESS_KEY_ID":           "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_MAX_ATTEMPTS":            "1",
	} {
		t.Setenv(k, v)
	}
	env := map[string]string{"SECRET_ARN_PARAMETER": "BedrockApiKey", "AWS_REGION": "us-east-1", "HOST": "127.0.0.1", "PORT": "0"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := run(ctx, []string{"gateway"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("run succeeded; want a start-up error")
	}
	for _, want := range []string{`SSM parameter "BedrockApiKey"`, "AccessDeniedException"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run error %q does not contain %q", err, want)
		}
	}
}

func TestLoadConfigKeysNetworkTLS(t *testing.T) {
	get := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := loadConfig(get("SECRET_ARN_PARAMETER", "BedrockApiKey", "API_KEY_REFRESH_INTERVAL", "2m",
		"ALLOWED_CIDRS", "10.0.0.0/8, 2001:db8::/32", "TRUSTED_PROXIES", "172.16.0.0/12",
		"TLS_CERT_FILE", "/tls/tls.crt", "TLS_KEY_FILE", "/tls/tls.key", "PORT", "8443", "REDIRECT_HTTP_PORT", "8080"))
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if c.SecretARNParameter != "BedrockApiKey" || c.APIKeyRefresh != 2*time.Minute || c.APIKeyMinRefresh != time.Minute {
		t.Errorf("keys: %q %v %v", c.SecretARNParameter, c.APIKeyRefresh, c.APIKeyMinRefresh)
	}
	if len(c.AllowedCIDRs) != 2 || c.AllowedCIDRs[1].String() != "2001:db8::/32" || len(c.TrustedProxies) != 1 {
		t.Errorf("network: %v %v", c.AllowedCIDRs, c.TrustedProxies)
	}
	if c.TLSCertFile != "/tls/tls.crt" || c.RedirectHTTPPort != 8080 {
		t.Errorf("TLS: %q %d", c.TLSCertFile, c.RedirectHTTPPort)
	}

	tests := []struct {
		name string
		env  func(string) string
		want string
	}{
		{"no key source", get(), "no API key source is set"},
		{"two sources", get("API_KEY", "sk-literal-1", "SECRET_ARN_PARAMETER", "BedrockApiKey"), "SECRET_ARN_PARAMETER, API_KEY are all set"},
		{"DISABLE_AUTH with a key", get("API_KEY", "sk-literal-1", "DISABLE_AUTH", "true"), "DISABLE_AUTH=true conflicts with API_KEY"},
		{"bad refresh interval", get("API_KEY", "k", "API_KEY_REFRESH_INTERVAL", "often"), "API_KEY_REFRESH_INTERVAL"},
		{"bad CIDR", get("API_KEY", "k", "ALLOWED_CIDRS", "10.0.0.0/33"), "ALLOWED_CIDRS"},
		{"bad proxy", get("API_KEY", "k", "TRUSTED_PROXIES", "proxy.local"), "TRUSTED_PROXIES"},
		{"cert without key", get("API_KEY", "k", "TLS_CERT_FILE", "/tls/tls.crt"), "set both or neither"},
		{"redirect without TLS", get("API_KEY", "k", "REDIRECT_HTTP_PORT", "8081"), "need TLS_CERT_FILE"},
		{"redirect on PORT", get("API_KEY", "k", "TLS_CERT_FILE", "c", "TLS_KEY_FILE", "k", "REDIRECT_HTTP_PORT", "8080"), "must differ from PORT"},
	}
	for _, tt := range tests {
		_, err := loadConfig(tt.env)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "sk-literal-1") {
			t.Errorf("%s: error %q quotes API_KEY", tt.name, err)
		}
	}
}
