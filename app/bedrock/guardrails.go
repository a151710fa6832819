package bedrock

import (
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// Guardrail is the Amazon Bedrock guardrail applied to every chat call
// (GUARDRAIL_ID, GUARDRAIL_VERSION, GUARDRAIL_TRACE, GUARDRAIL_STREAM_MODE).
type Guardrail struct {
	ID, Version string
	// Trace is enabled, disabled or enabled_full; empty leaves Bedrock's default.
	Trace string
	// StreamMode is sync or async: how ConverseStream applies the guardrail.
	StreamMode string
	// AllowOverride lets a request name its own guardrail with a
	// guardrailConfig field (GUARDRAIL_ALLOW_REQUEST_OVERRIDE); without it
	// such a field is refused.
	AllowOverride bool
}

// requestGuardrail is the guardrailConfig field a request may send.
type requestGuardrail struct {
	GuardrailIdentifier  string `json:"guardrailIdentifier"`
	GuardrailVersion     string `json:"guardrailVersion"`
	Trace                string `json:"trace"`
	StreamProcessingMode string `json:"streamProcessingMode"`
}

// guardrail returns the guardrail of a call and its stream processing mode:
// the request's guardrailConfig field (taken out of the extra fields, so it
// never reaches additionalModelRequestFields) when overrides are allowed,
// else the configured one.
func (t *Translator) guardrail(req *openai.ChatCompletionRequest) (*types.GuardrailConfiguration, types.GuardrailStreamProcessingMode, error) {
	var raw json.RawMessage
	for _, m := range []map[string]json.RawMessage{req.Extra, req.ExtraBody} {
		if v, ok := m["guardrailConfig"]; ok {
			raw = v
			delete(m, "guardrailConfig")
		}
	}
	g := t.Guardrail
	if raw != nil {
		if g == nil || !g.AllowOverride {
			return nil, "", badRequest("guardrailConfig", "guardrailConfig is not allowed on this gateway (GUARDRAIL_ALLOW_REQUEST_OVERRIDE is off)")
		}
		var rg requestGuardrail
		if err := json.Unmarshal(raw, &rg); err != nil || rg.GuardrailIdentifier == "" || rg.GuardrailVersion == "" {
			return nil, "", badRequest("guardrailConfig", "guardrailConfig must be {\"guardrailIdentifier\": ..., \"guardrailVersion\": ..., \"trace\": ...}")
		}
		g = &Guardrail{ID: rg.GuardrailIdentifier, Version: rg.GuardrailVersion, Trace: rg.Trace, StreamMode: rg.StreamProcessingMode}
	}
	if g == nil || g.ID == "" {
		return nil, "", nil
	}
	out := &types.GuardrailConfiguration{GuardrailIdentifier: aws.String(g.ID), GuardrailVersion: aws.String(g.Version)}
	if g.Trace != "" {
		out.Trace = types.GuardrailTrace(g.Trace)
	}
	return out, types.GuardrailStreamProcessingMode(g.StreamMode), nil
}

// streamGuardrail is a Converse guardrail as ConverseStream takes it.
func streamGuardrail(g *types.GuardrailConfiguration, mode types.GuardrailStreamProcessingMode) *types.GuardrailStreamConfiguration {
	if g == nil {
		return nil
	}
	return &types.GuardrailStreamConfiguration{GuardrailIdentifier: g.GuardrailIdentifier, GuardrailVersion: g.GuardrailVersion,
		Trace: g.Trace, StreamProcessingMode: mode}
}

// GuardrailIntervened reports whether a guardrail stopped an answer, with
// its trace as JSON ("" when the trace is off), for the log.
func GuardrailIntervened(out *bedrockruntime.ConverseOutput) (trace string, ok bool) {
	if out == nil || out.StopReason != types.StopReasonGuardrailIntervened {
		return "", false
	}
	return traceJSON(out.Trace), true
}

// GuardrailIntervened reports whether a guardrail stopped the stream, with
// the trace of its metadata event as JSON.
func (s *Stream) GuardrailIntervened() (trace string, ok bool) {
	if !s.guardrailStop {
		return "", false
	}
	return traceJSON(s.trace), true
}

func traceJSON(v any) string {
	if v == nil || v == (*types.ConverseTrace)(nil) || v == (*types.ConverseStreamTrace)(nil) {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
