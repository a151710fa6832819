package bedrock

import (
	"slices"
	"testing"
)

func TestSuggest(t *testing.T) {
	models := []Model{
		{ID: "anthropic.claude-haiku-4-5-20251001-v1:0", OutputModalities: outputText},
		{ID: "us.anthropic.claude-haiku-4-5-20251001-v1:0", FoundationModelID: "anthropic.claude-haiku-4-5-20251001-v1:0", OutputModalities: outputText},
		{ID: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", OutputModalities: outputText},
		{ID: "amazon.nova-pro-v1:0", OutputModalities: outputText},
		{ID: "amazon.nova-lite-v1:0", OutputModalities: outputText},
		{ID: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", Name: "team-chat", OutputModalities: outputText},
		{ID: "cohere.embed-english-v3", OutputModalities: outputEmbedding},
		{ID: "cohere.embed-multilingual-v3", OutputModalities: outputEmbedding},
	}
	chat := func(m Model) bool { return !m.IsEmbedding() }
	tests := []struct {
		name string
		id   string
		keep func(Model) bool
		want []string
	}{
		{"substring, shortest first", "claude-haiku-4-5", chat,
			[]string{"anthropic.claude-haiku-4-5-20251001-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0"}},
		{"typo", "amazon.nova-pro-v1:1", chat, []string{"amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0"}},
		{"missing geography prefix", "anthropic.claude-sonnet-4-5-20250929-v1:0", chat, []string{"us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			"anthropic.claude-haiku-4-5-20251001-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0"}},
		{"application profile by name", "team-chats", chat, []string{"team-chat"}},
		{"only the requested kind", "cohere.embed-english", chat, []string{}},
		{"embedding kind", "cohere.embed-english", func(m Model) bool { return m.IsEmbedding() },
			[]string{"cohere.embed-english-v3", "cohere.embed-multilingual-v3"}},
		{"nothing close", "gpt-4o", nil, []string{}},
		{"at most three", "a", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := suggest(models, tt.id, 3, tt.keep)
			if tt.want == nil {
				if len(got) != 3 {
					t.Errorf("got %d suggestions %v, want 3", len(got), got)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"kitten", "sitting", 3}, {"v1:0", "v1:1", 1},
	}
	for _, tt := range tests {
		if got := levenshtein(tt.a, tt.b); got != tt.want {
			t.Errorf("levenshtein(%q, %q): got %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
