package topology

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openbedrock/gateway/app/cost"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func roundPrices(tb testing.TB) *cost.Prices {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "prices-round.json"))
	if err != nil {
		tb.Fatal(err)
	}
	p, err := cost.ParsePrices(b)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func handReport(tb testing.TB) *Report {
	tb.Helper()
	p, err := LoadProfile(filepath.Join("testdata", "hand.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	r, err := Estimate(p, roundPrices(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func lineUSD(tb testing.TB, lines []Line, item string) float64 {
	tb.Helper()
	for _, l := range lines {
		if l.Item == item {
			return l.USD
		}
	}
	tb.Fatalf("no line %q", item)
	return 0
}

// TestEstimateHandComputed checks Estimate against the example worked out
// on paper with testdata/prices-round.json and testdata/hand.yaml:
//
//	month: 30 days = 720 h; requests: 8640/day × 30 = 259,200 (0.1/s)
//	Bedrock: (1000×1 + 200×5)/1e6 = 0.002 per request → 518.40
//	V1:
//	  ALB 720 h × 0.02 = 14.40
//	  LCU: max(0.1/25, 0.1×10/3000, 360 req/h × 10 kB = 0.0036 GB/h ÷ 0.4) = 0.009
//	       × 720 h × 0.01 = 0.0648
//	  public IPv4 2 × 720 × 0.005 = 7.20; NAT 0; zone 0.50; queries 0
//	  key reads: 720 h × 60/60 + 2 cold starts × 30 = 780
//	    KMS key 1.00 + 780×2/1e4 × 0.03 = 0.00468
//	    secret 0.40 + 780×2/1e4 × 0.05 = 0.0078; SSM 0
//	  canary: 720×60/10 = 4320 runs
//	  gateway requests (259200 + 4320)/1e6 × 0.2 = 0.052704
//	  gateway GB-s 259200×10×1 + 4320×0.1×1 = 2,592,432 × 0.00001 = 25.92432
//	  canary requests 4320/1e6 × 0.2 = 0.000864; GB-s 4320×1×0.5 = 2160 → 0.0216
//	  logs (259200×1000 + 4320×1000)/1e9 = 0.26352 GB × 0.5 = 0.13176; stored 0.26352 × 0.03 = 0.0079056
//	  metrics 10 × 0.3 = 3.00; egress 259200 × 5 kB = 1.296 GB × 0.1 = 0.1296
//	  total 52.8460336
//	V2: reads 2 × 720 = 1440: KMS 1.00 + 0.00864; secret 0.40 + 0.0144;
//	    hardware 720/36 = 20; power 50 W × 720 h = 36 kWh × 0.2 = 7.20; other 5
//	    total 33.62304
func TestEstimateHandComputed(t *testing.T) {
	r := handReport(t)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"Bedrock", Total(r.Bedrock), 518.40},
		{"ALB hours", lineUSD(t, r.V1, "ALB hours"), 14.40},
		{"LCU-hours", lineUSD(t, r.V1, "ALB LCU-hours"), 0.0648},
		{"public IPv4", lineUSD(t, r.V1, "Public IPv4 addresses"), 7.20},
		{"KMS requests V1", lineUSD(t, r.V1, "KMS Decrypt requests"), 0.00468},
		{"Secrets Manager calls V1", lineUSD(t, r.V1, "Secrets Manager GetSecretValue calls"), 0.0078},
		{"gateway requests", lineUSD(t, r.V1, "Gateway requests"), 0.052704},
		{"gateway duration", lineUSD(t, r.V1, "Gateway duration"), 25.92432},
		{"canary requests", lineUSD(t, r.V1, "Canary requests"), 0.000864},
		{"canary duration", lineUSD(t, r.V1, "Canary duration"), 0.0216},
		{"logs ingestion", lineUSD(t, r.V1, "CloudWatch Logs ingestion"), 0.13176},
		{"logs storage", lineUSD(t, r.V1, "CloudWatch Logs storage"), 0.0079056},
		{"EMF metrics", lineUSD(t, r.V1, "CloudWatch metrics from EMF"), 3.00},
		{"egress", lineUSD(t, r.V1, "Responses to the internet"), 0.1296},
		{"V1 items", Total(r.V1), 52.8460336},
		{"V1 total", r.TopologyTotal(V1), 571.2460336},
		{"KMS requests V2", lineUSD(t, r.V2, "KMS Decrypt requests"), 0.00864},
		{"hardware", lineUSD(t, r.V2, "Hardware"), 20},
		{"power", lineUSD(t, r.V2, "Power"), 7.20},
		{"V2 items", Total(r.V2), 33.62304},
		{"V2 total", r.TopologyTotal(V2), 552.02304},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s: got %.10g USD, want %.10g", c.name, c.got, c.want)
		}
	}
	if len(r.Unknown) != 0 {
		t.Errorf("unknown models %v, want none", r.Unknown)
	}
}

func TestEstimateUnknownModel(t *testing.T) {
	p := DefaultProfile()
	p.Models = []ModelUse{
		{Model: "us.m.a", Share: 3, InputTokens: 1000},
		{Model: "acme.mystery-v1", Share: 1, InputTokens: 1000},
	}
	r, err := Estimate(p, roundPrices(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unknown) != 1 || r.Unknown[0] != "acme.mystery-v1" {
		t.Errorf("unknown %v, want [acme.mystery-v1]", r.Unknown)
	}
	// 1000 a day × 30 × 3/4 = 22,500 requests × 1000 tokens × 1 USD/M = 22.50
	if got := Total(r.Bedrock); !near(got, 22.5) {
		t.Errorf("Bedrock total %g, want 22.5 (the priced model only)", got)
	}
	if r.Bedrock[1].Known() {
		t.Errorf("the unpriced model's line has a price: %+v", r.Bedrock[1])
	}
	var md bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "Unknown cost: no price for acme.mystery-v1") || !strings.Contains(md.String(), "| unknown |") {
		t.Errorf("the Markdown does not show the unknown cost:\n%s", md.String())
	}
}

func TestRecycling(t *testing.T) {
	rows := Recycling(0.0022, []float64{8, 24, 168, 720})
	want := []struct {
		label string
		pct   string
	}{{"8 hours", "1.75%"}, {"1 day", "5.15%"}, {"1 week", "30.93%"}, {"30 days", "79.52%"}}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		if rows[i].Label != w.label || pct(rows[i].Probability) != w.pct {
			t.Errorf("row %d: got %s %s, want %s %s", i, rows[i].Label, pct(rows[i].Probability), w.label, w.pct)
		}
	}
}

func TestProfileDefaultsAndErrors(t *testing.T) {
	p, err := ParseProfile([]byte(`{"requests_per_day": 50, "v1": {"memory_mb": 1024}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.RequestsPerDay != 50 || p.V1.MemoryMB != 1024 || p.V1.Architecture != "arm64" || p.V1.CanaryIntervalMinutes != 5 {
		t.Errorf("fields left out must keep the defaults: %+v", p.V1)
	}
	tests := []struct{ name, in, want string }{
		{"unknown field", `{"request_per_day": 5}`, "unknown field"},
		{"bad architecture", `{"v1": {"architecture": "mips"}}`, "architecture"},
		{"no shares", `{"models": [{"model": "x", "share": 0}]}`, "shares"},
		{"bad probability", `{"recycling": {"hourly_probability": 2}}`, "hourly_probability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseProfile([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestProfileFromMetrics(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Unix(1767225600, 0)
	p, err := ProfileFromMetrics(f, DefaultProfile(), start.Add(48*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	// 110 + 10 chat + 40 Messages + 40 embeddings over 2 days; /models,
	// /health and count_tokens do not call Bedrock for tokens.
	if p.RequestsPerDay != 100 {
		t.Errorf("requests a day %g, want 100", p.RequestsPerDay)
	}
	if p.AvgRequestSeconds != 2.5 { // (280 + 200 + 20) s / 200
		t.Errorf("mean duration %g s, want 2.5", p.AvgRequestSeconds)
	}
	if p.APIKeys != 2 {
		t.Errorf("keys %g, want 2", p.APIKeys)
	}
	want := []ModelUse{
		{Model: "amazon.titan-embed-text-v2:0", Share: 0.2, InputTokens: 50},
		{Model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", Share: 0.8, InputTokens: 937.5, OutputTokens: 187.5, CacheReadTokens: 37.5},
	}
	if len(p.Models) != len(want) {
		t.Fatalf("models %+v, want %+v", p.Models, want)
	}
	for i := range want {
		if p.Models[i] != want[i] {
			t.Errorf("model %d: got %+v, want %+v", i, p.Models[i], want[i])
		}
	}
	// Per key, a day: requests from gateway_key_requests_total, tokens by model.
	wantKeys := []KeyUse{
		{Name: "alice", RequestsPerDay: 75, Models: []KeyTokens{
			{Model: "amazon.titan-embed-text-v2:0", InputTokens: 1000},
			{Model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", InputTokens: 50000, OutputTokens: 10000, CacheReadTokens: 3000},
		}},
		{Name: "bob", RequestsPerDay: 28, Models: []KeyTokens{
			{Model: "other", InputTokens: 500},
			{Model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", InputTokens: 25000, OutputTokens: 5000},
		}},
	}
	if !reflect.DeepEqual(p.Keys, wantKeys) {
		t.Errorf("keys\n got %+v\nwant %+v", p.Keys, wantKeys)
	}
}

// TestKeyUsageFromMetrics prices the scrape's usage per key with the
// embedded prices (Claude Sonnet 4.5 us. profile: 3.30 in, 16.50 out,
// 0.33 cache read per million; Titan Embeddings V2: 0.02), over a 30-day
// month:
//
//	alice: 30 × (50000×3.30 + 10000×16.50 + 3000×0.33 + 1000×0.02)/1e6 = 9.9303
//	bob:   30 × (25000×3.30 + 5000×16.50)/1e6 = 4.95, plus "other" without a price
func TestKeyUsageFromMetrics(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := ProfileFromMetrics(f, DefaultProfile(), time.Unix(1767225600, 0).Add(48*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	prices, err := cost.DefaultPrices()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Estimate(p, prices)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.KeyUsage) != 2 {
		t.Fatalf("key usage %+v, want alice and bob", r.KeyUsage)
	}
	alice, bob := r.KeyUsage[0], r.KeyUsage[1]
	if alice.Name != "alice" || !near(alice.USD, 9.9303) || alice.Requests != 2250 || alice.InputTokens != 1530000 {
		t.Errorf("alice: %+v, want 9.9303 USD, 2250 requests, 1,530,000 input tokens", alice)
	}
	if bob.Name != "bob" || !near(bob.USD, 4.95) || len(bob.Unknown) != 1 || bob.Unknown[0] != "other" {
		t.Errorf("bob: %+v, want 4.95 USD and other unknown", bob)
	}
	var md bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Usage per key", "| bob | 840 | 765000 | 150000 | 0 | 0 | 4.95 + unknown | 33.27% |",
		"Unknown cost: no price for other; their tokens are not in the keys' costs."} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md.String())
		}
	}
}

// TestKeyUsageHandComputed checks the per-key section of the hand example
// (testdata/hand.yaml, prices-round.json: 1 in, 5 out per million), whose
// keys split its traffic 3:1, so they add up to the Bedrock token spend:
//
//	team-a: 6480 × 30 = 194,400 requests; 194.4M in × 1 + 38.88M out × 5 = 388.80
//	team-b: 2160 × 30 = 64,800 requests; 64.8M in × 1 + 12.96M out × 5 = 129.60
func TestKeyUsageHandComputed(t *testing.T) {
	r := handReport(t)
	want := []struct {
		name          string
		requests, usd float64
	}{{"team-a", 194400, 388.80}, {"team-b", 64800, 129.60}}
	if len(r.KeyUsage) != len(want) {
		t.Fatalf("key usage %+v, want %d keys", r.KeyUsage, len(want))
	}
	for i, w := range want {
		k := r.KeyUsage[i]
		if k.Name != w.name || !near(k.Requests, w.requests) || !near(k.USD, w.usd) {
			t.Errorf("key %d: got %s %g requests %g USD, want %s %g %g", i, k.Name, k.Requests, k.USD, w.name, w.requests, w.usd)
		}
	}
	if got := KeyUsageTotal(r.KeyUsage); !near(got, Total(r.Bedrock)) {
		t.Errorf("keys' total %g, want the Bedrock token spend %g", got, Total(r.Bedrock))
	}
}

func TestKeyUsageUnknownOnly(t *testing.T) {
	p := DefaultProfile()
	p.Keys = []KeyUse{{Name: "x", RequestsPerDay: 1, Models: []KeyTokens{{Model: "acme.mystery-v1", InputTokens: 10}}}}
	r, err := Estimate(p, roundPrices(t))
	if err != nil {
		t.Fatal(err)
	}
	if k := r.KeyUsage[0]; k.Known() || usd(k.USD) != "unknown" {
		t.Errorf("a key with only unpriced tokens: %+v, want an unknown cost", k)
	}
	if _, err := ParseProfile([]byte(`{"keys": [{"name": "", "requests_per_day": 1}]}`)); err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("a key without a name: got %v, want an error", err)
	}
}

func TestProfileFromMetricsNeedsWindow(t *testing.T) {
	_, err := ProfileFromMetrics(strings.NewReader("# TYPE gateway_requests_total counter\ngateway_requests_total{route=\"/api/v1/chat/completions\"} 1\n"),
		DefaultProfile(), time.Now(), 0)
	if err == nil || !strings.Contains(err.Error(), "gateway_start_time_seconds") {
		t.Errorf("got %v, want an error asking for the window", err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run with -update and review the diff.\ngot:\n%s", name, got)
	}
}

func TestRenderGolden(t *testing.T) {
	r := handReport(t)
	renders := []struct {
		file   string
		render func(io.Writer) error
	}{{"hand.md", r.Markdown}, {"hand.csv", r.CSV}, {"hand.svg", r.SVG}}
	for _, rd := range renders {
		t.Run(rd.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := rd.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, rd.file, b.Bytes())
		})
	}
}

func TestMarkdownShowsTotalsAndRisk(t *testing.T) {
	var b bytes.Buffer
	if err := handReport(t).Markdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| **Total per month (USD)** | **571.25** | **552.02** |", "| 30 days | 79.52% |", "| 8 hours | 1.75% |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the Markdown lacks %q", want)
		}
	}
}

func TestCSVParses(t *testing.T) {
	var b bytes.Buffer
	if err := handReport(t).CSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := rows[len(rows)-1]
	if last[0] != V2 || last[1] != "Total" || last[6] != "552.02304" {
		t.Errorf("last row %q, want the V2 total 552.02304", last)
	}
	for i, row := range rows {
		if len(row) != 8 {
			t.Errorf("row %d has %d fields, want 8", i, len(row))
		}
	}
}

func TestSVGIsXML(t *testing.T) {
	var b bytes.Buffer
	if err := handReport(t).SVG(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name
		Width   string `xml:"width,attr"`
		Rects   []struct {
			Width string `xml:"width,attr"`
			Fill  string `xml:"fill,attr"`
			Title string `xml:"title"`
		} `xml:"rect"`
		Texts []string `xml:"text"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("the SVG is not XML: %v", err)
	}
	if doc.XMLName.Local != "svg" || doc.XMLName.Space != "http://www.w3.org/2000/svg" {
		t.Errorf("root %v, want svg in the SVG namespace", doc.XMLName)
	}
	// Background, 2 infrastructure bars, 2 × 2 stacked segments, 4 key
	// storage options × 2 topologies, 2 keys' usage, 3 legend keys.
	if len(doc.Rects) != 1+2+4+8+2+3 {
		t.Errorf("%d rects, want 20", len(doc.Rects))
	}
	// The usage per key panel: team-a's bar is the longest, team-b's a third of it.
	if w := doc.Rects[1+2+4+8].Width; w != "360.0" {
		t.Errorf("team-a bar %s wide, want 360.0", w)
	}
	if w := doc.Rects[1+2+4+8+1].Width; w != "120.0" {
		t.Errorf("team-b bar %s wide, want 120.0", w)
	}
	// The key storage panel's longest bar is the dearest option: V2's CMK.
	if w := doc.Rects[1+2+4+1].Width; w != "360.0" {
		t.Errorf("V2 customer-managed key bar %s wide, want 360.0 (the dearest option)", w)
	}
	if w := doc.Rects[1+2+4+7].Width; w != "0.0" {
		t.Errorf("V2 environment variable bar %s wide, want 0.0", w)
	}
	// The longest bar of each panel is barMax wide: V1's infrastructure, and V1's total.
	if doc.Rects[1].Width != "360.0" {
		t.Errorf("V1 infrastructure bar %s wide, want 360.0 (the larger)", doc.Rects[1].Width)
	}
	joined := strings.Join(doc.Texts, "|")
	for _, want := range []string{"571.25", "552.02", "52.85", "33.62", "1.41 (3900 calls)", "1.42 (7200 calls)", "SSM SecureString",
		"team-a", "388.80 (194400 requests)", "129.60 (64800 requests)"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the chart's labels lack %s: %s", want, joined)
		}
	}
	if math.IsNaN(Total(handReport(t).V1)) {
		t.Error("total is NaN")
	}
}

// TestKeyStorageHandComputed checks the key storage comparison against
// the hand-computed example (testdata/hand.yaml, prices-round.json):
//
//	V1 reads: 720 h × 60/60 + 2 cold starts × 30 = 780; V2: 2 replicas × 720 = 1440
//	calls per read: CMK and AWS-managed 1 SSM + 2 secret + 2 KMS = 5;
//	SecureString 1 SSM + 1 KMS = 2; environment variable 0
//	V1 CMK: 1.00 + 780×2/1e4 × 0.03 + 0.40 + 780×2/1e4 × 0.05 + 0 = 1.41248
//	V1 AWS-managed: the same without the key's 1.00 = 0.41248
//	V1 SecureString: 780/1e4 × 0.03 = 0.00234 (SSM standard is free)
//	V2 CMK: 1.00 + 0.00864 + 0.40 + 0.0144 = 1.42304; SecureString 1440/1e4 × 0.03 = 0.00432
func TestKeyStorageHandComputed(t *testing.T) {
	r := handReport(t)
	tests := []struct {
		topology, option string
		reads, calls     float64
		usd              float64
	}{
		{V1, KeyStorageCMK, 780, 3900, 1.41248},
		{V1, KeyStorageAWSManaged, 780, 3900, 0.41248},
		{V1, KeyStorageSecureSSM, 780, 1560, 0.00234},
		{V1, KeyStorageEnv, 780, 0, 0},
		{V2, KeyStorageCMK, 1440, 7200, 1.42304},
		{V2, KeyStorageAWSManaged, 1440, 7200, 0.42304},
		{V2, KeyStorageSecureSSM, 1440, 2880, 0.00432},
		{V2, KeyStorageEnv, 1440, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.topology+"/"+tt.option, func(t *testing.T) {
			table := r.KeyStorage[tt.topology]
			if !near(table.Reads, tt.reads) {
				t.Errorf("reads %v, want %v", table.Reads, tt.reads)
			}
			for _, o := range table.Options {
				if o.Option != tt.option {
					continue
				}
				if !near(o.Calls, tt.calls) || !near(o.Total(), tt.usd) {
					t.Errorf("got %v calls, %v USD; want %v calls, %v USD", o.Calls, o.Total(), tt.calls, tt.usd)
				}
				return
			}
			t.Errorf("no option %q", tt.option)
		})
	}
	// Today's design is the topology's own Keys lines.
	var keys []Line
	for _, l := range r.V1 {
		if l.Group == "Keys" {
			keys = append(keys, l)
		}
	}
	if got := r.KeyStorage[V1].Options[0].Total(); !near(got, Total(keys)) {
		t.Errorf("V1 customer-managed key option %v USD, want the V1 bill's Keys lines %v", got, Total(keys))
	}
}
