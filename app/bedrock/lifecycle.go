package bedrock

import (
	"strings"
)

// Retirement is a model Bedrock has ended the life of, and what to use instead.
type Retirement struct {
	// EndOfLife is the date (YYYY-MM-DD) Bedrock stopped serving the model;
	// empty where the lifecycle table no longer gives it.
	EndOfLife string
	// Successor is the foundation model AWS points to instead.
	Successor string
}

// retired lists the models Bedrock had retired by December 2026 (the AWS
// model lifecycle table), keyed by foundation-model id. Bedrock answers a
// call to any of them, or to one of their profiles, with
// ResourceNotFoundException "This model version has reached the end of its
// life", which names neither the model nor what replaces it.
var retired = map[string]Retirement{
	"anthropic.claude-instant-v1":               {"", "anthropic.claude-haiku-4-5-20251001-v1:0"},
	"anthropic.claude-v2":                       {"", "anthropic.claude-sonnet-4-6"},
	"anthropic.claude-v2:1":                     {"", "anthropic.claude-sonnet-4-6"},
	"anthropic.claude-3-opus-20240229-v1:0":     {"", "anthropic.claude-opus-4-8"},
	"anthropic.claude-3-7-sonnet-20250219-v1:0": {"2026-04-28", "anthropic.claude-sonnet-4-6"},
	"anthropic.claude-opus-4-20250514-v1:0":     {"2026-05-31", "anthropic.claude-opus-4-8"},
	"anthropic.claude-3-5-haiku-20241022-v1:0":  {"2026-06-19", "anthropic.claude-haiku-4-5-20251001-v1:0"},
	"anthropic.claude-3-sonnet-20240229-v1:0":   {"2026-07-30", "anthropic.claude-sonnet-4-6"},
	"anthropic.claude-3-5-sonnet-20240620-v1:0": {"2026-07-30", "anthropic.claude-sonnet-4-6"},
	"anthropic.claude-3-5-sonnet-20241022-v2:0": {"2026-07-30", "anthropic.claude-sonnet-4-6"},
	"anthropic.claude-3-haiku-20240307-v1:0":    {"2026-09-10", "anthropic.claude-haiku-4-5-20251001-v1:0"},
	"amazon.nova-premier-v1:0":                  {"2026-09-14", "amazon.nova-2-lite-v1:0"},
	"anthropic.claude-sonnet-4-20250514-v1:0":   {"2026-10-14", "anthropic.claude-sonnet-4-6"},
}

// Retired reports whether Bedrock has retired the model behind id (a model
// id, a system-profile id, or an ARN of either).
func Retired(id string) (Retirement, bool) {
	r, ok := retired[FoundationModelOf(id)]
	return r, ok
}

// Geography returns the system-profile prefix (us, eu, apac, jp, au, ca,
// us-gov) whose profiles a region's calls use for geographic cross-region
// inference; global profiles serve every region.
func Geography(region string) string {
	switch {
	case strings.HasPrefix(region, "us-gov-"):
		return "us-gov"
	case strings.HasPrefix(region, "us-"):
		return "us"
	case strings.HasPrefix(region, "eu-"):
		return "eu"
	case strings.HasPrefix(region, "ca-"):
		return "ca"
	case region == "ap-northeast-1" || region == "ap-northeast-3":
		return "jp"
	case region == "ap-southeast-2" || region == "ap-southeast-4":
		return "au"
	case strings.HasPrefix(region, "ap-"):
		return "apac"
	}
	return "global"
}

// haiku45 is the chat model a default deployment uses: fast, cheap, current.
const haiku45 = "anthropic.claude-haiku-4-5-20251001-v1:0"

// DefaultChatModel is the built-in DEFAULT_MODEL for a region: Claude Haiku
// 4.5 through the region's geographic profile where AWS offers one (US and
// EU), else through the global profile.
func DefaultChatModel(region string) string {
	switch geo := Geography(region); geo {
	case "us", "eu":
		return geo + "." + haiku45
	}
	return "global." + haiku45
}

// DefaultEmbeddingModel is the built-in DEFAULT_EMBEDDING_MODEL.
const DefaultEmbeddingModel = "cohere.embed-multilingual-v3"

// Preferred replacements for a default the catalogue does not serve, best
// first, as foundation-model ids; each is tried through the region's
// geographic profile, the global profile, then in region.
var (
	chatDefaults = []string{haiku45, "amazon.nova-2-lite-v1:0", "anthropic.claude-sonnet-4-6",
		"anthropic.claude-sonnet-4-5-20250929-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"}
	embeddingDefaults = []string{DefaultEmbeddingModel, "amazon.titan-embed-text-v2:0", "cohere.embed-v4:0",
		"cohere.embed-english-v3", "amazon.nova-2-multimodal-embeddings-v1:0"}
)

// chooseDefault returns want when serves(want), else the first preferred
// replacement served for region, else the first listed model of the same
// kind that is not LEGACY; "" when there is none.
func chooseDefault(models []Model, serves func(string) bool, want, region string, embedding bool) string {
	if want != "" && serves(want) {
		return want
	}
	prefs := chatDefaults
	if embedding {
		prefs = embeddingDefaults
	}
	geo := Geography(region)
	for _, fm := range prefs {
		for _, id := range []string{geo + "." + fm, "global." + fm, fm} {
			if serves(id) {
				return id
			}
		}
	}
	for _, m := range models {
		if m.IsEmbedding() == embedding && !m.Legacy && !strings.HasPrefix(m.ID, "arn:") {
			return m.ID
		}
	}
	return ""
}
