package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/openbedrock/gateway/app/openai"
)

// MaxChoices is the largest `n` accepted: each choice is one Bedrock call.
const MaxChoices = 8

// Translator turns OpenAI chat requests into Bedrock Converse calls.
type Translator struct {
	// PromptCaching adds cache points after the system prompt and the last
	// user turn for models that support them (ENABLE_PROMPT_CACHING).
	PromptCaching bool
	// Media fetches and decodes image and file parts.
	Media *MediaFetcher
	// MaxInputTokens (MAX_INPUT_TOKENS) caps a request's estimated input
	// tokens times its n choices; 0 means DefaultMaxInputTokens.
	MaxInputTokens int64
	// PromptCacheTTL is the TTL of the cache points PromptCaching adds ("",
	// 5m or 1h; PROMPT_CACHE_TTL). A 1h TTL, here or in a request's
	// cache_control, becomes the default 5 minutes on models without it.
	PromptCacheTTL string
	// ServiceTiers is the Bedrock service tier (default, flex, priority)
	// used when a request asks for none or for auto, keyed by catalogue id,
	// foundation-model id or "*" (SERVICE_TIERS).
	ServiceTiers map[string]string
	// Guardrail is applied to every call when set.
	Guardrail *Guardrail
}

// Call is an OpenAI request translated for Bedrock.
type Call struct {
	Input *bedrockruntime.ConverseInput
	// JSONTool names the forced tool that carries a response_format answer;
	// its input is returned to the client as message content.
	JSONTool string
	// JSONWrapped is true when a non-object schema was wrapped in {"value": ...}.
	JSONWrapped bool
	// N is the number of choices requested.
	N int
	// GuardrailStreamMode is how ConverseStream applies the guardrail.
	GuardrailStreamMode types.GuardrailStreamProcessingMode
}

// StreamInput returns the same call as a ConverseStream input.
func (c *Call) StreamInput() *bedrockruntime.ConverseStreamInput {
	in := c.Input
	return &bedrockruntime.ConverseStreamInput{
		ModelId:                           in.ModelId,
		Messages:                          in.Messages,
		System:                            in.System,
		InferenceConfig:                   in.InferenceConfig,
		ToolConfig:                        in.ToolConfig,
		AdditionalModelRequestFields:      in.AdditionalModelRequestFields,
		AdditionalModelResponseFieldPaths: in.AdditionalModelResponseFieldPaths,
		RequestMetadata:                   in.RequestMetadata,
		ServiceTier:                       in.ServiceTier,
		OutputConfig:                      in.OutputConfig,
		GuardrailConfig:                   streamGuardrail(in.GuardrailConfig, c.GuardrailStreamMode),
	}
}

// reasoningEfforts are the thinking budgets of reasoning_effort on the Claude
// models that take a budget (up to Opus 4.5).
var reasoningEfforts = map[string]int{"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "xhigh": 32768}

// Translate builds the Converse call for req against model m, step by
// step: the choices, the inference parameters, reasoning, the tools and
// response format, the messages, and prompt caching.
func (t *Translator) Translate(ctx context.Context, req *openai.ChatCompletionRequest, m Model) (*Call, error) {
	q := m.quirks()
	n, err := choices(req)
	if err != nil {
		return nil, err
	}
	call := &Call{N: n, Input: &bedrockruntime.ConverseInput{ModelId: aws.String(m.ID)}}
	in := call.Input

	tier, err := t.serviceTier(req, m, q)
	if err != nil {
		return nil, err
	}
	in.ServiceTier = tier
	if in.GuardrailConfig, call.GuardrailStreamMode, err = t.guardrail(req); err != nil {
		return nil, err
	}
	extra, caching, err := extraFields(req)
	if err != nil {
		return nil, err
	}
	caching = t.caching(caching, q)
	cfg, err := inferenceConfig(req, q)
	if err != nil {
		return nil, err
	}
	thinking, effort, err := t.reasoning(req, q, cfg, extra)
	if err != nil {
		return nil, err
	}
	tools, err := toolsFor(req, q, thinking)
	if err != nil {
		return nil, err
	}
	if effort != "" || tools.native != nil {
		in.OutputConfig = &types.OutputConfig{TextFormat: tools.native}
		if effort != "" {
			in.OutputConfig.Effort = aws.String(effort)
		}
	}
	call.JSONTool, call.JSONWrapped = tools.jsonTool, tools.jsonWrapped

	ctx, err = t.Media.begin(ctx, req.Messages)
	if err != nil {
		return nil, err
	}
	conv, err := t.messages(ctx, req.Messages, m, q, tools.keep, thinking)
	if err != nil {
		return nil, err
	}
	if thinking && conv.lastToolTurnWithoutReasoning {
		// Claude rejects a tool-use turn without its thinking block while
		// thinking is on; clients that dropped the block get thinking off.
		delete(extra, "thinking")
		thinking = false
		for i := range conv.turns {
			conv.turns[i].Content = dropReasoning(conv.turns[i].Content)
		}
	}
	if call.JSONTool != "" && (thinking || !q.forcedTools) {
		conv.system = append(conv.system, &types.SystemContentBlockMemberText{
			Value: fmt.Sprintf("Give your final answer by calling the %s tool.", call.JSONTool)})
	}
	caching.apply(conv, types.CacheTTL(t.PromptCacheTTL))
	in.Messages = conv.turns
	in.System = conv.system
	in.ToolConfig = tools.config(req.Tools, q)
	if cfg.MaxTokens != nil || cfg.Temperature != nil || cfg.TopP != nil || len(cfg.StopSequences) > 0 {
		in.InferenceConfig = cfg
	}
	if len(extra) > 0 {
		in.AdditionalModelRequestFields = document.NewLazyDocument(extra)
	}
	if !q.cacheTTL1h {
		fitCacheTTL(in)
	}
	if err := checkInputBudget(call, t.MaxInputTokens); err != nil {
		return nil, err
	}
	return call, nil
}

// choices reads `n`: each choice is one Converse call.
func choices(req *openai.ChatCompletionRequest) (int, error) {
	if req.N == nil {
		return 1, nil
	}
	switch n := *req.N; {
	case n < 1 || n > MaxChoices:
		return 0, badRequest("n", "n must be between 1 and %d", MaxChoices)
	case n > 1 && req.Stream:
		return 0, badRequest("n", "n > 1 is not supported with stream: true")
	default:
		return n, nil
	}
}

// inferenceConfig maps the sampling parameters; Bedrock gets it only when
// one is set.
func inferenceConfig(req *openai.ChatCompletionRequest, q quirks) (*types.InferenceConfiguration, error) {
	cfg := &types.InferenceConfiguration{}
	maxTokens := req.MaxCompletionTokens
	param := "max_completion_tokens"
	if maxTokens == nil {
		maxTokens, param = req.MaxTokens, "max_tokens"
	}
	if maxTokens != nil {
		if *maxTokens < 1 {
			return nil, badRequest(param, "%s must be at least 1", param)
		}
		cfg.MaxTokens = aws.Int32(int32(min(*maxTokens, 1<<30)))
	}
	if v := req.Temperature; v != nil {
		if *v < 0 || *v > 2 {
			return nil, badRequest("temperature", "temperature must be between 0 and 2")
		}
		// Bedrock models take 0..1; OpenAI allows up to 2.
		cfg.Temperature = aws.Float32(float32(min(*v, 1)))
	}
	if v := req.TopP; v != nil {
		if *v < 0 || *v > 1 {
			return nil, badRequest("top_p", "top_p must be between 0 and 1")
		}
		cfg.TopP = aws.Float32(float32(*v))
	}
	if len(req.Stop) > 0 {
		cfg.StopSequences = slices.DeleteFunc(slices.Clone([]string(req.Stop)), func(s string) bool { return s == "" })
	}
	if cfg.Temperature != nil && cfg.TopP != nil && q.tempXorTopP {
		cfg.TopP = nil
	}
	return cfg, nil
}

// toolPlan is what the tools step decided: the tool specifications (the
// response format's forced tool last), the tool choice, whether Bedrock
// gets tools at all, and the response format's tool.
type toolPlan struct {
	specs       []types.ToolSpecification
	choice      types.ToolChoice
	keep        bool
	jsonTool    string
	jsonWrapped bool
	// native is the response format as Converse's native structured
	// output, when the model has it; there is no forced tool then.
	native *types.OutputFormat
}

// toolsFor maps tools, tool_choice and response_format. With thinking on,
// a response format's tool is asked for rather than forced.
func toolsFor(req *openai.ChatCompletionRequest, q quirks, thinking bool) (toolPlan, error) {
	specs, err := toolSpecs(req.Tools)
	if err != nil {
		return toolPlan{}, err
	}
	if !q.structured { // strict is enforced natively only; elsewhere the schema still guides
		for i := range specs {
			specs[i].Strict = nil
		}
	}
	native, err := nativeFormat(req.ResponseFormat, q)
	if err != nil {
		return toolPlan{}, err
	}
	p := toolPlan{specs: specs, keep: len(specs) > 0 && (req.ToolChoice == nil || req.ToolChoice.Mode != "none")}
	if native != nil {
		p.native = native.TextFormat
	}
	if p.keep && req.ToolChoice != nil {
		switch req.ToolChoice.Mode {
		case "required":
			p.choice = &types.ToolChoiceMemberAny{}
		case "function":
			if !slices.ContainsFunc(specs, func(s types.ToolSpecification) bool { return aws.ToString(s.Name) == req.ToolChoice.Function }) {
				return toolPlan{}, badRequest("tool_choice", "tool_choice names function %q, which is not in tools", req.ToolChoice.Function)
			}
			p.choice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(req.ToolChoice.Function)}}
		}
	}
	if rf := req.ResponseFormat; rf != nil && native == nil {
		spec, wrapped, err := responseFormatTool(rf)
		if err != nil {
			return toolPlan{}, err
		}
		if spec != nil {
			p.jsonTool, p.jsonWrapped = aws.ToString(spec.Name), wrapped
			p.specs = append(p.specs, *spec)
			p.keep = true
			switch {
			case !q.forcedTools || thinking:
				// Thinking forbids forced tool use; ask instead.
			case len(p.specs) == 1:
				p.choice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: spec.Name}}
			default:
				p.choice = &types.ToolChoiceMemberAny{}
			}
		}
	}
	if !q.forcedTools {
		p.choice = nil
	}
	return p, nil
}

// config is the Converse tool configuration, nil without tools; a tool with
// cache_control is followed by a cache point where the model has them.
func (p toolPlan) config(tools []openai.Tool, q quirks) *types.ToolConfiguration {
	if !p.keep {
		return nil
	}
	tc := &types.ToolConfiguration{ToolChoice: p.choice}
	for i := range p.specs {
		tc.Tools = append(tc.Tools, &types.ToolMemberToolSpec{Value: p.specs[i]})
		if i < len(tools) && tools[i].CacheControl != nil && q.promptCache {
			tc.Tools = append(tc.Tools, &types.ToolMemberCachePoint{Value: cachePoint(tools[i].CacheControl)})
		}
	}
	return tc
}

// reasoning maps reasoning_effort and an explicit thinking object onto the
// model's own reasoning switch. It reports whether Claude thinking is on.
func (t *Translator) reasoning(req *openai.ChatCompletionRequest, q quirks, cfg *types.InferenceConfiguration, extra map[string]any) (thinking bool, effort string, err error) {
	level := req.ReasoningEffort
	if level != "" && level != "none" {
		if _, ok := reasoningEfforts[level]; !ok {
			return false, "", badRequest("reasoning_effort", "reasoning_effort must be one of none, minimal, low, medium, high, xhigh")
		}
	}
	if len(req.Thinking) > 0 {
		var v any
		if err := json.Unmarshal(req.Thinking, &v); err != nil {
			return false, "", badRequest("thinking", "thinking must be a JSON object")
		}
		extra["thinking"] = v
	}
	if v, ok := extra["thinking"]; ok && v == nil {
		delete(extra, "thinking") // "thinking": null means no thinking object
	}
	_, explicit := extra["thinking"]
	if level != "" && level != "none" {
		switch {
		case q.reasoning == reasoningAnthropic && q.adaptive:
			// Claude 4.6 and later: adaptive thinking, its depth set by the
			// effort; an explicit thinking object wins, but an adaptive one
			// still takes the effort.
			if !explicit {
				extra["thinking"] = map[string]any{"type": "adaptive"}
			}
			if th, _ := extra["thinking"].(map[string]any); q.effort && th["type"] == "adaptive" {
				effort = claudeEffort(level)
			}
		case explicit:
		case q.reasoning == reasoningAnthropic:
			budget := reasoningEfforts[level]
			if cfg.MaxTokens != nil {
				mt := int(*cfg.MaxTokens)
				if mt <= 1024 {
					return false, "", badRequest("max_tokens", "reasoning needs max_tokens above 1024 for this model, got %d", mt)
				}
				budget = max(1024, min(budget, mt/2))
			}
			extra["thinking"] = map[string]any{"type": "enabled", "budget_tokens": budget}
		case q.reasoning == reasoningDeepSeek:
			extra["reasoning_config"] = effortLevel(level)
		case q.reasoning == reasoningNova:
			extra["reasoningConfig"] = map[string]any{"type": "enabled", "maxReasoningEffort": effortLevel(level)}
		case q.reasoning == reasoningOpenAI:
			extra["reasoning_effort"] = effortLevel(level)
		}
	}
	th, ok := extra["thinking"].(map[string]any)
	if !ok || th["type"] != "enabled" && th["type"] != "adaptive" {
		return false, "", nil
	}
	// Claude thinking: temperature must be 1 (default) and top_p unset, and
	// max tokens must exceed the budget.
	cfg.Temperature, cfg.TopP = nil, nil
	if th["type"] == "adaptive" {
		return true, effort, nil
	}
	budget, err := thinkingBudget(th["budget_tokens"])
	if err != nil {
		return false, "", err
	}
	if cfg.MaxTokens == nil {
		cfg.MaxTokens = aws.Int32(int32(budget) + 4096)
	}
	return true, effort, nil
}

// maxThinkingBudget bounds thinking.budget_tokens so that budget + 4096
// (the max_tokens given when the request sets none) fits Bedrock's int32.
const maxThinkingBudget = 1 << 30

// thinkingBudget reads thinking.budget_tokens: a whole number from 1 to
// maxThinkingBudget (Bedrock says if the model wants at least 1024).
func thinkingBudget(v any) (int, error) {
	switch b := v.(type) {
	case int:
		if b >= 1 && b <= maxThinkingBudget {
			return b, nil
		}
	case float64:
		if b >= 1 && b <= maxThinkingBudget && b == math.Trunc(b) {
			return int(b), nil
		}
	}
	return 0, badRequest("thinking.budget_tokens", "thinking.budget_tokens must be a whole number from 1 to %d", maxThinkingBudget)
}

// claudeEffort maps reasoning_effort onto Claude's effort levels (low,
// medium, high, xhigh, max).
func claudeEffort(level string) string {
	if level == "minimal" {
		return "low"
	}
	return level
}

// effortLevel maps reasoning_effort onto the low/medium/high scale of
// Nova 2, gpt-oss and DeepSeek.
func effortLevel(e string) string {
	switch e {
	case "minimal":
		return "low"
	case "xhigh":
		return "high"
	}
	return e
}

// cachingSwitch says where prompt cache points go: after the system
// prompt, after the last user turn.
type cachingSwitch struct{ system, messages bool }

func (c cachingSwitch) or(o cachingSwitch) cachingSwitch {
	return cachingSwitch{c.system || o.system, c.messages || o.messages}
}

// caching combines the request's switch with ENABLE_PROMPT_CACHING, for
// models that take cache points.
func (t *Translator) caching(req cachingSwitch, q quirks) cachingSwitch {
	if t.PromptCaching {
		req = cachingSwitch{system: true, messages: true}.or(req)
	}
	return cachingSwitch{system: req.system && q.promptCache, messages: req.messages && q.promptCache}
}

// apply adds the cache points to the conversation.
func (c cachingSwitch) apply(conv *conversation, ttl types.CacheTTL) {
	if c.system && len(conv.system) > 0 {
		conv.system = append(conv.system, &types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault, Ttl: ttl}})
	}
	if c.messages {
		addCachePointToLastUser(conv.turns, ttl)
	}
}

// extraFields collects the keys that go to additionalModelRequestFields: the
// non-OpenAI top-level keys and the literal extra_body object. The
// reference's extra_body.prompt_caching switch is read here.
func extraFields(req *openai.ChatCompletionRequest) (map[string]any, cachingSwitch, error) {
	var caching cachingSwitch
	out := make(map[string]any, len(req.Extra)+len(req.ExtraBody))
	for _, src := range []map[string]json.RawMessage{req.Extra, req.ExtraBody} {
		for _, k := range slices.Sorted(maps.Keys(src)) {
			if k == "prompt_caching" {
				var pc struct {
					System   bool `json:"system"`
					Messages bool `json:"messages"`
				}
				if err := json.Unmarshal(src[k], &pc); err != nil {
					return nil, caching, badRequest("extra_body.prompt_caching", "prompt_caching must be {\"system\":bool,\"messages\":bool}")
				}
				caching = cachingSwitch{pc.System, pc.Messages}
				continue
			}
			var v any
			if err := json.Unmarshal(src[k], &v); err != nil {
				return nil, caching, badRequest(k, "invalid JSON in %s", k)
			}
			out[k] = v
		}
	}
	return out, caching, nil
}

var toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func toolSpecs(tools []openai.Tool) ([]types.ToolSpecification, error) {
	specs := make([]types.ToolSpecification, 0, len(tools))
	for i, tl := range tools {
		if tl.Type != "function" {
			return nil, badRequest(fmt.Sprintf("tools[%d].type", i), "tools[%d].type must be \"function\", got %q", i, tl.Type)
		}
		if !toolNameRE.MatchString(tl.Function.Name) {
			return nil, badRequest(fmt.Sprintf("tools[%d].function.name", i), "tools[%d].function.name must match ^[a-zA-Z0-9_-]{1,64}$", i)
		}
		schema, err := schemaDoc(tl.Function.Parameters)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("tools[%d].function.parameters", i), "tools[%d].function.parameters: %v", i, err)
		}
		spec := types.ToolSpecification{Name: aws.String(tl.Function.Name), InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schema)}}
		if tl.Function.Strict != nil && *tl.Function.Strict {
			spec.Strict = aws.Bool(true)
		}
		if d := strings.TrimSpace(tl.Function.Description); d != "" {
			spec.Description = aws.String(d)
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// schemaDoc decodes a JSON Schema; a missing schema means "no parameters".
func schemaDoc(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{"type": "object", "properties": map[string]any{}}, nil
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		return nil, fmt.Errorf("must be a JSON Schema object")
	}
	return schema, nil
}

// responseFormatTool returns the forced tool that makes the answer conform to
// a json_object or json_schema response format.
func responseFormatTool(rf *openai.ResponseFormat) (*types.ToolSpecification, bool, error) {
	switch rf.Type {
	case "", "text":
		return nil, false, nil
	case "json_object":
		schema := map[string]any{"type": "object", "additionalProperties": true}
		return &types.ToolSpecification{
			Name:        aws.String("json_response"),
			Description: aws.String("Answer with a JSON object."),
			InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schema)},
		}, false, nil
	case "json_schema":
		js := rf.JSONSchema
		if js == nil {
			return nil, false, badRequest("response_format.json_schema", "response_format.json_schema is required for type json_schema")
		}
		name := js.Name
		if !toolNameRE.MatchString(name) {
			return nil, false, badRequest("response_format.json_schema.name", "response_format.json_schema.name must match ^[a-zA-Z0-9_-]{1,64}$")
		}
		schema, err := schemaDoc(js.Schema)
		if err != nil {
			return nil, false, badRequest("response_format.json_schema.schema", "response_format.json_schema.schema %v", err)
		}
		wrapped := false
		if schema["type"] != "object" {
			schema = map[string]any{"type": "object", "properties": map[string]any{"value": schema}, "required": []any{"value"}}
			wrapped = true
		}
		desc := js.Description
		if desc == "" {
			desc = "Answer in this structure."
		}
		return &types.ToolSpecification{
			Name:        aws.String(name),
			Description: aws.String(desc),
			InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schema)},
		}, wrapped, nil
	}
	return nil, false, badRequest("response_format.type", "response_format.type must be text, json_object or json_schema, got %q", rf.Type)
}

func cachePoint(cc *openai.CacheControl) types.CachePointBlock {
	cp := types.CachePointBlock{Type: types.CachePointTypeDefault}
	if cc != nil && (cc.TTL == "5m" || cc.TTL == "1h") {
		cp.Ttl = types.CacheTTL(cc.TTL)
	}
	return cp
}

func addCachePointToLastUser(turns []types.Message, ttl types.CacheTTL) {
	for i := len(turns) - 1; i >= 0; i-- {
		if turns[i].Role != types.ConversationRoleUser {
			continue
		}
		c := turns[i].Content
		if len(c) > 0 {
			if _, ok := c[len(c)-1].(*types.ContentBlockMemberCachePoint); ok {
				return
			}
		}
		turns[i].Content = append(c, &types.ContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault, Ttl: ttl}})
		return
	}
}

// fitCacheTTL drops a 1h TTL from every cache point, for the models that
// only keep the cache 5 minutes (Bedrock refuses the 1h TTL there).
func fitCacheTTL(in *bedrockruntime.ConverseInput) {
	fit := func(cp *types.CachePointBlock) {
		if cp.Ttl == types.CacheTTLOneHour {
			cp.Ttl = ""
		}
	}
	for _, b := range in.System {
		if cp, ok := b.(*types.SystemContentBlockMemberCachePoint); ok {
			fit(&cp.Value)
		}
	}
	for _, m := range in.Messages {
		for _, b := range m.Content {
			if cp, ok := b.(*types.ContentBlockMemberCachePoint); ok {
				fit(&cp.Value)
			}
		}
	}
	if in.ToolConfig != nil {
		for _, tl := range in.ToolConfig.Tools {
			if cp, ok := tl.(*types.ToolMemberCachePoint); ok {
				fit(&cp.Value)
			}
		}
	}
}
