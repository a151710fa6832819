package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestLoadConfig(t *testing.T) {
	c, err := loadConfig(env("API_KEY", "k", "DEBUG", "yes", "API_ROUTE_PREFIX", "/v1/", "SHUTDOWN_TIMEOUT", "3s", "ALLOWED_ORIGINS", "https://a, https://b"))
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != slog.LevelDebug || c.RoutePrefix != "/v1" || c.BedrockPrefix != "/bedrock" || c.ShutdownTimeout != 3*time.Second || len(c.AllowedOrigins) != 2 || c.Port != 8080 {
		t.Errorf("got %+v", c)
	}
	if c, _ := loadConfig(env("API_KEY", "k", "DEBUG", "0")); c.LogLevel != slog.LevelInfo {
		t.Errorf("DEBUG=0 enabled debug logging")
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  func(string) string
		want string
	}{
		{"no key", env(), "no API key"},
		{"bad bool", env("API_KEY", "k", "DEBUG", "maybe"), "DEBUG"},
		{"bad port", env("API_KEY", "k", "PORT", "eighty"), "PORT"},
		{"bad duration", env("API_KEY", "k", "SHUTDOWN_TIMEOUT", "soon"), "SHUTDOWN_TIMEOUT"},
		{"bad prefix", env("API_KEY", "k", "API_ROUTE_PREFIX", "v1"), "API_ROUTE_PREFIX"},
		{"bad Bedrock prefix", env("API_KEY", "k", "BEDROCK_ROUTE_PREFIX", "bedrock"), "BEDROCK_ROUTE_PREFIX"},
		{"Bedrock prefix in the API's", env("API_KEY", "k", "BEDROCK_ROUTE_PREFIX", "/api/v1/bedrock"), "overlaps"},
		{"bad lambda mode", env("API_KEY", "k", "LAMBDA_MODE", "sqs"), "LAMBDA_MODE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
	if _, err := loadConfig(env("DISABLE_AUTH", "true")); err != nil {
		t.Errorf("DISABLE_AUTH without a key: %v", err)
	}
}

func TestDefaultModelFollowsRegion(t *testing.T) {
	tests := []struct{ env, want string }{
		{"", "us.anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"eu-west-1", "eu.anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"ap-southeast-1", "global.anthropic.claude-haiku-4-5-20251001-v1:0"},
	}
	for _, tt := range tests {
		c, err := loadConfig(env("API_KEY", "k", "AWS_REGION", tt.env))
		if err != nil {
			t.Fatal(err)
		}
		if c.DefaultModel != tt.want {
			t.Errorf("AWS_REGION=%q: DEFAULT_MODEL = %s, want %s", tt.env, c.DefaultModel, tt.want)
		}
	}
	if c, _ := loadConfig(env("API_KEY", "k", "AWS_REGION", "eu-west-1", "DEFAULT_MODEL", "m")); c.DefaultModel != "m" {
		t.Errorf("DEFAULT_MODEL=m: got %s", c.DefaultModel)
	}
}

func TestServiceTiersConfig(t *testing.T) {
	c, err := loadConfig(env("API_KEY", "k", "SERVICE_TIERS", "*=flex, us.anthropic.claude-haiku-4-5-20251001-v1:0=priority"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ServiceTiers["*"] != "flex" || c.ServiceTiers["us.anthropic.claude-haiku-4-5-20251001-v1:0"] != "priority" {
		t.Errorf("SERVICE_TIERS: got %v", c.ServiceTiers)
	}
	if _, err := loadConfig(env("API_KEY", "k", "SERVICE_TIERS", "*=turbo")); err == nil || !strings.Contains(err.Error(), "SERVICE_TIERS") {
		t.Errorf("bad tier: got %v, want an error naming SERVICE_TIERS", err)
	}
}

func TestPromptCacheTTLConfig(t *testing.T) {
	if c, err := loadConfig(env("API_KEY", "k", "PROMPT_CACHE_TTL", "1h")); err != nil || c.PromptCacheTTL != "1h" {
		t.Errorf("PROMPT_CACHE_TTL=1h: %v %q", err, c.PromptCacheTTL)
	}
	if _, err := loadConfig(env("API_KEY", "k", "PROMPT_CACHE_TTL", "2h")); err == nil || !strings.Contains(err.Error(), "PROMPT_CACHE_TTL") {
		t.Errorf("PROMPT_CACHE_TTL=2h: got %v, want an error naming it", err)
	}
}

func TestGuardrailConfig(t *testing.T) {
	c, err := loadConfig(env("API_KEY", "k", "GUARDRAIL_ID", "gr-1", "GUARDRAIL_STREAM_MODE", "async", "GUARDRAIL_ALLOW_REQUEST_OVERRIDE", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if g := c.Guardrail; g.ID != "gr-1" || g.Version != "DRAFT" || g.Trace != "enabled" || g.StreamMode != "async" || !g.AllowOverride {
		t.Errorf("guardrail config: %+v", g)
	}
	if _, err := loadConfig(env("API_KEY", "k", "GUARDRAIL_STREAM_MODE", "later")); err == nil || !strings.Contains(err.Error(), "GUARDRAIL_STREAM_MODE") {
		t.Errorf("bad stream mode: got %v", err)
	}
}
