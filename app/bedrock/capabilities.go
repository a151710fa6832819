package bedrock

import (
	"slices"
	"strings"
)

// quirks are what a model family accepts on Converse that Bedrock's control
// plane does not report: the gateway's one capability table, keyed by
// foundation-model id prefix (first match wins). Sources: the Bedrock user
// guide's pages on structured output (February 2026), service tiers, prompt
// caching, extended and adaptive thinking, guardrails and CountTokens, and
// Anthropic's model pages; the emulator (bedrocktest/features.go) checks the
// same facts on its side.
type quirks struct {
	reasoning     reasoningStyle
	promptCache   bool // accepts cachePoint blocks
	forcedTools   bool // accepts toolChoice any/tool
	tempXorTopP   bool // rejects temperature and topP together
	reasoningBack bool // accepts reasoningContent blocks in history

	structured   bool     // native outputConfig.textFormat (JSON schema) and strict tool specs
	effort       bool     // outputConfig.effort
	adaptive     bool     // thinking {"type": "adaptive"}
	adaptiveOnly bool     // refuses a thinking budget: adaptive thinking only
	tiers        []string // service tiers accepted besides default
	cacheTTL1h   bool     // cachePoint ttl "1h"
	guardrails   bool     // guardrailConfig
	countTokens  bool     // the CountTokens operation
}

type reasoningStyle int

const (
	reasoningNone      reasoningStyle = iota
	reasoningAnthropic                // additionalModelRequestFields.thinking (budget or adaptive)
	reasoningDeepSeek                 // reasoning_config: "low"|"medium"|"high"
	reasoningNova                     // reasoningConfig{type,maxReasoningEffort}
	reasoningOpenAI                   // reasoning_effort
)

var (
	priority     = []string{"priority"}
	priorityFlex = []string{"priority", "flex"}

	// capsClaude45 is Claude Haiku 4.5 and Sonnet 4.5: budget thinking.
	capsClaude45 = quirks{reasoning: reasoningAnthropic, promptCache: true, forcedTools: true, tempXorTopP: true, reasoningBack: true,
		structured: true, tiers: priority, cacheTTL1h: true, guardrails: true, countTokens: true}
	// capsOpus45 adds the effort parameter.
	capsOpus45 = with(capsClaude45, func(q *quirks) { q.effort = true })
	// capsClaude46 adds adaptive thinking (a budget still works).
	capsClaude46 = with(capsOpus45, func(q *quirks) { q.adaptive = true })
	// capsClaude47 is Opus 4.7 and later: adaptive thinking only.
	capsClaude47 = with(capsClaude46, func(q *quirks) { q.adaptiveOnly = true })
)

func with(q quirks, f func(*quirks)) quirks {
	f(&q)
	return q
}

var familyQuirks = []struct {
	prefix string
	q      quirks
}{
	{"anthropic.claude-haiku-4-5", capsClaude45},
	{"anthropic.claude-sonnet-4-5", capsClaude45},
	{"anthropic.claude-opus-4-5", capsOpus45},
	{"anthropic.claude-sonnet-4-6", capsClaude46},
	{"anthropic.claude-opus-4-6", capsClaude46},
	{"anthropic.claude-opus-4-7", capsClaude47},
	{"anthropic.claude-opus-4-8", capsClaude47},
	{"anthropic.claude-sonnet-5", capsClaude47},
	{"anthropic.claude-opus-4", quirks{reasoning: reasoningAnthropic, promptCache: true, forcedTools: true, reasoningBack: true, guardrails: true, countTokens: true}},
	{"anthropic.", quirks{forcedTools: true, guardrails: true}},
	{"amazon.nova-2", quirks{reasoning: reasoningNova, promptCache: true, forcedTools: true, structured: true, tiers: priorityFlex, guardrails: true}},
	{"amazon.nova", quirks{promptCache: true, forcedTools: true, guardrails: true}},
	{"deepseek.v3", quirks{reasoning: reasoningDeepSeek, structured: true, tiers: priorityFlex, guardrails: true}},
	{"deepseek.", quirks{guardrails: true}},
	{"openai.gpt-oss", quirks{reasoning: reasoningOpenAI, structured: true, tiers: priorityFlex, guardrails: true}},
	{"mistral.mistral-large-3", quirks{forcedTools: true, structured: true, guardrails: true}},
	{"mistral.", quirks{forcedTools: true, guardrails: true}},
	{"meta.llama4", quirks{structured: true, guardrails: true}},
	{"meta.", quirks{guardrails: true}},
}

func (m Model) quirks() quirks {
	fm := m.foundation()
	for _, f := range familyQuirks {
		if strings.HasPrefix(fm, f.prefix) {
			return f.q
		}
	}
	return quirks{}
}

// acceptsTier reports whether the model takes a service tier.
func (q quirks) acceptsTier(tier string) bool {
	return tier == "default" || slices.Contains(q.tiers, tier)
}
