package bedrock

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// serviceTier maps OpenAI's service_tier onto Bedrock's serviceTier:
// default, flex and priority name Bedrock's tiers (fast is OpenAI's other
// name for priority, answered as priority as OpenAI does); auto (or none) leaves
// the choice to the model's configured default tier (Translator.ServiceTiers)
// and else to Bedrock. A tier the model does not offer is a 400 naming the
// ones it does, rather than Bedrock's ValidationException; a configured
// default the model does not offer is not sent.
func (t *Translator) serviceTier(req *openai.ChatCompletionRequest, m Model, q quirks) (*types.ServiceTier, error) {
	tier := req.ServiceTier
	if tier == "fast" {
		tier = "priority"
	}
	switch tier {
	case "", "auto":
		if def := t.defaultTier(m); def != "" && q.acceptsTier(def) {
			return &types.ServiceTier{Type: types.ServiceTierType(def)}, nil
		}
		return nil, nil
	case "default", "flex", "priority":
		if !q.acceptsTier(tier) {
			return nil, badRequest("service_tier", "service_tier %q is not offered by Bedrock for model %s; it takes %s",
				tier, m.ID, strings.Join(append([]string{"auto", "default"}, q.tiers...), ", "))
		}
		return &types.ServiceTier{Type: types.ServiceTierType(tier)}, nil
	default:
		return nil, badRequest("service_tier", "service_tier must be auto, default, flex, priority or fast, got %q", tier)
	}
}

// defaultTier is the tier configured for the model: by the id the request
// resolved to, its foundation model, or "*" for every model.
func (t *Translator) defaultTier(m Model) string {
	for _, k := range []string{m.ID, m.foundation(), "*"} {
		if tier, ok := t.ServiceTiers[k]; ok {
			return tier
		}
	}
	return ""
}

// ServedTier is the tier Bedrock reports having served a response on, ""
// when it reports none.
func ServedTier(st *types.ServiceTier) string {
	if st == nil {
		return ""
	}
	return string(st.Type)
}
