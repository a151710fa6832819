package cost

import (
	"strings"
	"testing"

	"github.com/openbedrock/gateway/app/bedrock/bedrocktest"
)

// TestEmulatorCataloguePriced fails when a model the Bedrock emulator lists
// (its catalogue is Bedrock's as of the prices' date) has no price, through
// its foundation-model id or any of its system profiles, and is not listed
// as unpriced (free or unknown) either.
func TestEmulatorCataloguePriced(t *testing.T) {
	p, err := DefaultPrices()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range bedrocktest.DefaultModels() {
		if m.Status == bedrocktest.StatusEOL {
			continue
		}
		ids := []string{m.ID}
		for _, geo := range m.Profiles {
			ids = append(ids, geo+"."+m.ID)
		}
		for _, id := range ids {
			if _, ok := p.Token(id, m.ID, "us-east-1"); ok {
				continue
			}
			why, ok := p.Tokens.Unpriced[m.ID]
			if !ok || !(why == "free" || strings.HasPrefix(why, "unknown")) {
				t.Errorf("%s (%s) has no price and is not marked free or unknown in prices.json", id, m.Name)
			}
		}
	}
}

// TestGlobalProfilesCheaper checks the Global versus Geo rule for the Claude
// models that have both: the global. profile is 10% below the geographic one.
func TestGlobalProfilesCheaper(t *testing.T) {
	p, err := DefaultPrices()
	if err != nil {
		t.Fatal(err)
	}
	for id, m := range p.Tokens.Models {
		fm, ok := strings.CutPrefix(id, "global.")
		if !ok || !strings.HasPrefix(fm, "anthropic.") {
			continue
		}
		geo, ok := p.Tokens.Models[fm]
		if !ok {
			t.Errorf("%s has no geographic price", fm)
			continue
		}
		if !near(geo.Input, m.Input*1.1) || !near(geo.Output, m.Output*1.1) {
			t.Errorf("%s: geographic %g/%g, want 10%% above global %g/%g", fm, geo.Input, geo.Output, m.Input, m.Output)
		}
		if m.CacheWrite1h == nil || !near(*m.CacheWrite1h, 2*m.Input) || m.CacheRead == nil || !near(*m.CacheRead, m.Input/10) {
			t.Errorf("%s: cache prices must be read 0.1x and 1-hour write 2x input", id)
		}
	}
}
