package cost

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }

func TestDefaultPrices(t *testing.T) {
	p, err := DefaultPrices()
	if err != nil {
		t.Fatal(err)
	}
	if p.Tokens.Source == "" || p.Tokens.AsOf == "" || !strings.Contains(p.Note, "verify before relying on them") {
		t.Errorf("the embedded prices must name their source and date and say to verify them: %+v", p.Tokens)
	}
	for _, id := range p.Models() {
		m := p.Tokens.Models[id]
		if m.Input <= 0 {
			t.Errorf("%s: input price %g, want > 0", id, m.Input)
		}
		if m.CacheRead != nil && *m.CacheRead > m.Input {
			t.Errorf("%s: a cache read (%g) dearer than input (%g)", id, *m.CacheRead, m.Input)
		}
		if !strings.Contains(id, "embed") && m.Output < m.Input {
			t.Errorf("%s: output %g cheaper than input %g", id, m.Output, m.Input)
		}
	}
	for _, name := range infraItems {
		if p.Infra.Items[name].Unit == "" || p.Infra.Items[name].Source == "" {
			t.Errorf("infrastructure item %s needs a unit and a source", name)
		}
	}
}

func TestTokenLookup(t *testing.T) {
	p, err := LoadPrices(filepath.Join("testdata", "prices-override.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, model, foundation, region string
		wantIn                          float64
		wantOK                          bool
	}{
		{"profile resolves to its foundation model", "us.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0", "us-east-1", 1.10, true},
		{"global profile of the same model", "global.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0", "us-east-1", 1.00, true},
		{"profile priced on its own", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", 3.00, true},
		{"regional profile of the same model", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", 3.30, true},
		{"override replaces the embedded price", "anthropic.claude-opus-4-1-20250805-v1:0", "", "us-east-1", 2.4, true},
		{"region override", "us.anthropic.claude-opus-4-1-20250805-v1:0", "anthropic.claude-opus-4-1-20250805-v1:0", "eu-central-1", 2.6, true},
		{"model only the override knows", "custom.my-model", "", "us-east-1", 1, true},
		{"unknown model", "acme.mystery-v1", "acme.mystery-v1", "us-east-1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := p.Token(tt.model, tt.foundation, tt.region)
			if ok != tt.wantOK || got.Input != tt.wantIn {
				t.Errorf("got input %g ok %v, want %g %v", got.Input, ok, tt.wantIn, tt.wantOK)
			}
		})
	}
	if got := p.Infra.Items["alb_hour"].USD; got != 0.0252 {
		t.Errorf("alb_hour %g, want the override's 0.0252", got)
	}
	if got := p.Infra.Items["alb_lcu_hour"].USD; got != 0.008 {
		t.Errorf("alb_lcu_hour %g, want the embedded 0.008 kept", got)
	}
	if p.Version != "private-2026" {
		t.Errorf("version %q, want the override's", p.Version)
	}
}

func TestTokenCost(t *testing.T) {
	read, write := 0.30, 3.75
	sonnet := TokenPrice{Input: 3, Output: 15, CacheRead: &read, CacheWrite: &write}
	tests := []struct {
		name  string
		price TokenPrice
		usage Usage
		want  float64
	}{
		// 1000×3 + 500×15 + 2000×0.30 + 400×3.75 = 3000 + 7500 + 600 + 1500 = 12600 per million
		{"all four kinds", sonnet, Usage{Input: 1000, Output: 500, CacheRead: 2000, CacheWrite: 400}, 0.0126},
		{"no usage", sonnet, Usage{}, 0},
		// Cache prices missing: input price. 10×1 + 10×1 + 10×1 + 5×2 = 40 per million.
		{"missing cache prices cost as input", TokenPrice{Input: 1, Output: 2}, Usage{Input: 10, Output: 5, CacheRead: 10, CacheWrite: 10}, 0.00004},
		// 400 writes of which 100 for 1 hour: 300×3.75 + 100×6 = 1725 per million.
		{"1-hour writes at their own price", withWrite1h(sonnet, 6), Usage{CacheWrite: 400, CacheWrite1h: 100}, 0.001725},
		{"1-hour writes without a price cost as writes", sonnet, Usage{CacheWrite: 400, CacheWrite1h: 100}, 0.0015},
		// Prompt 250,000 > 200,000: input ×2, output ×1.5: 250000×6 + 1000×22.5 = 1,522,500 per million.
		{"long context", withLongContext(sonnet), Usage{Input: 250000, Output: 1000}, 1.5225},
		// Prompt 150,000 + 60,000 read = 210,000: long. 150000×6 + 60000×0.6 + 100×22.5.
		{"long context counts cached prompt tokens", withLongContext(sonnet), Usage{Input: 150000, CacheRead: 60000, Output: 100}, 0.93825},
		{"short prompt on a long-context model", withLongContext(sonnet), Usage{Input: 200000}, 0.6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.price.Cost(tt.usage); !near(got, tt.want) {
				t.Errorf("got %g USD, want %g", got, tt.want)
			}
		})
	}
}

func withWrite1h(p TokenPrice, w float64) TokenPrice {
	p.CacheWrite1h = &w
	return p
}

func withLongContext(p TokenPrice) TokenPrice {
	p.LongContext = &LongContext{AboveInputTokens: 200000, InputMultiplier: 2, OutputMultiplier: 1.5}
	return p
}

func TestServiceTierCost(t *testing.T) {
	p, err := DefaultPrices()
	if err != nil {
		t.Fatal(err)
	}
	price, ok := p.Token("global.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0", "us-east-1")
	if !ok {
		t.Fatal("Haiku 4.5 has no price")
	}
	u := Usage{Input: 1000000, Output: 100000} // $1 + $0.50 at the default tier
	for tier, want := range map[string]float64{"": 1.5, "default": 1.5, "priority": 2.625, "flex": 0.75, "reserved": 1.5} {
		if got := price.CostAt(u, p.TierMultiplier(tier)); !near(got, want) {
			t.Errorf("tier %q: got %g USD, want %g", tier, got, want)
		}
	}
}

func TestParsePricesRejects(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "prices-round.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrices(good); err != nil {
		t.Fatalf("prices-round.json: %v", err)
	}
	tests := []struct {
		name, from, to, want string
	}{
		{"negative price", `"input": 1,`, `"input": -1,`, "negative price"},
		{"missing item", `"alb_hour": {"usd": 0.02, "unit": "ALB-hour"},`, ``, "alb_hour is missing"},
		{"unknown field", `"currency": "USD",`, `"currency": "USD", "extra": 1,`, "unknown field"},
		{"no source", `"source": "hand-made round numbers for the hand-computed example",
    "as_of": "2000-01-01",
    "region"`, `"region"`, "source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := strings.Replace(string(good), tt.from, tt.to, 1)
			if b == string(good) {
				t.Fatalf("the test's replacement did not apply")
			}
			_, err := ParsePrices([]byte(b))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLoadPricesMissingFile(t *testing.T) {
	_, err := LoadPrices(filepath.Join(t.TempDir(), "nope.json"))
	if err == nil || !strings.Contains(err.Error(), "read prices file") {
		t.Errorf("got %v, want a read error", err)
	}
}
