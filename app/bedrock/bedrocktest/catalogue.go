package bedrocktest

import (
	"slices"
	"strings"
)

// Region and AccountID appear in every ARN the emulator reports.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
)

// Model is a foundation model in the emulated catalogue.
type Model struct {
	// ID is the foundation-model id, e.g. anthropic.claude-haiku-4-5-20251001-v1:0.
	ID string
	// Name is the model name ListFoundationModels reports, e.g. "Claude Haiku 4.5".
	Name string
	// Provider is the provider name, e.g. "Anthropic".
	Provider string
	// InputModalities lists TEXT, IMAGE, ...; Converse rejects images unless IMAGE is listed.
	InputModalities []string
	// OutputModalities lists TEXT, IMAGE or EMBEDDING; Converse only serves TEXT models.
	OutputModalities []string
	// Streaming reports whether ConverseStream is supported.
	Streaming bool
	// InferenceTypes lists ON_DEMAND, PROVISIONED and INFERENCE_PROFILE; empty means ON_DEMAND.
	InferenceTypes []string
	// Status is ACTIVE (the default when empty), LEGACY, or StatusEOL for a
	// retired model.
	Status string
	// Profiles lists the geographies (us, eu, apac, jp, au, global) that have a
	// SYSTEM_DEFINED inference profile "<geo>.<ID>" for this model.
	Profiles []string
}

// ARN is the model's foundation-model ARN in Region.
func (m Model) ARN() string { return foundationModelARN(Region, m.ID) }

func (m Model) status() string {
	if m.Status == "" {
		return "ACTIVE"
	}
	return m.Status
}

func (m Model) inferenceTypes() []string {
	if len(m.InferenceTypes) == 0 {
		return []string{"ON_DEMAND"}
	}
	return m.InferenceTypes
}

func (m Model) accepts(modality string) bool { return slices.Contains(m.InputModalities, modality) }

func (m Model) isAnthropic() bool { return strings.HasPrefix(m.ID, "anthropic.") }

// retired reports whether Bedrock has ended the model's life.
func (m Model) retired() bool { return m.Status == StatusEOL }

// ApplicationProfile is an APPLICATION inference profile: a customer-made
// alias, addressed by ARN, for a foundation model or a system profile.
type ApplicationProfile struct {
	// ID is the profile id, the last segment of its ARN, e.g. "abc123".
	ID string
	// Name is the profile name, e.g. "team-chat".
	Name string
	// Target is a foundation-model id or a system inference-profile id.
	Target string
}

// ARN is the application profile's ARN, the id runtime calls use.
func (p ApplicationProfile) ARN() string {
	return "arn:aws:bedrock:" + Region + ":" + AccountID + ":application-inference-profile/" + p.ID
}

// DefaultModels returns the default catalogue: Bedrock in us-east-1 as of
// late 2026 (the AWS and Anthropic model tables, ListFoundationModels and
// inference-profile ids quoted in public code of that time): current Claude,
// Nova, Llama 4, Mistral Large 3, DeepSeek V3.x and gpt-oss models, one
// LEGACY model (Claude Opus 4.1), the models Bedrock has retired (Status
// EOL: not listed, and runtime calls get the end-of-life error), and the
// embedding models the gateway supports.
func DefaultModels() []Model {
	text := []string{"TEXT"}
	textImage := []string{"TEXT", "IMAGE"}
	multimodal := []string{"TEXT", "IMAGE", "VIDEO"}
	embedding := []string{"EMBEDDING"}
	onDemand := []string{"ON_DEMAND"}
	profileOnly := []string{"INFERENCE_PROFILE"}
	both := []string{"ON_DEMAND", "INFERENCE_PROFILE"}
	claude := func(id, name string, geos ...string) Model {
		return Model{ID: id, Name: name, Provider: "Anthropic", InputModalities: textImage, OutputModalities: text,
			Streaming: true, InferenceTypes: profileOnly, Profiles: geos}
	}
	retired := func(m Model) Model { m.Status = StatusEOL; return m }
	legacy := func(m Model) Model { m.Status = "LEGACY"; return m }
	return []Model{
		claude("anthropic.claude-haiku-4-5-20251001-v1:0", "Claude Haiku 4.5", "us", "eu", "global"),
		claude("anthropic.claude-sonnet-4-5-20250929-v1:0", "Claude Sonnet 4.5", "us", "eu", "jp", "global"),
		claude("anthropic.claude-sonnet-4-6", "Claude Sonnet 4.6", "us", "eu", "jp", "global"),
		claude("anthropic.claude-opus-4-5-20251101-v1:0", "Claude Opus 4.5", "us", "eu", "global"),
		claude("anthropic.claude-opus-4-6-v1", "Claude Opus 4.6", "us", "eu", "jp", "apac", "global"),
		claude("anthropic.claude-opus-4-7", "Claude Opus 4.7", "us", "eu", "jp", "apac", "global"),
		claude("anthropic.claude-opus-4-8", "Claude Opus 4.8", "us", "eu", "jp", "apac", "global"),
		claude("anthropic.claude-sonnet-5", "Claude Sonnet 5", "us", "global"),
		legacy(claude("anthropic.claude-opus-4-1-20250805-v1:0", "Claude Opus 4.1", "us")),
		retired(claude("anthropic.claude-3-5-haiku-20241022-v1:0", "Claude 3.5 Haiku", "us")),
		retired(claude("anthropic.claude-3-7-sonnet-20250219-v1:0", "Claude 3.7 Sonnet", "us", "eu", "apac")),
		retired(claude("anthropic.claude-sonnet-4-20250514-v1:0", "Claude Sonnet 4", "us", "eu", "apac", "global")),
		retired(claude("anthropic.claude-opus-4-20250514-v1:0", "Claude Opus 4", "us")),
		retired(Model{ID: "anthropic.claude-3-haiku-20240307-v1:0", Name: "Claude 3 Haiku", Provider: "Anthropic",
			InputModalities: textImage, OutputModalities: text, Streaming: true, InferenceTypes: onDemand}),
		{ID: "amazon.nova-2-lite-v1:0", Name: "Nova 2 Lite", Provider: "Amazon",
			InputModalities: multimodal, OutputModalities: text, Streaming: true, InferenceTypes: both, Profiles: []string{"us", "eu", "global"}},
		{ID: "amazon.nova-micro-v1:0", Name: "Nova Micro", Provider: "Amazon",
			InputModalities: text, OutputModalities: text, Streaming: true, InferenceTypes: both, Profiles: []string{"us", "eu", "apac"}},
		{ID: "amazon.nova-lite-v1:0", Name: "Nova Lite", Provider: "Amazon",
			InputModalities: multimodal, OutputModalities: text, Streaming: true, InferenceTypes: both, Profiles: []string{"us", "eu", "apac"}},
		{ID: "amazon.nova-pro-v1:0", Name: "Nova Pro", Provider: "Amazon",
			InputModalities: multimodal, OutputModalities: text, Streaming: true, InferenceTypes: both, Profiles: []string{"us", "eu", "apac"}},
		retired(Model{ID: "amazon.nova-premier-v1:0", Name: "Nova Premier", Provider: "Amazon",
			InputModalities: multimodal, OutputModalities: text, Streaming: true, InferenceTypes: profileOnly, Profiles: []string{"us"}}),
		{ID: "meta.llama4-maverick-17b-instruct-v1:0", Name: "Llama 4 Maverick 17B Instruct", Provider: "Meta",
			InputModalities: textImage, OutputModalities: text, Streaming: true, InferenceTypes: profileOnly, Profiles: []string{"us"}},
		{ID: "meta.llama4-scout-17b-instruct-v1:0", Name: "Llama 4 Scout 17B Instruct", Provider: "Meta",
			InputModalities: textImage, OutputModalities: text, Streaming: true, InferenceTypes: profileOnly, Profiles: []string{"us"}},
		{ID: "meta.llama3-3-70b-instruct-v1:0", Name: "Llama 3.3 70B Instruct", Provider: "Meta",
			InputModalities: text, OutputModalities: text, Streaming: true, InferenceTypes: profileOnly, Profiles: []string{"us"}},
		{ID: "meta.llama3-1-8b-instruct-v1:0", Name: "Llama 3.1 8B Instruct", Provider: "Meta",
			InputModalities: text, OutputModalities: text, Streaming: true, InferenceTypes: both, Profiles: []string{"us"}},
		{ID: "mistral.mistral-large-3-675b-instruct", Name: "Mistral Large 3", Provider: "Mistral AI",
			InputModalities: textImage, OutputModalities: text, Streaming: true, InferenceTypes: onDemand},
		{ID: "deepseek.v3-v1:0", Name: "DeepSeek-V3.1", Provider: "DeepSeek",
			InputModalities: text, OutputModalities: text, Streaming: true, InferenceTypes: onDemand},
		{ID: "deepseek.v3.2", Name: "DeepSeek V3.2", Provider: "DeepSeek",
			InputModalities: text, OutputModalities: text, Streaming: true, InferenceTypes: onDemand},
		{ID: "deepseek.r1-v1:0", Name: "DeepSeek-R1", Provider: "DeepSeek",
			InputModalities: text, OutputModalities: text, Streaming: true, InferenceTypes: profileOnly, Profiles: []string{"us"}},
		{ID: "openai.gpt-oss-120b-1:0", Name: "gpt-oss-120b", Provider: "OpenAI",
			InputModalities: text, OutputModalities: text, Streaming: true, InferenceTypes: onDemand},
		{ID: "openai.gpt-oss-20b-1:0", Name: "gpt-oss-20b", Provider: "OpenAI",
			InputModalities: text, OutputModalities: text, Streaming: true, InferenceTypes: onDemand},
		{ID: "amazon.titan-embed-text-v1", Name: "Titan Embeddings G1 - Text", Provider: "Amazon",
			InputModalities: text, OutputModalities: embedding, InferenceTypes: onDemand},
		{ID: "amazon.titan-embed-text-v2:0", Name: "Titan Text Embeddings V2", Provider: "Amazon",
			InputModalities: text, OutputModalities: embedding, InferenceTypes: onDemand},
		{ID: "cohere.embed-english-v3", Name: "Embed English", Provider: "Cohere",
			InputModalities: textImage, OutputModalities: embedding, InferenceTypes: onDemand},
		{ID: "cohere.embed-multilingual-v3", Name: "Embed Multilingual", Provider: "Cohere",
			InputModalities: textImage, OutputModalities: embedding, InferenceTypes: onDemand},
		{ID: "cohere.embed-v4:0", Name: "Embed v4", Provider: "Cohere",
			InputModalities: textImage, OutputModalities: embedding, InferenceTypes: both, Profiles: []string{"us", "eu", "global"}},
		{ID: "amazon.nova-2-multimodal-embeddings-v1:0", Name: "Nova Multimodal Embeddings", Provider: "Amazon",
			InputModalities: []string{"TEXT", "IMAGE", "AUDIO", "VIDEO"}, OutputModalities: embedding, InferenceTypes: onDemand},
	}
}

// StatusEOL marks a model Bedrock has retired (end of life). The control
// plane no longer lists it or its profiles, and runtime calls naming it get
// ResourceNotFoundException with EndOfLifeMessage.
const StatusEOL = "EOL"

// EndOfLifeMessage is the message Bedrock answers a call to a retired model with.
const EndOfLifeMessage = "This model version has reached the end of its life. Please refer to the AWS documentation for more details."

// DefaultApplicationProfiles returns the default APPLICATION profiles: one
// over a system profile, one over a foundation model.
func DefaultApplicationProfiles() []ApplicationProfile {
	return []ApplicationProfile{
		{ID: "abc123", Name: "team-chat", Target: "us.anthropic.claude-haiku-4-5-20251001-v1:0"},
		{ID: "def456", Name: "batch-nova", Target: "amazon.nova-lite-v1:0"},
	}
}

// geoRegions lists the source regions of a geography's system profiles.
func geoRegions(geo string) []string {
	switch geo {
	case "us":
		return []string{"us-east-1", "us-east-2", "us-west-2"}
	case "eu":
		return []string{"eu-central-1", "eu-west-1", "eu-west-3"}
	case "apac":
		return []string{"ap-northeast-1", "ap-south-1", "ap-southeast-2"}
	case "jp":
		return []string{"ap-northeast-1", "ap-northeast-3"}
	case "au":
		return []string{"ap-southeast-2", "ap-southeast-4"}
	case "global":
		return []string{"us-east-1", "eu-west-1", "ap-northeast-1"}
	}
	return []string{Region}
}

func geoTitle(geo string) string {
	if geo == "global" {
		return "Global"
	}
	return strings.ToUpper(geo)
}

func foundationModelARN(region, id string) string {
	return "arn:aws:bedrock:" + region + "::foundation-model/" + id
}

func inferenceProfileARN(id string) string {
	return "arn:aws:bedrock:" + Region + ":" + AccountID + ":inference-profile/" + id
}

// profile is an inference profile as the control plane lists it.
type profile struct {
	id, arn, name, description, kind string
	models                           []string // foundation-model ARNs
}

// catalogue is a snapshot of the emulator's models and application profiles.
type catalogue struct {
	models []Model
	apps   []ApplicationProfile
}

func (c catalogue) model(id string) (Model, bool) {
	for _, m := range c.models {
		if m.ID == id {
			return m, true
		}
	}
	return Model{}, false
}

// systemProfile resolves "<geo>.<model id>".
func (c catalogue) systemProfile(id string) (Model, string, bool) {
	geo, rest, ok := strings.Cut(id, ".")
	if !ok {
		return Model{}, "", false
	}
	m, ok := c.model(rest)
	if !ok || !slices.Contains(m.Profiles, geo) {
		return Model{}, "", false
	}
	return m, geo, true
}

// resolve maps any runtime model identifier to its foundation model: a
// model id, a foundation-model ARN, a system profile id or ARN, or an
// application profile ARN.
func (c catalogue) resolve(id string) (Model, bool) {
	if m, ok := c.model(id); ok {
		return m, true
	}
	if m, _, ok := c.systemProfile(id); ok {
		return m, true
	}
	if !strings.HasPrefix(id, "arn:") {
		return Model{}, false
	}
	// arn:aws:bedrock:<region>:<account>:<resource-type>/<resource-id>
	parts := strings.SplitN(id, ":", 6)
	if len(parts) != 6 || parts[1] != "aws" || parts[2] != "bedrock" {
		return Model{}, false
	}
	kind, res, ok := strings.Cut(parts[5], "/")
	if !ok {
		return Model{}, false
	}
	switch kind {
	case "foundation-model":
		if parts[4] == "" {
			return c.model(res)
		}
	case "inference-profile":
		if m, _, ok := c.systemProfile(res); ok {
			return m, true
		}
	case "application-inference-profile":
		for _, p := range c.apps {
			if p.ARN() == id {
				return c.resolveTarget(p.Target)
			}
		}
	}
	return Model{}, false
}

func (c catalogue) resolveTarget(target string) (Model, bool) {
	if m, ok := c.model(target); ok {
		return m, true
	}
	m, _, ok := c.systemProfile(target)
	return m, ok
}

// profiles lists SYSTEM_DEFINED profiles (model order, then geography order)
// followed by the APPLICATION profiles whose target exists.
func (c catalogue) profiles() []profile {
	var ps []profile
	for _, m := range c.models {
		if m.retired() {
			continue
		}
		for _, geo := range m.Profiles {
			id := geo + "." + m.ID
			p := profile{
				id:          id,
				arn:         inferenceProfileARN(id),
				name:        geoTitle(geo) + " " + m.Provider + " " + m.Name,
				description: "Routes requests to " + m.Name + " in " + strings.Join(geoRegions(geo), ", ") + ".",
				kind:        "SYSTEM_DEFINED",
			}
			for _, r := range geoRegions(geo) {
				p.models = append(p.models, foundationModelARN(r, m.ID))
			}
			ps = append(ps, p)
		}
	}
	for _, a := range c.apps {
		m, ok := c.resolveTarget(a.Target)
		if !ok || m.retired() {
			continue
		}
		p := profile{id: a.ID, arn: a.ARN(), name: a.Name, description: "Application profile for " + a.Target + ".", kind: "APPLICATION"}
		if _, geo, ok := c.systemProfile(a.Target); ok {
			for _, r := range geoRegions(geo) {
				p.models = append(p.models, foundationModelARN(r, m.ID))
			}
		} else {
			p.models = []string{m.ARN()}
		}
		ps = append(ps, p)
	}
	return ps
}
