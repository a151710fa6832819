package cost

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
)

//go:embed prices.json
var embeddedPrices []byte

// Prices is the price data file: token prices per model and AWS
// infrastructure prices, with their sources.
type Prices struct {
	Version  string     `json:"version"`
	Currency string     `json:"currency"`
	Note     string     `json:"note,omitempty"`
	Tokens   TokenTable `json:"tokens"`
	Infra    InfraTable `json:"infrastructure"`
}

// TokenTable holds the Bedrock token prices.
type TokenTable struct {
	Source string `json:"source"`
	AsOf   string `json:"as_of"`
	Unit   string `json:"unit,omitempty"`
	// Models is keyed by foundation-model id (profiles resolve to theirs),
	// or by an inference-profile id priced differently (global. ...).
	Models map[string]ModelPrice `json:"models"`
	// ServiceTiers scales every token price by the Bedrock service tier a
	// response was served on (priority, flex).
	ServiceTiers *ServiceTiers `json:"service_tiers,omitempty"`
	// Unpriced lists models deliberately without a price, with why: "free"
	// or "unknown: ...". Requests on them still count as unknown cost.
	Unpriced map[string]string `json:"unpriced,omitempty"`
}

// ServiceTiers holds the price multiplier of each Bedrock service tier.
type ServiceTiers struct {
	Source string `json:"source,omitempty"`
	// Multipliers is keyed by tier (default, priority, flex); a tier not
	// listed costs the default price.
	Multipliers map[string]float64 `json:"multipliers"`
}

// ModelPrice is one model's prices, with overrides for the regions where
// they differ.
type ModelPrice struct {
	TokenPrice
	Regions map[string]TokenPrice `json:"regions,omitempty"`
	Note    string                `json:"note,omitempty"`
	// Unverified marks figures no source seen confirmed.
	Unverified bool `json:"unverified,omitempty"`
}

// TokenPrice is in USD per million tokens. A missing cache price is the
// input price; a missing 1-hour write price is the (5-minute) write price.
type TokenPrice struct {
	Input        float64  `json:"input"`
	Output       float64  `json:"output"`
	CacheRead    *float64 `json:"cache_read,omitempty"`
	CacheWrite   *float64 `json:"cache_write,omitempty"`
	CacheWrite1h *float64 `json:"cache_write_1h,omitempty"`
	// LongContext raises the prices of a request whose prompt (input and
	// cache tokens) exceeds a threshold, as Claude's 1M-token context does.
	LongContext *LongContext `json:"long_context,omitempty"`
}

// LongContext is a model's surcharge for long prompts.
type LongContext struct {
	AboveInputTokens int64   `json:"above_input_tokens"`
	InputMultiplier  float64 `json:"input_multiplier"`
	OutputMultiplier float64 `json:"output_multiplier"`
}

// InfraTable holds the AWS infrastructure prices.
type InfraTable struct {
	Source string `json:"source"`
	AsOf   string `json:"as_of"`
	Region string `json:"region"`
	// Items are keyed by the names Estimate uses (alb_hour, kms_key_month...).
	Items map[string]InfraPrice `json:"items"`
}

// InfraPrice is one infrastructure price.
type InfraPrice struct {
	USD    float64 `json:"usd"`
	Unit   string  `json:"unit"`
	Source string  `json:"source,omitempty"`
}

// Usage is the tokens of one response as Bedrock reports them: input
// excludes the cache reads and writes. CacheWrite counts every cache write;
// CacheWrite1h is the part written with a 1-hour TTL.
type Usage struct {
	Input, Output, CacheRead, CacheWrite, CacheWrite1h int64
}

// Add returns the sum of u and v.
func (u Usage) Add(v Usage) Usage {
	return Usage{u.Input + v.Input, u.Output + v.Output, u.CacheRead + v.CacheRead, u.CacheWrite + v.CacheWrite, u.CacheWrite1h + v.CacheWrite1h}
}

// Cost is the price of u in USD at the default service tier.
func (p TokenPrice) Cost(u Usage) float64 { return p.CostAt(u, 1) }

// CostAt is the price of u in USD with every token price scaled by tier (a
// service tier's multiplier, see Prices.TierMultiplier). A prompt longer
// than the model's long-context threshold is priced at its long-context rates.
func (p TokenPrice) CostAt(u Usage, tier float64) float64 {
	read, write := p.Input, p.Input
	if p.CacheRead != nil {
		read = *p.CacheRead
	}
	if p.CacheWrite != nil {
		write = *p.CacheWrite
	}
	write1h := write
	if p.CacheWrite1h != nil {
		write1h = *p.CacheWrite1h
	}
	in, out := tier, tier
	if lc := p.LongContext; lc != nil && u.Input+u.CacheRead+u.CacheWrite > lc.AboveInputTokens {
		in, out = in*lc.InputMultiplier, out*lc.OutputMultiplier
	}
	w1h := min(u.CacheWrite1h, u.CacheWrite)
	return (in*(float64(u.Input)*p.Input+float64(u.CacheRead)*read+float64(u.CacheWrite-w1h)*write+float64(w1h)*write1h) +
		out*float64(u.Output)*p.Output) / 1e6
}

// TierMultiplier is the price multiplier of a Bedrock service tier; 1 for
// the default tier, an empty one, and tiers the table does not list.
func (p *Prices) TierMultiplier(tier string) float64 {
	if p.Tokens.ServiceTiers == nil {
		return 1
	}
	if m, ok := p.Tokens.ServiceTiers.Multipliers[tier]; ok && m > 0 {
		return m
	}
	return 1
}

// DefaultPrices returns the embedded price data.
func DefaultPrices() (*Prices, error) {
	p, err := ParsePrices(embeddedPrices)
	if err != nil {
		return nil, fmt.Errorf("embedded prices.json: %w", err)
	}
	return p, nil
}

// LoadPrices returns the embedded prices, with the entries of the file at
// path (PRICES_FILE) replacing them; an empty path means the embedded ones.
func LoadPrices(path string) (*Prices, error) {
	p, err := DefaultPrices()
	if err != nil || path == "" {
		return p, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read prices file: %w", err)
	}
	over, err := parsePrices(b, false)
	if err != nil {
		return nil, fmt.Errorf("prices file %s: %w", path, err)
	}
	p.Merge(over)
	return p, nil
}

// ParsePrices decodes and checks a complete price file.
func ParsePrices(b []byte) (*Prices, error) { return parsePrices(b, true) }

func parsePrices(b []byte, complete bool) (*Prices, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Prices
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode prices: %w", err)
	}
	if err := p.check(complete); err != nil {
		return nil, err
	}
	return &p, nil
}

// infraItems are the infrastructure prices the topology estimate of
// cmd/costreport needs.
var infraItems = []string{
	"alb_hour", "alb_lcu_hour", "public_ipv4_hour", "nat_gateway_hour", "nat_gateway_gb",
	"route53_hosted_zone_month", "route53_million_queries", "kms_key_month", "kms_10k_requests", "kms_aws_managed_key_month",
	"secretsmanager_secret_month", "secretsmanager_10k_calls", "ssm_standard_parameter_month", "ssm_10k_api_calls",
	"lambda_million_requests", "lambda_gb_second_arm64", "lambda_gb_second_x86_64",
	"cloudwatch_logs_ingest_gb", "cloudwatch_logs_storage_gb", "cloudwatch_metric_month", "data_transfer_out_gb",
}

// Check reports what makes p unusable as a complete price file: negative
// prices, missing sources and dates, missing infrastructure items.
func (p *Prices) Check() error { return p.check(true) }

// check rejects negative prices and, for a complete file, missing sources,
// dates and infrastructure items.
func (p *Prices) check(complete bool) error {
	var errs []error
	for id, m := range p.Tokens.Models {
		if bad(m.TokenPrice) {
			errs = append(errs, fmt.Errorf("model %s: negative price", id))
		}
		for region, r := range m.Regions {
			if bad(r) {
				errs = append(errs, fmt.Errorf("model %s region %s: negative price", id, region))
			}
		}
	}
	for name, it := range p.Infra.Items {
		if it.USD < 0 {
			errs = append(errs, fmt.Errorf("infrastructure item %s: negative price", name))
		}
	}
	if complete {
		if p.Tokens.Source == "" || p.Tokens.AsOf == "" || p.Infra.Source == "" || p.Infra.AsOf == "" {
			errs = append(errs, errors.New("tokens and infrastructure need a source and an as_of date"))
		}
		for _, name := range infraItems {
			if _, ok := p.Infra.Items[name]; !ok {
				errs = append(errs, fmt.Errorf("infrastructure item %s is missing", name))
			}
		}
	}
	return errors.Join(errs...)
}

func bad(t TokenPrice) bool {
	neg := func(p *float64) bool { return p != nil && *p < 0 }
	lc := t.LongContext
	return t.Input < 0 || t.Output < 0 || neg(t.CacheRead) || neg(t.CacheWrite) || neg(t.CacheWrite1h) ||
		lc != nil && (lc.AboveInputTokens <= 0 || lc.InputMultiplier < 1 || lc.OutputMultiplier < 1)
}

// Merge replaces p's entries with over's: models and infrastructure items
// by name, and the sources and dates that over sets.
func (p *Prices) Merge(over *Prices) {
	if p.Tokens.Models == nil {
		p.Tokens.Models = map[string]ModelPrice{}
	}
	if p.Infra.Items == nil {
		p.Infra.Items = map[string]InfraPrice{}
	}
	maps.Copy(p.Tokens.Models, over.Tokens.Models)
	if over.Tokens.ServiceTiers != nil {
		p.Tokens.ServiceTiers = over.Tokens.ServiceTiers
	}
	if len(over.Tokens.Unpriced) > 0 {
		if p.Tokens.Unpriced == nil {
			p.Tokens.Unpriced = map[string]string{}
		}
		maps.Copy(p.Tokens.Unpriced, over.Tokens.Unpriced)
	}
	maps.Copy(p.Infra.Items, over.Infra.Items)
	setIf(&p.Version, over.Version)
	setIf(&p.Note, over.Note)
	setIf(&p.Tokens.Source, over.Tokens.Source)
	setIf(&p.Tokens.AsOf, over.Tokens.AsOf)
	setIf(&p.Infra.Source, over.Infra.Source)
	setIf(&p.Infra.AsOf, over.Infra.AsOf)
	setIf(&p.Infra.Region, over.Infra.Region)
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// Token returns the price of a model in region: the entry for modelID (an
// inference profile priced on its own), else for foundationID, with the
// region's override when there is one. ok is false for an unknown model.
func (p *Prices) Token(modelID, foundationID, region string) (TokenPrice, bool) {
	for _, id := range [2]string{modelID, foundationID} {
		if id == "" {
			continue
		}
		if m, ok := p.Tokens.Models[id]; ok {
			if r, ok := m.Regions[region]; ok {
				return r, true
			}
			return m.TokenPrice, true
		}
	}
	return TokenPrice{}, false
}

// Models lists the priced model ids, sorted.
func (p *Prices) Models() []string {
	return slices.Sorted(maps.Keys(p.Tokens.Models))
}

// String names the price data for logs: version and dates.
func (p *Prices) String() string {
	return fmt.Sprintf("prices %s (tokens as of %s, infrastructure %s as of %s)", p.Version, p.Tokens.AsOf, p.Infra.Region, p.Infra.AsOf)
}
