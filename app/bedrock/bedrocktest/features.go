package bedrocktest

import (
	"encoding/json"
	"slices"
	"strings"
)

// features is what a model accepts on Converse beyond the basics, as
// Bedrock checks it (Bedrock user guide, 2026: structured output, service
// tiers, prompt caching, extended and adaptive thinking). The emulator keeps
// its own table, apart from the gateway's (app/bedrock capabilities.go), so a
// gateway that sends a field to the wrong model fails here.
type features struct {
	structured   bool     // outputConfig.textFormat and toolSpec.strict (launched February 2026)
	effort       bool     // outputConfig.effort
	adaptive     bool     // thinking {"type": "adaptive"}
	adaptiveOnly bool     // thinking "enabled" (a budget) is refused
	tiers        []string // serviceTier types accepted besides "default"
	cacheTTL1h   bool     // cachePoint ttl "1h"
}

// featuresOf looks a foundation-model id up by family.
func featuresOf(id string) features {
	has := func(fs ...string) bool {
		return slices.ContainsFunc(fs, func(f string) bool { return strings.Contains(id, f) })
	}
	switch {
	case has("claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5"):
		return features{structured: true, effort: true, adaptive: true, adaptiveOnly: true, tiers: []string{"priority"}, cacheTTL1h: true}
	case has("claude-sonnet-4-6", "claude-opus-4-6"):
		return features{structured: true, effort: true, adaptive: true, tiers: []string{"priority"}, cacheTTL1h: true}
	case has("claude-opus-4-5"):
		return features{structured: true, effort: true, tiers: []string{"priority"}, cacheTTL1h: true}
	case has("claude-haiku-4-5", "claude-sonnet-4-5"):
		return features{structured: true, tiers: []string{"priority"}, cacheTTL1h: true}
	case has("amazon.nova-2-lite", "openai.gpt-oss", "deepseek.v3"):
		return features{structured: true, tiers: []string{"priority", "flex"}}
	case has("mistral.mistral-large-3", "meta.llama4"):
		return features{structured: true}
	}
	return features{}
}

// checkOutputConfig applies the outputConfig, strict tool and serviceTier
// rules: each is refused on a model that lacks it, as Bedrock does.
func checkOutputConfig(c *call) *apiError {
	f := featuresOf(c.model.ID)
	if oc := c.req.OutputConfig; oc != nil {
		if tf := oc.TextFormat; tf != nil {
			if !f.structured {
				return validation("This model doesn't support structured output. Remove outputConfig.textFormat and try again with a supported model.")
			}
			if tf.Type != "json_schema" {
				return constraint(tf.Type, "outputConfig.textFormat.type", "Member must satisfy enum value set: [json_schema]")
			}
			if tf.Structure == nil || tf.Structure.JSONSchema == nil {
				return constraint(nil, "outputConfig.textFormat.structure", "")
			}
			var schema map[string]any
			if err := json.Unmarshal([]byte(tf.Structure.JSONSchema.Schema), &schema); err != nil {
				return validation("The JSON schema at outputConfig.textFormat.structure.jsonSchema.schema is not a valid JSON object.")
			}
		}
		if oc.Effort != "" {
			if !f.effort {
				return modelError("output_config.effort: This model does not support the effort parameter.")
			}
			if !slices.Contains([]string{"low", "medium", "high", "xhigh", "max"}, oc.Effort) {
				return constraint(oc.Effort, "outputConfig.effort", "Member must satisfy enum value set: [low, medium, high, xhigh, max]")
			}
			if (oc.Effort == "xhigh" || oc.Effort == "max") && !c.thinkingOn {
				return modelError("output_config.effort: effort '%s' requires thinking; use high or below, or enable thinking.", oc.Effort)
			}
		}
	}
	if tc := c.req.ToolConfig; tc != nil && !f.structured {
		for i, t := range tc.Tools {
			if t.ToolSpec != nil && t.ToolSpec.Strict != nil && *t.ToolSpec.Strict {
				return validation("This model doesn't support strict tool use. Remove strict from toolConfig.tools.%d.toolSpec and try again.", i)
			}
		}
	}
	if st := c.req.ServiceTier; st != nil {
		switch {
		case !slices.Contains([]string{"priority", "default", "flex", "reserved"}, st.Type):
			return constraint(st.Type, "serviceTier.type", "Member must satisfy enum value set: [priority, default, flex, reserved]")
		case st.Type != "default" && !slices.Contains(f.tiers, st.Type):
			return validation("The provided service tier %s is not supported for this model in this Region.", st.Type)
		}
	}
	return nil
}

// servedTier is the tier a response reports: the one asked for, default
// when none was.
func servedTier(req converseRequest) string {
	if req.ServiceTier != nil && req.ServiceTier.Type != "" {
		return req.ServiceTier.Type
	}
	return "default"
}

// conformingJSON is the answer under structured output: a JSON value that
// fits the schema (required properties, or all, with values of their type;
// an enum's first value).
func conformingJSON(schema string) string {
	var v map[string]any
	_ = json.Unmarshal([]byte(schema), &v)
	b, _ := json.Marshal(sample(v, 0))
	return string(b)
}

func sample(s map[string]any, depth int) any {
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	typ, _ := s["type"].(string)
	if depth > 8 {
		return nil
	}
	switch typ {
	case "object", "":
		props, _ := s["properties"].(map[string]any)
		out := map[string]any{}
		want := map[string]bool{}
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if k, ok := r.(string); ok {
					want[k] = true
				}
			}
		}
		for k, p := range props {
			if ps, ok := p.(map[string]any); ok && (len(want) == 0 || want[k]) {
				out[k] = sample(ps, depth+1)
			}
		}
		return out
	case "array":
		return []any{}
	case "string":
		return "emulated"
	case "integer", "number":
		return 0
	case "boolean":
		return false
	}
	return nil
}

// The emulated guardrail: calls may name it with any numeric version or
// DRAFT; it blocks prompts holding GuardrailBlockedWord.
const (
	GuardrailID          = "gr-emulated"
	GuardrailBlockedWord = "forbidden"
	// GuardrailMessage replaces the answer when the guardrail intervenes.
	GuardrailMessage = "Sorry, the model cannot answer this question."
)

// checkGuardrail validates guardrailConfig as Bedrock does.
func checkGuardrail(c *call) *apiError {
	g := c.req.GuardrailConfig
	if g == nil {
		return nil
	}
	switch {
	case g.GuardrailIdentifier == "":
		return constraint(nil, "guardrailConfig.guardrailIdentifier", "")
	case g.GuardrailVersion == "":
		return constraint(nil, "guardrailConfig.guardrailVersion", "")
	case g.Trace != "" && !slices.Contains([]string{"enabled", "disabled", "enabled_full"}, g.Trace):
		return constraint(g.Trace, "guardrailConfig.trace", "Member must satisfy enum value set: [enabled, disabled, enabled_full]")
	case c.streamMode != "" && c.streamMode != "sync" && c.streamMode != "async":
		return constraint(c.streamMode, "guardrailConfig.streamProcessingMode", "Member must satisfy enum value set: [sync, async]")
	case g.GuardrailIdentifier != GuardrailID && !strings.HasSuffix(g.GuardrailIdentifier, ":guardrail/"+GuardrailID):
		return validation("The guardrail identifier or version provided in the request does not exist.")
	case g.GuardrailVersion != "DRAFT" && strings.Trim(g.GuardrailVersion, "0123456789") != "":
		return constraint(g.GuardrailVersion, "guardrailConfig.guardrailVersion", "Member must satisfy regular expression pattern: (([1-9][0-9]{0,7})|(DRAFT))")
	}
	return nil
}

// guardrailIntervenes reports whether the guardrail blocks the call's
// prompt, and the trace Bedrock returns when the trace is on.
func guardrailIntervenes(c *call, prompt string) (bool, json.RawMessage) {
	g := c.req.GuardrailConfig
	if g == nil || !strings.Contains(strings.ToLower(prompt), GuardrailBlockedWord) {
		return false, nil
	}
	if g.Trace != "enabled" && g.Trace != "enabled_full" {
		return true, nil
	}
	trace, _ := json.Marshal(map[string]any{"guardrail": map[string]any{"inputAssessment": map[string]any{GuardrailID: map[string]any{
		"wordPolicy": map[string]any{"customWords": []any{map[string]any{"match": GuardrailBlockedWord, "action": "BLOCKED", "detected": true}}}}}}})
	return true, trace
}

// splitStreamMode takes guardrailConfig.streamProcessingMode, a member of
// ConverseStream's GuardrailStreamConfiguration only, out of a body, so the
// rest decodes as a Converse request.
func splitStreamMode(body []byte) ([]byte, string) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top["guardrailConfig"] == nil {
		return body, ""
	}
	var g map[string]json.RawMessage
	if json.Unmarshal(top["guardrailConfig"], &g) != nil || g["streamProcessingMode"] == nil {
		return body, ""
	}
	var mode string
	_ = json.Unmarshal(g["streamProcessingMode"], &mode)
	delete(g, "streamProcessingMode")
	top["guardrailConfig"], _ = json.Marshal(g)
	out, err := json.Marshal(top)
	if err != nil {
		return body, ""
	}
	return out, mode
}
