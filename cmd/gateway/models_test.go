package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func modelEnv(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadModelConfig(t *testing.T) {
	base := map[string]string{"API_KEY": "k"}
	c, err := loadConfig(modelEnv(base))
	if err != nil {
		t.Fatal(err)
	}
	want := modelConfig{DefaultEmbeddingModel: "cohere.embed-multilingual-v3", ModelDiscovery: true, CrossRegionInference: true,
		ApplicationProfiles: true, ModelRefreshInterval: 10 * time.Minute}
	if !equalModelConfig(c.modelConfig, want) {
		t.Errorf("defaults: got %+v, want %+v", c.modelConfig, want)
	}

	set := maps.Clone(base)
	maps.Copy(set, map[string]string{
		"DEFAULT_EMBEDDING_MODEL": "amazon.titan-embed-text-v2:0",
		"MODELS":                  "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x, us.amazon.nova-pro-v1:0",
		"MODEL_ALIASES":           "gpt-4o=us.anthropic.claude-sonnet-4-6, gpt-4o-mini = amazon.nova-micro-v1:0",
		"ALIAS_GPT_MODELS":        "true", "ENABLE_MODEL_DISCOVERY": "false", "ENABLE_CROSS_REGION_INFERENCE": "no",
		"ENABLE_APPLICATION_INFERENCE_PROFILES": "0", "MODEL_REFRESH_INTERVAL": "0",
	})
	c, err = loadConfig(modelEnv(set))
	if err != nil {
		t.Fatal(err)
	}
	want = modelConfig{DefaultEmbeddingModel: "amazon.titan-embed-text-v2:0",
		Models:         []string{"arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x", "us.amazon.nova-pro-v1:0"},
		ModelAliases:   map[string]string{"gpt-4o": "us.anthropic.claude-sonnet-4-6", "gpt-4o-mini": "amazon.nova-micro-v1:0"},
		AliasGPTModels: true}
	if !equalModelConfig(c.modelConfig, want) {
		t.Errorf("set: got %+v, want %+v", c.modelConfig, want)
	}
}

func equalModelConfig(a, b modelConfig) bool {
	return a.DefaultEmbeddingModel == b.DefaultEmbeddingModel && slices.Equal(a.Models, b.Models) && maps.Equal(a.ModelAliases, b.ModelAliases) &&
		a.AliasGPTModels == b.AliasGPTModels && a.ModelDiscovery == b.ModelDiscovery && a.CrossRegionInference == b.CrossRegionInference &&
		a.ApplicationProfiles == b.ApplicationProfiles && a.ModelRefreshInterval == b.ModelRefreshInterval
}

func TestLoadModelConfigErrors(t *testing.T) {
	tests := map[string]string{
		"MODEL_ALIASES":          "gpt-4o",
		"ALIAS_GPT_MODELS":       "maybe",
		"MODEL_REFRESH_INTERVAL": "10",
		"ENABLE_MODEL_DISCOVERY": "sometimes",
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(modelEnv(map[string]string{"API_KEY": "k", name: value}))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("got %v, want an error naming %s", err, name)
			}
		})
	}
}
