package topology

import (
	"fmt"
	"math"
	"strings"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
)

// Topology names.
const (
	V1 = "V1" // ALB + Lambda in AWS
	V2 = "V2" // container on premises
)

// Line is one item of a monthly bill.
type Line struct {
	Group    string  // e.g. "Load balancer", "Keys", "Bedrock tokens"
	Item     string  // what is billed
	Quantity float64 // per month
	Unit     string
	UnitUSD  float64 // price per unit
	USD      float64 // Quantity × UnitUSD; NaN when the price is unknown
	Note     string
}

// Known reports whether the line has a price.
func (l Line) Known() bool { return !math.IsNaN(l.USD) }

// Report is a month of a profile on both topologies.
type Report struct {
	Profile Profile
	Prices  string // the price data's version and dates
	Hours   float64
	// Bedrock is the token spend, the same on both topologies.
	Bedrock []Line
	// V1 and V2 are each topology's own items.
	V1, V2 []Line
	// Unknown lists the models without a price: their tokens are left out
	// of the totals, not counted as free.
	Unknown   []string
	Recycling []RecyclingRow
	// KeyStorage compares the ways to keep the API key, by topology.
	KeyStorage map[string]KeyStorageTable
	// KeyUsage is the month of each key name of Profile.Keys, the dearest first.
	KeyUsage []KeyUsage
}

// Total sums known lines.
func Total(lines []Line) float64 {
	var t float64
	for _, l := range lines {
		if l.Known() {
			t += l.USD
		}
	}
	return t
}

// TopologyTotal is a topology's items plus the token spend.
func (r *Report) TopologyTotal(topology string) float64 {
	if topology == V1 {
		return Total(r.V1) + Total(r.Bedrock)
	}
	return Total(r.V2) + Total(r.Bedrock)
}

// Estimate models one month of p with prices.
func Estimate(p Profile, prices *cost.Prices) (*Report, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if err := prices.Check(); err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	r := &Report{Profile: p, Prices: prices.String(), Hours: p.DaysPerMonth * 24}
	r.Bedrock, r.Unknown = bedrockLines(p, prices)
	r.V1 = v1Lines(p, prices, r.Hours)
	r.V2 = v2Lines(p, prices, r.Hours)
	r.KeyUsage = keyUsage(p, prices)
	r.Recycling = Recycling(p.Recycling.HourlyProbability, p.Recycling.WindowHours)
	v1Reads, v2Reads := p.v1KeyReads(r.Hours), p.v2KeyReads(r.Hours)
	r.KeyStorage = map[string]KeyStorageTable{
		V1: {Reads: v1Reads, Note: keyStorageNote(V1, p, v1Reads), Options: keyStorage(prices, p.V1.Keys, v1Reads)},
		V2: {Reads: v2Reads, Note: keyStorageNote(V2, p, v2Reads), Options: keyStorage(prices, p.V2.Keys, v2Reads)},
	}
	return r, nil
}

// monthlyRequests is the requests that call Bedrock in a month.
func (p Profile) monthlyRequests() float64 { return p.RequestsPerDay * p.DaysPerMonth }

func bedrockLines(p Profile, prices *cost.Prices) ([]Line, []string) {
	var shares float64
	for _, m := range p.Models {
		shares += m.Share
	}
	var lines []Line
	var unknown []string
	for _, m := range p.Models {
		if shares <= 0 {
			break
		}
		n := p.monthlyRequests() * m.Share / shares
		fm := m.Foundation
		if fm == "" {
			fm = bedrock.FoundationModelOf(m.Model)
		}
		l := Line{Group: "Bedrock tokens", Item: m.Model, Quantity: n, Unit: "requests",
			Note: tokenNote(m)}
		price, ok := prices.Token(m.Model, fm, p.Region)
		if !ok {
			l.UnitUSD, l.USD = math.NaN(), math.NaN()
			l.Note += "; no price: unknown cost"
			unknown = append(unknown, m.Model)
		} else {
			l.UnitUSD = costPerRequest(price, m)
			l.USD = n * l.UnitUSD
		}
		lines = append(lines, l)
	}
	return lines, unknown
}

func costPerRequest(tp cost.TokenPrice, m ModelUse) float64 {
	read, write := tp.Input, tp.Input
	if tp.CacheRead != nil {
		read = *tp.CacheRead
	}
	if tp.CacheWrite != nil {
		write = *tp.CacheWrite
	}
	return (m.InputTokens*tp.Input + m.OutputTokens*tp.Output + m.CacheReadTokens*read + m.CacheWriteTokens*write) / 1e6
}

func tokenNote(m ModelUse) string {
	parts := []string{fmt.Sprintf("%s in", num(m.InputTokens)), fmt.Sprintf("%s out", num(m.OutputTokens))}
	if m.CacheReadTokens > 0 {
		parts = append(parts, fmt.Sprintf("%s cache read", num(m.CacheReadTokens)))
	}
	if m.CacheWriteTokens > 0 {
		parts = append(parts, fmt.Sprintf("%s cache write", num(m.CacheWriteTokens)))
	}
	return strings.Join(parts, ", ") + " tokens per request"
}

// keyReads is the number of key reads a month: every warm instance every
// refresh interval, plus extra reads (cold starts).
func keyReads(k KeyReads, instances, hours, extra float64) float64 {
	var n float64
	if k.RefreshMinutes > 0 {
		n = instances * hours * 60 / k.RefreshMinutes
	}
	return n + extra
}

// v1KeyReads is the key reads of a month of V1: the warm environments'
// refreshes and the cold starts.
func (p Profile) v1KeyReads(hours float64) float64 {
	return keyReads(p.V1.Keys, p.V1.WarmEnvironments, hours, p.V1.ColdStartsPerDay*p.DaysPerMonth)
}

// v2KeyReads is the key reads of a month of V2: each replica's refreshes.
func (p Profile) v2KeyReads(hours float64) float64 {
	return keyReads(p.V2.Keys, p.V2.Replicas, hours, 0)
}

// keyLines prices the secret, the CMK and the parameter and their calls.
func keyLines(prices *cost.Prices, kms, secrets, params float64, k KeyReads, reads float64) []Line {
	return []Line{
		line(prices, "Keys", "KMS customer managed key", kms, "kms_key_month"),
		line(prices, "Keys", "KMS Decrypt requests", reads*k.KMSCalls/1e4, "kms_10k_requests"),
		line(prices, "Keys", "Secrets Manager secret", secrets, "secretsmanager_secret_month"),
		line(prices, "Keys", "Secrets Manager GetSecretValue calls", reads*k.SecretCalls/1e4, "secretsmanager_10k_calls"),
		line(prices, "Keys", "SSM parameter (standard)", params, "ssm_standard_parameter_month"),
		line(prices, "Keys", "SSM GetParameter calls", reads*k.SSMCalls/1e4, "ssm_10k_api_calls"),
	}
}

func v1Lines(p Profile, prices *cost.Prices, hours float64) []Line {
	v := p.V1
	reqs := p.monthlyRequests()
	perSecond := p.RequestsPerDay / 86400
	// ALB LCUs: the largest of new connections (25/s), active connections
	// (3,000), and bytes processed for Lambda targets (0.4 GB an hour);
	// every request is taken to open a connection.
	gbPerHour := p.RequestsPerDay / 24 * (p.RequestBytes + p.ResponseBytes) / 1e9
	lcu := max(perSecond/25, perSecond*p.AvgRequestSeconds/3000, gbPerHour/0.4)
	canaryRuns := 0.0
	if v.CanaryIntervalMinutes > 0 {
		canaryRuns = hours * 60 / v.CanaryIntervalMinutes
	}
	gb := v.MemoryMB / 1024
	gbSecond := "lambda_gb_second_" + v.Architecture
	ingestGB := (reqs*v.LogBytesPerRequest + canaryRuns*v.CanaryLogBytes) / 1e9
	metrics := float64(emfMetrics(len(p.Models), p.APIKeys))
	if v.CustomMetrics != nil {
		metrics = *v.CustomMetrics
	}
	reads := p.v1KeyReads(hours)

	lines := []Line{
		line(prices, "Load balancer", "ALB hours", v.ALBs*hours, "alb_hour"),
		note(line(prices, "Load balancer", "ALB LCU-hours", lcu*hours, "alb_lcu_hour"),
			fmt.Sprintf("%.4f LCU on average", lcu)),
		note(line(prices, "Network", "Public IPv4 addresses", v.PublicIPv4*hours, "public_ipv4_hour"),
			"one per ALB subnet"),
		line(prices, "Network", "NAT gateway hours", v.NATGateways*hours, "nat_gateway_hour"),
		line(prices, "Network", "NAT gateway data", v.NATGBPerMonth, "nat_gateway_gb"),
		line(prices, "DNS", "Route 53 hosted zone", v.HostedZones, "route53_hosted_zone_month"),
		line(prices, "DNS", "Route 53 queries", v.DNSQueriesPerDay*p.DaysPerMonth/1e6, "route53_million_queries"),
	}
	lines = append(lines, keyLines(prices, v.KMSKeys, v.Secrets, v.SSMParameters, v.Keys, reads)...)
	lines = append(lines,
		note(line(prices, "Lambda", "Gateway requests", (reqs+canaryRuns)/1e6, "lambda_million_requests"),
			fmt.Sprintf("%s API requests + %s canary probes", num(reqs), num(canaryRuns))),
		note(line(prices, "Lambda", "Gateway duration", reqs*p.AvgRequestSeconds*gb+canaryRuns*v.CanaryGatewayMS/1000*gb, gbSecond),
			fmt.Sprintf("%s MB %s, %gs per request incl. waiting on Bedrock", num(v.MemoryMB), v.Architecture, p.AvgRequestSeconds)),
		note(line(prices, "Lambda", "Canary requests", canaryRuns/1e6, "lambda_million_requests"),
			fmt.Sprintf("every %g min", v.CanaryIntervalMinutes)),
		line(prices, "Lambda", "Canary duration", canaryRuns*v.CanaryMS/1000*v.CanaryMemoryMB/1024, gbSecond),
		line(prices, "Logs and metrics", "CloudWatch Logs ingestion", ingestGB, "cloudwatch_logs_ingest_gb"),
		note(line(prices, "Logs and metrics", "CloudWatch Logs storage", ingestGB*v.LogRetentionDays/p.DaysPerMonth, "cloudwatch_logs_storage_gb"),
			fmt.Sprintf("%g days kept; stored size taken as ingested", v.LogRetentionDays)),
		note(line(prices, "Logs and metrics", "CloudWatch metrics from EMF", metrics, "cloudwatch_metric_month"),
			"gateway and canary"),
		line(prices, "Data transfer", "Responses to the internet", reqs*p.ResponseBytes/1e9, "data_transfer_out_gb"),
	)
	return lines
}

func v2Lines(p Profile, prices *cost.Prices, hours float64) []Line {
	v := p.V2
	reads := p.v2KeyReads(hours)
	lines := keyLines(prices, v.KMSKeys, v.Secrets, v.SSMParameters, v.Keys, reads)
	lines = append(lines, Line{Group: "Keys", Item: "IAM user for the container", Quantity: 1, Unit: "user", Note: "IAM is free"})
	hw := Line{Group: "On premises", Item: "Hardware", Quantity: 1, Unit: "month"}
	if v.HardwareMonths > 0 {
		hw.UnitUSD = v.HardwareUSD / v.HardwareMonths
		hw.Note = fmt.Sprintf("%s USD over %g months", num(v.HardwareUSD), v.HardwareMonths)
	}
	hw.USD = hw.UnitUSD
	kwh := v.Watts * hours / 1000
	lines = append(lines, hw,
		Line{Group: "On premises", Item: "Power", Quantity: kwh, Unit: "kWh", UnitUSD: v.USDPerKWh, USD: kwh * v.USDPerKWh,
			Note: fmt.Sprintf("%g W around the clock", v.Watts)},
		Line{Group: "On premises", Item: "Other", Quantity: 1, Unit: "month", UnitUSD: v.OtherMonthlyUSD, USD: v.OtherMonthlyUSD})
	return lines
}

// line prices quantity units of an infrastructure item.
func line(prices *cost.Prices, group, item string, quantity float64, price string) Line {
	it := prices.Infra.Items[price]
	return Line{Group: group, Item: item, Quantity: quantity, Unit: it.Unit, UnitUSD: it.USD, USD: quantity * it.USD}
}

func note(l Line, s string) Line {
	l.Note = s
	return l
}

// emfMetrics is the number of CloudWatch metrics the gateway's EMF lines
// (app/metrics/emf) and the canary's create for m models and k key names:
// Requests, Latency and Overhead per route and status (about 6 pairs);
// UpstreamLatency, TimeToFirstToken, InputTokens, OutputTokens and CostUSD
// per model; Requests, InputTokens, OutputTokens, CacheReadTokens,
// CacheWriteTokens and CostUSD per key; BedrockErrors
// per exception type (about 3); CacheReadTokens, CacheWriteTokens,
// UnknownCost, BedrockRetries, four refresh counts, ColdStart and
// InitDuration without dimensions; the canary's Success, ColdStart and
// Latency.
func emfMetrics(m int, k float64) int {
	return 3*6 + 5*m + int(math.Round(6*max(k, 1))) + 3 + 4 + 4 + 2 + 3
}

// num formats a count for notes: no decimals for whole numbers.
func num(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return fmt.Sprintf("%.0f", f)
	}
	return fmt.Sprintf("%.2f", f)
}
