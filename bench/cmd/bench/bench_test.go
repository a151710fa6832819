package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbedrock/gateway/internal/testbin"
)

// TestBenchSmoke runs the whole harness with the smoke profile (`make
// bench-smoke`): every phase, tiny durations, concurrency 1 and 4. It
// asserts the report has every section and that no load run failed; it
// asserts no timing target (those are judged in the report, not here).
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs the harness; skipped with -short")
	}
	t.Setenv("AWS_CA_BUNDLE", "") // the harness sets it for the gateway-ca runs itself
	dir := t.TempDir()
	// The binaries make test built once for every package (or, run alone,
	// built here): they all sit in one directory.
	bins := filepath.Dir(testbin.Path(t, testbin.Gateway))
	for _, n := range []testbin.Name{testbin.Emulator, testbin.Loadgen, testbin.BareProxy} {
		if d := filepath.Dir(testbin.Path(t, n)); d != bins {
			t.Fatalf("%s is in %s, the gateway in %s", n, d, bins)
		}
	}
	o, err := options{Profile: "smoke", Out: filepath.Join(dir, "REPORT.md"), Chart: filepath.Join(dir, "chart.svg"), Bins: bins, QuietWait: 0}.resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rep, err := runBench(context.Background(), o, &log)
	if err != nil {
		t.Fatalf("runBench: %v\nlog:\n%s", err, log.String())
	}
	if err := writeReport(rep, o); err != nil {
		t.Fatal(err)
	}
	if n := failedRuns(rep); n > 0 {
		t.Errorf("%d load runs had errors; log:\n%s", n, log.String())
	}
	// 2 phases x 3 scenarios x 2 concurrencies; 4 targets at 0 ms (with a CA bundle), 3 at 50 ms;
	// then 4 routes and the mixed workload at one concurrency, 3 targets.
	if min, got := 2*3*2*3+5*3, len(rep.Runs); got < min {
		t.Errorf("got %d load runs, want at least %d", got, min)
	}
	md, err := os.ReadFile(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"# Benchmark report", "## Machine", "## Targets", "## Throughput and latency",
		"### non-streaming chat, upstream delay 0 ms", "### streaming chat, upstream delay 50 ms", "### embeddings, upstream delay 50 ms",
		"### Responses, streaming, upstream delay 0 ms", "### Anthropic Messages, upstream delay 0 ms", "### mixed workload",
		"## AWS_CA_BUNDLE", "## Streams", "## Memory", "## Start-up", "## Lambda init", "## Profile", "## Micro-benchmarks", "## Method",
		"| CPU share |", "package initialisers"} {
		if !strings.Contains(string(md), section) {
			t.Errorf("the report lacks %q", section)
		}
	}
	for _, v := range rep.verdicts() {
		if v.Status == statusMissing && !strings.HasPrefix(v.Name, "Lambda") && !strings.HasPrefix(v.Name, "AWS_CA_BUNDLE") {
			t.Errorf("target %q was not measured", v.Name)
		}
	}
	for _, s := range rep.Startups {
		if len(s.Samples) == 0 {
			t.Errorf("start-up %s: no sample (%s)", s.name(), s.Err)
		}
	}
	if len(rep.Profiles) == 0 || rep.Profiles[0].Err != "" {
		t.Errorf("profiles: %+v", rep.Profiles)
	} else if sdk := rep.Profiles[0].Shares[0]; sdk.Percent <= 0 {
		t.Errorf("the chat profile shows no time in the SDK call (%+v): the pprof parsing broke", rep.Profiles[0].Shares)
	}
	for _, m := range rep.Memory {
		if m.IdleMB <= 0 || m.PeakMB <= 0 {
			t.Errorf("memory of %s at %s not read: %+v", m.Target, m.Latency, m)
		}
	}
	svg, err := os.ReadFile(o.Chart)
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, svg, 2*3*2*3+3*3) // two rows of three panels, 2 groups of 3 bars, at least; a row of routes
}

// checkSVG parses the chart as XML and counts its bars.
func checkSVG(tb testing.TB, svg []byte, minBars int) {
	tb.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	bars := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("the chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			for _, a := range se.Attr {
				if a.Name.Local == "fill" && a.Value != "#ffffff" {
					bars++
				}
			}
		}
	}
	if bars < minBars {
		tb.Errorf("the chart has %d bars, want at least %d", bars, minBars)
	}
}

func TestParseProc(t *testing.T) {
	ticks, err := parseStatTicks("4242 (gate way) S 1 4242 4242 0 -1 4194560 1200 0 0 0 311 27 0 0 20 0 9 0 12345 0 0")
	if err != nil || ticks != 338 {
		t.Errorf("parseStatTicks: got %d, %v; want 311+27 = 338", ticks, err)
	}
	if _, err := parseStatTicks("garbage"); err == nil {
		t.Error("parseStatTicks accepted a line without the name")
	}
	kb, err := parseStatusKB("Name:\tgateway\nVmHWM:\t   30212 kB\nVmRSS:\t   21000 kB\n", "VmHWM")
	if err != nil || kb != 30212 {
		t.Errorf("parseStatusKB: got %d, %v; want 30212", kb, err)
	}
	if _, err := parseStatusKB("Name:\tx\n", "VmHWM"); err == nil {
		t.Error("parseStatusKB found a missing field")
	}
	busy, err := parseBusyTicks("cpu  100 5 30 9000 7 2 3 4 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
	if err != nil || busy != 100+5+30+2+3+4 {
		t.Errorf("parseBusyTicks: got %d, %v; want 144 (user nice system irq softirq steal)", busy, err)
	}
}

func TestPprofShares(t *testing.T) {
	out, err := os.ReadFile("testdata/pprof-top-cum.txt")
	if err != nil {
		t.Fatal(err)
	}
	rows := parsePprofTop(string(out))
	got := map[string]float64{}
	for _, s := range cpuShares(cumByName(rows)) {
		got[s.Label] = s.Percent
	}
	for label, want := range map[string]float64{
		cpuComponents[0].label:                                   29.48, // invokeOperation
		"system calls (socket I/O, futex)":                       16.55,
		"gin and the gateway's handlers (includes the SDK call)": 14.51,
	} {
		if got[label] != want {
			t.Errorf("%s: got %.2f%%, want %.2f%%", label, got[label], want)
		}
	}
	top := topFlat(rows, 3)
	if len(top) != 4 || !strings.Contains(top[1], "internal/runtime/syscall/linux.Syscall6") {
		t.Errorf("topFlat: got %q, want a header and Syscall6 first", top)
	}
}

func TestParseBench(t *testing.T) {
	out, err := os.ReadFile("testdata/go-test-bench.txt")
	if err != nil {
		t.Fatal(err)
	}
	res := parseBench(string(out))
	if len(res) != 10 {
		t.Fatalf("got %d results, want 10: %+v", len(res), res)
	}
	byName := map[string]microResult{}
	for _, r := range res {
		byName[r.Name] = r
	}
	dec := byName["BenchmarkDecodeChatRequest/small/gateway"]
	if dec.Pkg != "github.com/openbedrock/gateway/app/openai" || dec.NsOp != 9210 || dec.BOp != 2035 || dec.AllocsOp != 38 {
		t.Errorf("decode: got %+v", dec)
	}
	if dec.Baseline != "BenchmarkDecodeChatRequest/small/baseline-encoding-json" || dec.Ratio < 2.89 || dec.Ratio > 2.90 {
		t.Errorf("decode ratio: got %s %.3f, want the small baseline and 9210/3184", dec.Baseline, dec.Ratio)
	}
	if r := byName["BenchmarkAuthCheck/store-known"]; r.Baseline != "BenchmarkAuthCheck/baseline-sha256" {
		t.Errorf("auth: baseline %q", r.Baseline)
	}
	if r := byName["BenchmarkAuthCheck/baseline-sha256"]; r.Baseline != "" {
		t.Errorf("a baseline got a baseline: %q", r.Baseline)
	}
}

func TestParseInitTrace(t *testing.T) {
	out, err := os.ReadFile("testdata/inittrace.txt")
	if err != nil {
		t.Fatal(err)
	}
	inits := parseInitTrace(string(out))
	if len(inits) < 10 {
		t.Fatalf("got %d initialisers, want the file's", len(inits))
	}
	for i := 1; i < len(inits); i++ {
		if inits[i].MS > inits[i-1].MS {
			t.Fatalf("not sorted slowest first: %+v", inits[:i+1])
		}
	}
	if logInitMS(`{"msg":"gateway initialised","init_ms":4.25}`) != 4.25 || logInitMS("nothing") != -1 {
		t.Error("logInitMS misread the init_ms field")
	}
}

// TestVerdicts judges a made-up report whose figures sit on both sides of
// each target.
func TestVerdicts(t *testing.T) {
	run := func(lat time.Duration, sc string, c int, target string, rps, p50, p99 float64, cpu float64) measurement {
		return measurement{Latency: lat, Scenario: sc, Concurrency: c, Target: target, ServerCPU: cpu,
			Res: loadResult{Requests: 100, RPS: rps, Latency: summary{P50: p50, P99: p99},
				TTFT: &summary{P50: p50 - 1, P99: p99 - 1}}}
	}
	rep := &report{
		Runs: []measurement{
			run(0, "chat", 1, targetDirect, 150, 6.0, 7, 0), run(0, "chat", 1, targetProxy, 140, 6.1, 7.2, 0), run(0, "chat", 1, targetGateway, 130, 6.5, 8, 400),
			run(0, "chat", 64, targetDirect, 9000, 7, 12, 0), run(0, "chat", 64, targetProxy, 5000, 12, 20, 0), run(0, "chat", 64, targetGateway, 3500, 18, 30, 380),
			run(0, "chat", 64, targetGatewayCA, 3400, 18, 31, 385),
			run(0, "stream", 1, targetDirect, 150, 6.0, 7, 0), run(0, "stream", 1, targetGateway, 140, 6.8, 8, 420),
			run(0, "stream", 64, targetProxy, 3000, 12, 20, 0), run(0, "stream", 64, targetGateway, 2000, 18, 30, 500),
			run(0, "embed", 64, targetProxy, 3000, 12, 20, 0), run(0, "embed", 64, targetGateway, 2000, 18, 30, 500),
			run(0, "responses", 64, targetProxy, 5000, 12, 20, 0), run(0, "responses", 64, targetGateway, 3400, 18, 30, 390),
			run(0, "messages", 64, targetProxy, 5000, 12, 20, 0), run(0, "messages", 64, targetGateway, 3000, 18, 30, 420),
			run(0, "mixed", 256, targetProxy, 4000, 50, 90, 0), run(0, "mixed", 256, targetGateway, 2000, 90, 190, 420),
			run(50*time.Millisecond, "chat", 64, targetDirect, 1200, 51, 53, 0), run(50*time.Millisecond, "chat", 64, targetGateway, 1180, 52, 55, 390),
		},
		Memory:   []memory{{Latency: 0, Target: targetGateway, IdleMB: 15, PeakMB: 45, PeakReset: true}},
		Startups: []startupResult{{Discovery: true, Samples: []time.Duration{30 * time.Millisecond, 40 * time.Millisecond, 90 * time.Millisecond}, InitMS: []float64{4, 5, 6}}},
	}
	got := map[string]string{}
	for _, v := range rep.verdicts() {
		got[v.Name] = v.Status
	}
	for name, want := range map[string]string{
		"0 ms upstream, 64 clients: ≥ 65% of the bare proxy's req/s":                 statusMet,    // 3500/5000 = 70%
		"added latency at 1 client: p50 ≤ 0.35 ms":                                   statusNotMet, // +0.5
		"50 ms upstream, 64 clients: p99 added ≤ 3 ms":                               statusMet,    // +2
		"50 ms upstream, 64 clients: ≥ 97% of direct req/s":                          statusMet,    // 98.3%
		"streams: time to first token added ≤ 0.4 ms p50 (1 client)":                 statusNotMet, // +0.8
		"peak RSS under 64-client load ≤ 34 MiB":                                     statusNotMet, // 45 MiB
		"idle RSS ≤ 16 MiB":                                                          statusMet,    // 15
		"embeddings, 0 ms upstream, 64 clients: ≥ 60% of the bare proxy's req/s":     statusMet,    // 2000/3000
		"streaming chat, 0 ms upstream, 64 clients: ≥ 70% of the bare proxy's req/s": statusNotMet, // 2000/3000
		"Responses, 64 clients: ×proxy within 10% of non-streaming chat's":           statusMet,    // 68% vs 70%
		"Anthropic Messages, 64 clients: ×proxy within 10% of non-streaming chat's":  statusNotMet, // 60% vs 70%
		"Responses, streaming, 64 clients: ×proxy within 10% of streaming chat's":    statusMissing,
		"exec to first successful chat answer ≤ 50 ms (key from API_KEY)":            statusMet, // median 40
		"Lambda init under RIE ≤ 10 ms":                                              statusMissing,
		"AWS_CA_BUNDLE set: no per-request cost (req/s within 10% at 64 clients)":    statusMet,
	} {
		if got[name] != want {
			t.Errorf("%s: got %q, want %q", name, got[name], want)
		}
	}
}

func TestMarkdownAndChartOfAnEmptyishReport(t *testing.T) {
	rep := &report{Profile: "smoke", Date: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Load1AtStart: 3,
		Runs: []measurement{{Scenario: "chat", Concurrency: 1, Target: targetGateway, Err: "loadgen: exit status 1"}}}
	md := rep.markdown()
	for _, want := range []string{"busy: above 1.5", "failed: loadgen: exit status 1", "1 load runs had errors", "Not run."} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	checkSVG(t, []byte(rep.chartSVG()), 3) // the legend's three swatches
}

func TestHelpers(t *testing.T) {
	for _, tc := range []struct{ in, want float64 }{{0, 0}, {0.7, 1}, {3, 5}, {5, 5}, {1234, 2000}, {9001, 10000}} {
		if got := niceCeil(tc.in); got != tc.want {
			t.Errorf("niceCeil(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if median([]float64{5, 1, 3}) != 3 || median([]float64{4, 1, 3, 2}) != 2.5 || median(nil) != -1 {
		t.Error("median is wrong")
	}
	if _, err := profileNamed("huge"); err == nil {
		t.Error("an unknown profile was accepted")
	}
}

func TestParseSegments(t *testing.T) {
	b, err := os.ReadFile("testdata/smaps.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := parseSegments(string(b), "/tmp/bench/gateway")
	want := []segment{
		{Perms: "r-xp", SizeMB: 8428.0 / 1024, RssMB: 7532.0 / 1024},
		{Perms: "r--p", SizeMB: 15680.0 / 1024, RssMB: 7040.0 / 1024},
		{Perms: "rw-p", SizeMB: 524.0 / 1024, RssMB: 524.0 / 1024},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseSegments:\n got %+v\nwant %+v", got, want)
	}
	why := residentSegments(got)
	for _, s := range []string{"code 7.4 of 8.2 MiB", "read-only data 6.9 of 15.3 MiB", "fault-around"} {
		if !strings.Contains(why, s) {
			t.Errorf("residentSegments = %q, want it to contain %q", why, s)
		}
	}
	if residentSegments(nil) != "" {
		t.Error("residentSegments(nil) should say nothing")
	}
}

func TestOverRounds(t *testing.T) {
	run := func(target string, round int, rps float64, errs int) measurement {
		return measurement{Scenario: "chat", Concurrency: 64, Target: target, Round: round,
			Res: loadResult{Requests: 100, Errors: errs, RPS: rps}}
	}
	r := &report{Runs: []measurement{
		run(targetGateway, 0, 60, 0), run(targetProxy, 0, 100, 0),
		run(targetGateway, 1, 70, 0), run(targetProxy, 1, 100, 0),
		run(targetGateway, 2, 50, 0), run(targetProxy, 2, 100, 0),
		run(targetGateway, 3, 99, 1), run(targetProxy, 3, 100, 0), // errors: left out
		run(targetDirect, 1, 500, 0),
	}}
	ratio := func(a, b *measurement) float64 { return a.Res.RPS / b.Res.RPS }
	med, each := r.overRounds(0, "chat", 64, targetGateway, targetProxy, ratio)
	if med != 0.6 || !slices.Equal(each, []float64{0.6, 0.7, 0.5}) {
		t.Errorf("overRounds = %v, %v; want 0.6, [0.6 0.7 0.5]", med, each)
	}
	if got, want := roundsNote(each, 100, "%.0f%%"), " (median of 3 rounds: 60%, 70%, 50%)"; got != want {
		t.Errorf("roundsNote = %q, want %q", got, want)
	}
	if got := roundsNote(each[:1], 100, "%.0f%%"); got != "" {
		t.Errorf("roundsNote of one round = %q, want nothing", got)
	}
	if r.find(0, "chat", 64, targetGateway).Res.RPS != 60 {
		t.Error("find should return round 1 (Round 0)")
	}
	if got := r.medianOf(0, "chat", 64, targetGateway, func(m *measurement) float64 { return m.Res.RPS }); got != 60 {
		t.Errorf("medianOf = %v, want 60 (60, 70, 50; the run with errors left out)", got)
	}
	if got := r.medianOf(0, "stream", 64, targetGateway, serverCPU); got != -1 {
		t.Errorf("medianOf with no runs = %v, want -1", got)
	}
}
