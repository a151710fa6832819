package topology

import (
	"cmp"
	"math"
	"slices"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
)

// KeyUsage is one key name's month: its requests and Bedrock tokens, and
// what the tokens cost at the report's prices.
type KeyUsage struct {
	Name     string
	Requests float64
	// Tokens a month.
	InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens float64
	// USD is the priced tokens' cost; NaN when the key has tokens and none
	// of them has a price.
	USD float64
	// Unknown lists the key's models without a price: their tokens are
	// left out of USD.
	Unknown []string
}

// Known reports whether the key's cost is known, at least in part.
func (k KeyUsage) Known() bool { return !math.IsNaN(k.USD) }

// keyUsage prices a month of each key's traffic, the dearest first.
func keyUsage(p Profile, prices *cost.Prices) []KeyUsage {
	var lines []KeyUsage
	for _, k := range p.Keys {
		l := KeyUsage{Name: k.Name, Requests: k.RequestsPerDay * p.DaysPerMonth}
		priced := false
		for _, m := range k.Models {
			in, out := m.InputTokens*p.DaysPerMonth, m.OutputTokens*p.DaysPerMonth
			read, write := m.CacheReadTokens*p.DaysPerMonth, m.CacheWriteTokens*p.DaysPerMonth
			l.InputTokens += in
			l.OutputTokens += out
			l.CacheReadTokens += read
			l.CacheWriteTokens += write
			fm := m.Foundation
			if fm == "" {
				fm = bedrock.FoundationModelOf(m.Model)
			}
			price, ok := prices.Token(m.Model, fm, p.Region)
			if !ok {
				if in+out+read+write > 0 {
					l.Unknown = append(l.Unknown, m.Model)
				}
				continue
			}
			priced = true
			// Tokens of a month as one request: costPerRequest prices per million.
			l.USD += costPerRequest(price, ModelUse{InputTokens: in, OutputTokens: out, CacheReadTokens: read, CacheWriteTokens: write})
		}
		if !priced && len(l.Unknown) > 0 {
			l.USD = math.NaN()
		}
		lines = append(lines, l)
	}
	slices.SortStableFunc(lines, func(a, b KeyUsage) int {
		return cmp.Or(cmp.Compare(knownUSD(b), knownUSD(a)), cmp.Compare(a.Name, b.Name))
	})
	return lines
}

// KeyUsageTotal sums the keys' known costs.
func KeyUsageTotal(lines []KeyUsage) float64 {
	var t float64
	for _, l := range lines {
		t += knownUSD(l)
	}
	return t
}

func knownUSD(l KeyUsage) float64 {
	if l.Known() {
		return l.USD
	}
	return 0
}
