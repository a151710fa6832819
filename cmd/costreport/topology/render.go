package topology

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Titles of the topologies in reports.
var titles = map[string]string{
	V1: "V1: ALB + Lambda",
	V2: "V2: on-premises container",
}

// Markdown writes the report as Markdown tables: a summary, the token
// spend, the usage per key name, each topology's items, the ways to keep
// the key, and the recycling risk.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	p := r.Profile
	fmt.Fprintf(&b, "# Monthly cost: %s\n\n", p.Name)
	fmt.Fprintf(&b, "%s requests a day for %g days (%s hours), region %s. %s. Free tiers are not applied.\n\n",
		num(p.RequestsPerDay), p.DaysPerMonth, num(r.Hours), p.Region, r.Prices)
	b.WriteString("| | " + titles[V1] + " | " + titles[V2] + " |\n|---|---:|---:|\n")
	fmt.Fprintf(&b, "| Infrastructure and services | %s | %s |\n", usd(Total(r.V1)), usd(Total(r.V2)))
	fmt.Fprintf(&b, "| Bedrock tokens | %s | %s |\n", usd(Total(r.Bedrock)), usd(Total(r.Bedrock)))
	fmt.Fprintf(&b, "| **Total per month (USD)** | **%s** | **%s** |\n\n", usd(r.TopologyTotal(V1)), usd(r.TopologyTotal(V2)))
	if len(r.Unknown) > 0 {
		fmt.Fprintf(&b, "Unknown cost: no price for %s; their tokens are not in the totals.\n\n", strings.Join(r.Unknown, ", "))
	}
	section(&b, "Bedrock tokens (the same on both)", r.Bedrock)
	r.keyUsageMarkdown(&b)
	section(&b, titles[V1], r.V1)
	section(&b, titles[V2], r.V2)
	r.keyStorageMarkdown(&b)
	if len(r.Recycling) > 0 {
		fmt.Fprintf(&b, "## Lambda recycling risk\n\nAn hourly chance of %s that a request lands on an environment being recycled compounds to:\n\n",
			pct(p.Recycling.HourlyProbability))
		b.WriteString("| window | chance of at least one |\n|---|---:|\n")
		for _, row := range r.Recycling {
			fmt.Fprintf(&b, "| %s | %s |\n", row.Label, pct(row.Probability))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// keyUsageMarkdown writes the requests, tokens and cost of each key name.
func (r *Report) keyUsageMarkdown(b *strings.Builder) {
	if len(r.KeyUsage) == 0 {
		return
	}
	total := KeyUsageTotal(r.KeyUsage)
	b.WriteString("## Usage per key\n\n")
	b.WriteString("Requests and Bedrock tokens a month per key name (from the gateway's `gateway_key_requests_total` and " +
		"`gateway_tokens_total`, or the profile's keys), priced as the token spend above. Key names only, never keys; " +
		"`other` is the names past the gateway's METRICS_MAX_KEY_NAMES, `none` usage with authentication off.\n\n")
	b.WriteString("| key | requests | input tokens | output tokens | cache read tokens | cache write tokens | Bedrock tokens (USD) | share |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|\n")
	var sum KeyUsage
	for _, k := range r.KeyUsage {
		cost, share := usd(k.USD), "-"
		if k.Known() && total > 0 {
			share = pct(k.USD / total)
		}
		if len(k.Unknown) > 0 && k.Known() {
			cost += " + unknown"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(k.Name), qty(k.Requests), qty(k.InputTokens),
			qty(k.OutputTokens), qty(k.CacheReadTokens), qty(k.CacheWriteTokens), cost, share)
		sum.Requests += k.Requests
		sum.InputTokens += k.InputTokens
		sum.OutputTokens += k.OutputTokens
		sum.CacheReadTokens += k.CacheReadTokens
		sum.CacheWriteTokens += k.CacheWriteTokens
	}
	fmt.Fprintf(b, "| **total** | %s | %s | %s | %s | %s | **%s** | |\n\n", qty(sum.Requests), qty(sum.InputTokens),
		qty(sum.OutputTokens), qty(sum.CacheReadTokens), qty(sum.CacheWriteTokens), usd(total))
	var unknown []string
	for _, k := range r.KeyUsage {
		for _, m := range k.Unknown {
			if !slices.Contains(unknown, m) {
				unknown = append(unknown, m)
			}
		}
	}
	if len(unknown) > 0 {
		fmt.Fprintf(b, "Unknown cost: no price for %s; their tokens are not in the keys' costs.\n\n", strings.Join(unknown, ", "))
	}
}

// keyStorageMarkdown writes the comparison of the ways to keep the key.
func (r *Report) keyStorageMarkdown(b *strings.Builder) {
	v1, v2 := r.KeyStorage[V1], r.KeyStorage[V2]
	if len(v1.Options) == 0 {
		return
	}
	b.WriteString("## Keeping the key\n\n")
	fmt.Fprintf(b, "What each way to keep the API key costs a month in storage and AWS calls. %s: %s. %s: %s. "+
		"KMS requests against AWS-managed keys are counted at the KMS request price, an upper bound; free tiers are not applied.\n\n",
		titles[V1], v1.Note, titles[V2], v2.Note)
	b.WriteString("| option | V1 API calls | V1 monthly (USD) | V2 API calls | V2 monthly (USD) | note |\n|---|---:|---:|---:|---:|---|\n")
	for i, o := range v1.Options {
		o2 := v2.Options[i]
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", mdEscape(o.Option), qty(o.Calls), usd(o.Total()),
			qty(o2.Calls), usd(o2.Total()), mdEscape(o.Note))
	}
	b.WriteString("\n")
}

func section(b *strings.Builder, title string, lines []Line) {
	fmt.Fprintf(b, "## %s\n\n", title)
	b.WriteString("| group | item | quantity | unit | unit price (USD) | monthly (USD) | note |\n|---|---|---:|---|---:|---:|---|\n")
	for _, l := range lines {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", l.Group, mdEscape(l.Item), qty(l.Quantity), l.Unit,
			unitPrice(l.UnitUSD), usd(l.USD), mdEscape(l.Note))
	}
	fmt.Fprintf(b, "| | **total** | | | | **%s** | |\n\n", usd(Total(lines)))
}

// CSV writes one row per line, with a topology column ("both" for tokens).
func (r *Report) CSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"topology", "group", "item", "quantity", "unit", "unit_usd", "monthly_usd", "note"}}
	add := func(topology string, lines []Line) {
		for _, l := range lines {
			unit, total := unitPrice(l.UnitUSD), strconv.FormatFloat(round(l.USD, 6), 'f', -1, 64)
			if !l.Known() {
				unit, total = "", ""
			}
			rows = append(rows, []string{topology, l.Group, l.Item, strconv.FormatFloat(round(l.Quantity, 6), 'f', -1, 64),
				l.Unit, unit, total, l.Note})
		}
	}
	add("both", r.Bedrock)
	add(V1, r.V1)
	add(V2, r.V2)
	for _, t := range []string{V1, V2} {
		rows = append(rows, []string{t, "Total", "per month", "", "", "", strconv.FormatFloat(round(r.TopologyTotal(t), 6), 'f', -1, 64), ""})
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

func round(f float64, digits int) float64 {
	s := math.Pow(10, float64(digits))
	return math.Round(f*s) / s
}

// usd formats a monthly amount; NaN is an unknown price.
func usd(f float64) string {
	switch {
	case math.IsNaN(f):
		return "unknown"
	case f > 0 && f < 0.005:
		return "<0.01"
	}
	return fmt.Sprintf("%.2f", f)
}

func unitPrice(f float64) string {
	if math.IsNaN(f) {
		return "unknown"
	}
	return strconv.FormatFloat(round(f, 10), 'f', -1, 64)
}

func qty(f float64) string {
	f = round(f, 6)
	switch {
	case f == math.Trunc(f):
		return num(f)
	case f >= 100:
		return fmt.Sprintf("%.1f", f)
	}
	return strconv.FormatFloat(round(f, 4), 'f', -1, 64)
}

func pct(f float64) string { return fmt.Sprintf("%.2f%%", f*100) }

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
