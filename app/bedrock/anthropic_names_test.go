package bedrock

import (
	"slices"
	"testing"
)

func claudeModels() []Model {
	var ms []Model
	add := func(fm string, ids ...string) {
		for _, id := range ids {
			ms = append(ms, Model{ID: id, FoundationModelID: fm, OutputModalities: outputText})
		}
	}
	add("anthropic.claude-sonnet-4-5-20250929-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0")
	add("anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0", "global.anthropic.claude-haiku-4-5-20251001-v1:0")
	add("anthropic.claude-opus-4-7", "global.anthropic.claude-opus-4-7", "us.anthropic.claude-opus-4-7")
	add("anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20240620-v1:0")
	add("anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0")
	add("amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0", "us.amazon.nova-pro-v1:0")
	ms = append(ms, Model{ID: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", Name: "team", FoundationModelID: "anthropic.claude-haiku-4-5-20251001-v1:0"})
	return ms
}

func TestResolveAnthropicName(t *testing.T) {
	ms := claudeModels()
	for _, tc := range []struct {
		name, region, want string
	}{
		{"claude-sonnet-4-5", "us-east-1", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"claude-sonnet-4-5-20250929", "eu-west-1", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"claude-sonnet-4-5", "ap-northeast-1", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"claude-sonnet-4-5[1m]", "us-west-2", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"claude-haiku-4-5-20251001", "us-east-1", "global.anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"claude-haiku-4-5", "sa-east-1", "global.anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"claude-opus-4-7", "us-east-2", "us.anthropic.claude-opus-4-7"},
		{"claude-3-5-sonnet-latest", "us-east-1", "anthropic.claude-3-5-sonnet-20241022-v2:0"},
		{"claude-3-5-sonnet-20240620", "us-east-1", "anthropic.claude-3-5-sonnet-20240620-v1:0"},
		{"CLAUDE-SONNET-4-5", "us-east-1", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"claude-sonnet-4-5-20990101", "us-east-1", ""},
		{"claude-opus-5-5", "us-east-1", ""},
		{"claude-sonnet-4", "us-east-1", ""},
	} {
		t.Run(tc.name+"/"+tc.region, func(t *testing.T) {
			m, ok := ResolveAnthropicName(tc.name, ms, tc.region)
			if got := m.ID; got != tc.want || ok != (tc.want != "") {
				t.Errorf("got %q (%v), want %q", got, ok, tc.want)
			}
		})
	}
}

func TestSuggestAnthropicNames(t *testing.T) {
	got := SuggestAnthropicNames("claude-opus-5-5", claudeModels(), 3)
	if len(got) == 0 || got[0] != "claude-opus-4-7" {
		t.Errorf("got %v, want claude-opus-4-7 first", got)
	}
	if slices.Contains(got, "amazon.nova-pro-v1:0") {
		t.Errorf("got %v, suggesting a non-Claude model", got)
	}
	if got := SuggestAnthropicNames("x", claudeModels(), 3); len(got) != 0 {
		t.Errorf("got %v for a far name, want none", got)
	}
}

func TestAnthropicName(t *testing.T) {
	for id, want := range map[string]string{
		"us.anthropic.claude-sonnet-4-5-20250929-v1:0": "claude-sonnet-4-5-20250929",
		"anthropic.claude-opus-4-7":                    "claude-opus-4-7",
		"anthropic.claude-3-5-sonnet-20241022-v2:0":    "claude-3-5-sonnet-20241022",
		"amazon.nova-pro-v1:0":                         "",
	} {
		if got := AnthropicName(Model{ID: id}); got != want {
			t.Errorf("AnthropicName(%s) = %q, want %q", id, got, want)
		}
	}
}
