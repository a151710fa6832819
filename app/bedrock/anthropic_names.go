package bedrock

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// Anthropic API model names ("claude-sonnet-4-5", "claude-haiku-4-5-20251001",
// "claude-3-5-haiku-latest") are what Anthropic clients send; Bedrock knows
// the same models as "anthropic.claude-sonnet-4-5-20250929-v1:0" and its
// inference profiles. These functions map one to the other through the
// catalogue's list.

var (
	bedrockVersion = regexp.MustCompile(`-v\d+(:\d+)?$`)
	nameDate       = regexp.MustCompile(`-(\d{8})$`)
)

// AnthropicName is the Anthropic API name of a Claude model, with its date
// ("claude-sonnet-4-5-20250929"); "" for other models.
func AnthropicName(m Model) string {
	fm, ok := strings.CutPrefix(m.foundation(), "anthropic.")
	if !ok || !strings.HasPrefix(fm, "claude") {
		return ""
	}
	return bedrockVersion.ReplaceAllString(fm, "")
}

// IsAnthropicName reports whether name is an Anthropic API model name rather
// than a Bedrock id: no Bedrock id or profile starts with "claude".
func IsAnthropicName(name string) bool { return strings.HasPrefix(name, "claude") }

// baseName drops the date (and an Anthropic "-latest" or Claude Code
// "[1m]" suffix) from an Anthropic name, and reports the date.
func baseName(name string) (base, date string) {
	name = strings.TrimSuffix(strings.ToLower(name), "[1m]")
	name = strings.TrimSuffix(name, "-latest")
	if m := nameDate.FindStringSubmatch(name); m != nil {
		return strings.TrimSuffix(name, m[0]), m[1]
	}
	return name, ""
}

// ProfilePrefixes are the inference-profile prefixes preferred in region,
// best first: the region's own geography (jp. and au. before apac. where
// they exist), then global.
func ProfilePrefixes(region string) []string {
	switch {
	case strings.HasPrefix(region, "us-gov-"):
		return []string{"us-gov.", "global."}
	case strings.HasPrefix(region, "us-"):
		return []string{"us.", "global."}
	case strings.HasPrefix(region, "ca-"):
		return []string{"ca.", "us.", "global."}
	case strings.HasPrefix(region, "eu-"):
		return []string{"eu.", "global."}
	case region == "ap-northeast-1" || region == "ap-northeast-3":
		return []string{"jp.", "apac.", "global."}
	case region == "ap-southeast-2" || region == "ap-southeast-4":
		return []string{"au.", "apac.", "global."}
	case strings.HasPrefix(region, "ap-"):
		return []string{"apac.", "global."}
	}
	return []string{"global."}
}

// ResolveAnthropicName finds the model an Anthropic API name means among
// models (a catalogue's list). A name with a date must match it; without
// one, the latest dated model of that name is taken. Of the model's ids,
// the region's inference profile is preferred (ProfilePrefixes order), then
// the foundation model itself, then any other profile.
func ResolveAnthropicName(name string, models []Model, region string) (Model, bool) {
	base, date := baseName(name)
	prefixes := ProfilePrefixes(region)
	rank := func(id string) int {
		for i, p := range prefixes {
			if strings.HasPrefix(id, p) {
				return i
			}
		}
		if FoundationModelOf(id) == id {
			return len(prefixes)
		}
		return len(prefixes) + 1
	}
	var best Model
	found := false
	for _, m := range models {
		full := AnthropicName(m)
		if full == "" || m.IsEmbedding() || strings.HasPrefix(m.ID, "arn:") {
			continue
		}
		b, d := baseName(full)
		if b != base || (date != "" && d != date) {
			continue
		}
		if !found {
			best, found = m, true
			continue
		}
		// Latest model first (dates, then Bedrock versions, sort as strings), then the preferred id.
		if c := cmp.Compare(m.foundation(), best.foundation()); c > 0 || (c == 0 && rank(m.ID) < rank(best.ID)) {
			best = m
		}
	}
	return best, found
}

// SuggestAnthropicNames returns up to n Anthropic names of listed Claude
// models close to name, closest first, for a "did you mean" error.
func SuggestAnthropicNames(name string, models []Model, n int) []string {
	base, _ := baseName(truncate(name, maxSuggestLen))
	type ranked struct {
		name string
		d    int
	}
	var out []ranked
	seen := map[string]bool{}
	for _, m := range models {
		full := AnthropicName(m)
		if full == "" || m.IsEmbedding() {
			continue
		}
		b, _ := baseName(full)
		if seen[b] {
			continue
		}
		seen[b] = true
		if d := levenshtein(base, b); d <= max(len(b), len(base))/2 {
			out = append(out, ranked{b, d})
		}
	}
	slices.SortFunc(out, func(a, b ranked) int { return cmp.Or(cmp.Compare(a.d, b.d), strings.Compare(a.name, b.name)) })
	names := make([]string, 0, n)
	for _, r := range out[:min(n, len(out))] {
		names = append(names, r.name)
	}
	return names
}
