package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// verdict is one performance target (README, Performance) as this run measured it.
type verdict struct {
	Name     string
	Figure   string
	Baseline string
	Status   string // met, not met, not measured
	Why      string
}

const (
	statusMet     = "met"
	statusNotMet  = "**not met**"
	statusMissing = "not measured"
)

func metIf(met bool) string {
	if met {
		return statusMet
	}
	return statusNotMet
}

// verdicts judges the performance targets from the runs. The targets are
// defined for 64 clients and concurrency 1; a profile without 64 clients
// (the smoke run) judges them at its top concurrency and says so.
func (r *report) verdicts() []verdict {
	top := r.topConcurrency()
	topNote := ""
	if top != 64 {
		topNote = fmt.Sprintf(" (judged at %d clients: this profile has no 64)", top)
	}
	slow := time.Duration(0)
	for _, l := range r.latencies() {
		slow = max(slow, l)
	}
	var out []verdict

	// Throughput against the bare proxy, no upstream delay.
	g, px := r.find(0, "chat", top, targetGateway), r.find(0, "chat", top, targetProxy)
	v := verdict{Name: fmt.Sprintf("0 ms upstream, %d clients: ≥ 65%% of the bare proxy's req/s%s", top, topNote), Status: statusMissing}
	if ok(g) && ok(px) {
		ratio, each := r.overRounds(0, "chat", top, targetGateway, targetProxy, func(g, px *measurement) float64 { return g.Res.RPS / px.Res.RPS })
		v.Figure = fmt.Sprintf("%.0f%% of proxy%s", 100*ratio, roundsNote(each, 100, "%.0f%%"))
		v.Baseline = fmt.Sprintf("round 1: gateway %.0f req/s, proxy %.0f req/s", g.Res.RPS, px.Res.RPS)
		v.Status = metIf(ratio >= 0.65)
		v.Why = r.cpuWhy(0, "chat", top)
	}
	out = append(out, v)
	out = append(out, r.proxyRatio("stream", top, 0.70, topNote), r.proxyRatio("embed", top, 0.60, topNote))

	// Added latency at one client.
	g, d := r.find(0, "chat", 1, targetGateway), r.find(0, "chat", 1, targetDirect)
	v = verdict{Name: "added latency at 1 client: p50 ≤ 0.35 ms", Status: statusMissing}
	if ok(g) && ok(d) {
		p50Added := func(m, d *measurement) float64 { return m.Res.Latency.P50 - d.Res.Latency.P50 }
		added, each := r.overRounds(0, "chat", 1, targetGateway, targetDirect, p50Added)
		px := r.find(0, "chat", 1, targetProxy)
		v.Figure = fmt.Sprintf("%+.2f ms p50%s", added, roundsNote(each, 1, "%+.2f"))
		v.Baseline = fmt.Sprintf("round 1: direct %.2f ms%s", d.Res.Latency.P50, proxyAdded(px, d))
		v.Status = metIf(added <= 0.35)
		v.Why = r.cpuWhy(0, "chat", 1)
		if ok(px) {
			hop, _ := r.overRounds(0, "chat", 1, targetProxy, targetDirect, p50Added)
			v.Why = fmt.Sprintf("one more loopback HTTP hop alone (the bare proxy) adds %+.2f ms here; the gateway's own work (decode, translate, SDK call with SigV4, encode) %+.2f ms more; ", hop, added-hop) + v.Why
		}
	}
	out = append(out, v)

	// Slow upstream, many clients.
	g, d = r.find(slow, "chat", top, targetGateway), r.find(slow, "chat", top, targetDirect)
	v = verdict{Name: fmt.Sprintf("%d ms upstream, %d clients: p99 added ≤ 3 ms%s", slow.Milliseconds(), top, topNote), Status: statusMissing}
	if slow > 0 && ok(g) && ok(d) {
		p99Added := func(m, d *measurement) float64 { return m.Res.Latency.P99 - d.Res.Latency.P99 }
		added, each := r.overRounds(slow, "chat", top, targetGateway, targetDirect, p99Added)
		v.Figure = fmt.Sprintf("%+.2f ms p99%s", added, roundsNote(each, 1, "%+.2f"))
		v.Baseline = fmt.Sprintf("round 1: direct p99 %.2f ms%s", d.Res.Latency.P99, proxyAddedP99(r.find(slow, "chat", top, targetProxy), d))
		v.Status = metIf(added <= 3)
		v.Why = r.tailWhy(g)
		if hop, hops := r.overRounds(slow, "chat", top, targetProxy, targetDirect, p99Added); len(hops) > 0 {
			v.Why = fmt.Sprintf("the bare proxy alone adds %+.2f ms p99%s; ", hop, roundsNote(hops, 1, "%+.2f")) + v.Why
		}
	}
	out = append(out, v)
	v = verdict{Name: fmt.Sprintf("%d ms upstream, %d clients: ≥ 97%% of direct req/s%s", slow.Milliseconds(), top, topNote), Status: statusMissing}
	if slow > 0 && ok(g) && ok(d) {
		ratio, each := r.overRounds(slow, "chat", top, targetGateway, targetDirect, func(g, d *measurement) float64 { return g.Res.RPS / d.Res.RPS })
		v.Figure = fmt.Sprintf("%.1f%% of direct%s", 100*ratio, roundsNote(each, 100, "%.1f%%"))
		v.Baseline = fmt.Sprintf("round 1: gateway %.0f req/s, direct %.0f req/s", g.Res.RPS, d.Res.RPS)
		v.Status = metIf(ratio >= 0.97)
		v.Why = "closed loop: req/s follow latency, so this is the p50 added latency over the 55 ms round trip"
	}
	out = append(out, v)

	// Streams.
	g, d = r.find(0, "stream", 1, targetGateway), r.find(0, "stream", 1, targetDirect)
	v = verdict{Name: "streams: time to first token added ≤ 0.4 ms p50 (1 client)", Status: statusMissing}
	if ok(g) && ok(d) && g.Res.TTFT != nil && d.Res.TTFT != nil {
		added := g.Res.TTFT.P50 - d.Res.TTFT.P50
		v.Figure = fmt.Sprintf("+%.2f ms", added)
		v.Baseline = fmt.Sprintf("direct TTFT p50 %.2f ms", d.Res.TTFT.P50)
		v.Status = metIf(added <= 0.4)
		v.Why = r.cpuWhy(0, "stream", 1)
		if px := r.find(0, "stream", 1, targetProxy); ok(px) && px.Res.TTFT != nil {
			hop := px.Res.TTFT.P50 - d.Res.TTFT.P50
			v.Baseline += fmt.Sprintf("; proxy %+.2f ms", hop)
			v.Why = fmt.Sprintf("the extra hop alone (bare proxy) adds %+.2f ms; the gateway's own work %+.2f ms more; ", hop, added-hop) + v.Why
		}
	}
	out = append(out, v)
	for _, sc := range routeScenarios {
		out = append(out, r.routeVerdict(sc, top, topNote))
	}
	out = append(out, r.streamVerdicts()...)

	// Memory.
	gm := r.memoryOf(0, targetGateway)
	pm := r.memoryOf(0, targetProxy)
	v = verdict{Name: fmt.Sprintf("peak RSS under %d-client load ≤ 34 MiB%s", top, topNote), Status: statusMissing}
	if gm != nil && gm.PeakMB > 0 {
		v.Figure = fmt.Sprintf("%.1f MiB", gm.PeakMB)
		if pm != nil {
			v.Baseline = fmt.Sprintf("proxy %.1f MiB", pm.PeakMB)
		}
		v.Status = metIf(gm.PeakMB <= 34)
		v.Why = fmt.Sprintf("%.1f MiB of it is the binary's pages (file-backed); anonymous %.1f MiB at the end of the peak run: the heap of %d requests in flight, where the AWS SDK allocates %s of the bytes (Profile), doubled by GOGC=100's headroom",
			gm.IdleFileMB, gm.TopAnonMB, top, r.allocPct("chat", "AWS SDK call"))
	}
	out = append(out, v)
	v = verdict{Name: "idle RSS ≤ 16 MiB", Status: statusMissing}
	if gm != nil && gm.IdleMB > 0 {
		v.Figure = fmt.Sprintf("%.1f MiB after start", gm.IdleMB)
		if pm != nil {
			v.Baseline = fmt.Sprintf("proxy %.1f MiB", pm.IdleMB)
		}
		v.Status = metIf(gm.IdleMB <= 16)
		v.Why = fmt.Sprintf("%.1f MiB are the binary's own pages (file-backed)%s; %.1f MiB anonymous (heap, stacks)", gm.IdleFileMB, residentSegments(gm.Segments), gm.IdleAnonMB)
	}
	out = append(out, v)

	// Start-up.
	v = verdict{Name: "exec to first successful chat answer ≤ 50 ms (key from API_KEY)", Status: statusMissing}
	for _, s := range r.Startups {
		if !s.Discovery || s.CA || len(s.Samples) == 0 {
			continue
		}
		med := median(durationsMS(s.Samples))
		v.Figure = fmt.Sprintf("%.1f ms median (default settings)", med)
		v.Baseline = r.otherStartups()
		v.Status = metIf(med <= 50)
		v.Why = fmt.Sprintf("package initialisers before main %.1f ms (%s); the gateway's own init %.1f ms",
			r.initTotal(), r.slowInits(3), median(s.InitMS))
	}
	out = append(out, v)
	v = verdict{Name: "Lambda init under RIE ≤ 10 ms", Status: statusMissing, Why: r.Lambda.reason()}
	if r.Lambda.Measured {
		first := median(durationsMS(r.Lambda.FirstAnswer))
		v.Figure = fmt.Sprintf("init %.1f ms (RIE INIT REPORT %s ms)", median(r.Lambda.InitMS), fmtMaybe(median(r.Lambda.ReportMS)))
		v.Baseline = fmt.Sprintf("first invocation answered in %.1f ms", first)
		// Issue 18 asks that the init "stays" under 10 ms: the gateway's own
		// init, which was 1 ms; RIE's INIT REPORT adds the exec and the
		// runtime's start, which the binary's size, not the gateway, sets.
		v.Status = metIf(median(r.Lambda.InitMS) <= 10)
		v.Why = "judged on the gateway's own init (AWS config, clients, handler); RIE starts the bootstrap on the first invocation, and its INIT REPORT adds the exec and the Go runtime's start"
	}
	out = append(out, v)

	// AWS_CA_BUNDLE: built once, so no per-request cost.
	g, ca := r.find(0, "chat", top, targetGateway), r.find(0, "chat", top, targetGatewayCA)
	v = verdict{Name: fmt.Sprintf("AWS_CA_BUNDLE set: no per-request cost (req/s within 10%% at %d clients)", top), Status: statusMissing}
	if ok(g) && ok(ca) {
		ratio, each := r.overRounds(0, "chat", top, targetGatewayCA, targetGateway, func(ca, g *measurement) float64 { return ca.Res.RPS / g.Res.RPS })
		v.Figure = fmt.Sprintf("%.0f%% of unset%s", 100*ratio, roundsNote(each, 100, "%.0f%%"))
		v.Baseline = fmt.Sprintf("round 1: set %.0f req/s, unset %.0f; CPU %.0f vs %.0f µs/req", ca.Res.RPS, g.Res.RPS, ca.ServerCPU, g.ServerCPU)
		v.Status = metIf(ratio >= 0.9)
		v.Why = "the bundle is read once, when the AWS config is built"
	}
	out = append(out, v)
	return out
}

// proxyRatio judges a scenario's gateway req/s against the bare proxy's at
// c clients (one round: only chat is repeated).
func (r *report) proxyRatio(sc string, c int, want float64, note string) verdict {
	v := verdict{Name: fmt.Sprintf("%s, 0 ms upstream, %d clients: ≥ %.0f%% of the bare proxy's req/s%s", scenarioTitle[sc], c, 100*want, note), Status: statusMissing}
	g, px := r.find(0, sc, c, targetGateway), r.find(0, sc, c, targetProxy)
	if !ok(g) || !ok(px) {
		return v
	}
	ratio := g.Res.RPS / px.Res.RPS
	v.Figure = fmt.Sprintf("%.0f%% of proxy", 100*ratio)
	v.Baseline = fmt.Sprintf("gateway %.0f req/s, proxy %.0f req/s", g.Res.RPS, px.Res.RPS)
	v.Status = metIf(ratio >= want)
	v.Why = r.cpuWhy(0, sc, c)
	return v
}

// routeVerdict judges a Responses or Messages route: its ratio to the
// bare proxy within 10% of its chat scenario's, at c clients.
func (r *report) routeVerdict(sc string, c int, note string) verdict {
	base := routeBaseline[sc]
	v := verdict{Name: fmt.Sprintf("%s, %d clients: ×proxy within 10%% of %s's%s", scenarioTitle[sc], c, scenarioTitle[base], note), Status: statusMissing}
	g, px := r.find(0, sc, c, targetGateway), r.find(0, sc, c, targetProxy)
	bg, bpx := r.find(0, base, c, targetGateway), r.find(0, base, c, targetProxy)
	if !ok(g) || !ok(px) || !ok(bg) || !ok(bpx) {
		return v
	}
	ratio, baseRatio := g.Res.RPS/px.Res.RPS, bg.Res.RPS/bpx.Res.RPS
	v.Figure = fmt.Sprintf("%.0f%% of proxy (%.0f%% of %s's ratio)", 100*ratio, 100*ratio/baseRatio, base)
	v.Baseline = fmt.Sprintf("%s: %.0f%% of proxy; gateway %.0f req/s, proxy %.0f", base, 100*baseRatio, g.Res.RPS, px.Res.RPS)
	v.Status = metIf(ratio >= 0.9*baseRatio)
	v.Why = fmt.Sprintf("gateway CPU %.0f µs/request vs %.0f for %s", g.ServerCPU, bg.ServerCPU, base)
	if why := routeCost[sc]; why != "" && g.ServerCPU > bg.ServerCPU {
		v.Why += "; " + why
	}
	return v
}

// routeCost says what a route does per answer beyond its chat baseline.
var routeCost = map[string]string{
	"responses-stream": "a Responses stream is more events than a chat stream for the same answer (response.created and in_progress, " +
		"output_item and content_part added and done, output_text.done) and response.completed repeats the whole response, each JSON-encoded",
	"messages-stream": "the Messages route reads Bedrock's events on a goroutine of its own, so that it can send Anthropic's pings while " +
		"Bedrock is silent: one more hand-off between goroutines per event",
}

// slowInits names the n slowest package initialisers.
func (r *report) slowInits(n int) string {
	var parts []string
	for _, in := range r.Inits[:min(n, len(r.Inits))] {
		parts = append(parts, fmt.Sprintf("%s %.1f", strings.TrimPrefix(in.Pkg, "github.com/aws/aws-sdk-go-v2/"), in.MS))
	}
	return strings.Join(parts, ", ")
}

func proxyAdded(px, d *measurement) string {
	if !ok(px) {
		return ""
	}
	return fmt.Sprintf("; proxy +%.2f ms", px.Res.Latency.P50-d.Res.Latency.P50)
}

func proxyAddedP99(px, d *measurement) string {
	if !ok(px) {
		return ""
	}
	return fmt.Sprintf("; proxy +%.2f ms", px.Res.Latency.P99-d.Res.Latency.P99)
}

func (r *report) otherStartups() string {
	var parts []string
	for _, s := range r.Startups {
		if (s.Discovery && !s.CA) || len(s.Samples) == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %.1f ms", s.name(), median(durationsMS(s.Samples))))
	}
	return strings.Join(parts, "; ")
}

// streamVerdicts judges the concurrent-stream test: no errors, every
// stream open at once, and chunks not coalesced.
func (r *report) streamVerdicts() []verdict {
	var d, g *measurement
	for i := range r.Streams {
		switch r.Streams[i].Target {
		case targetDirect:
			d = &r.Streams[i]
		case targetGateway:
			g = &r.Streams[i]
		}
	}
	n := 0
	if g != nil {
		n = g.Concurrency
	}
	errs := verdict{Name: fmt.Sprintf("%d concurrent streams without errors", n), Status: statusMissing}
	chunks := verdict{Name: "chunks forwarded as they arrive (no coalescing)", Status: statusMissing}
	if g == nil || g.Err != "" {
		return []verdict{errs, chunks}
	}
	errs.Figure = fmt.Sprintf("%d streams, %d errors, peak %d open at once", g.Res.Requests, g.Res.Errors, g.Res.PeakInFlight)
	errs.Status = metIf(g.Res.Errors == 0 && g.Res.Requests > 0 && g.Res.PeakInFlight >= int64(g.Concurrency))
	if d != nil && d.Err == "" {
		errs.Baseline = fmt.Sprintf("direct: %d errors", d.Res.Errors)
	}
	if g.Res.PeakInFlight < int64(g.Concurrency) {
		errs.Why = "fewer streams were open at once than clients"
	}
	if g.Res.Spread != nil && g.Res.Spread.N > 0 {
		// Coalescing would bring the spread near 0; scheduling jitter on a
		// busy machine shortens single streams a little.
		gaps := float64(2 * r.StreamGap.Milliseconds())
		chunks.Figure = fmt.Sprintf("spread min %.1f ms, p50 %.1f ms", g.Res.Spread.Min, g.Res.Spread.P50)
		chunks.Baseline = fmt.Sprintf("upstream: 2 gaps of %d ms", r.StreamGap.Milliseconds())
		if d != nil && d.Res.Spread != nil {
			chunks.Baseline += fmt.Sprintf("; direct p50 %.1f ms", d.Res.Spread.P50)
		}
		chunks.Status = metIf(g.Res.Spread.Min >= 0.5*gaps && g.Res.Spread.P50 >= 0.9*gaps)
		chunks.Why = "each Bedrock event is written as it arrives and flushed as soon as no other is ready"
	}
	return []verdict{errs, chunks}
}

// cpuWhy explains a CPU-bound figure with the CPU per request (the median
// over rounds, like the figure) and the profile.
func (r *report) cpuWhy(lat time.Duration, sc string, c int) string {
	g := r.medianOf(lat, sc, c, targetGateway, serverCPU)
	if g <= 0 {
		return ""
	}
	s := fmt.Sprintf("gateway CPU %.0f µs/request", g)
	if px := r.medianOf(lat, sc, c, targetProxy, serverCPU); px > 0 {
		s += fmt.Sprintf(" vs proxy %.0f (×%.1f)", px, g/px)
	}
	if d := r.medianOf(lat, sc, c, targetDirect, emulatorCPU); d > 0 {
		s += fmt.Sprintf(", emulator %.0f", d)
	}
	if p := r.profileOf(sc); p != nil {
		s += "; profile: " + p.headline()
	}
	return s
}

// tailWhy explains a tail-latency figure of the gateway's run g.
func (r *report) tailWhy(g *measurement) string {
	cpu := r.medianOf(g.Latency, g.Scenario, g.Concurrency, g.Target, serverCPU)
	s := fmt.Sprintf("tail = queueing for 2 shared cores: gateway CPU %.0f µs/request", cpu)
	if g.Foreign > busyForeign {
		s += fmt.Sprintf("; other processes used %.2f cores during the run", g.Foreign)
	}
	if p := r.profileOf("chat"); p != nil {
		s += "; GC " + p.pct("garbage collection")
	}
	return s
}

// allocPct is a component's share of the allocated bytes in a scenario's profile.
func (r *report) allocPct(sc, prefix string) string {
	p := r.profileOf(sc)
	if p == nil {
		return "?"
	}
	for _, s := range p.AllocShares {
		if strings.HasPrefix(s.Label, prefix) {
			return fmt.Sprintf("%.0f%%", s.Percent)
		}
	}
	return "?"
}

func (r *report) profileOf(sc string) *profileResult {
	for i := range r.Profiles {
		if r.Profiles[i].Scenario == sc && r.Profiles[i].Err == "" {
			return &r.Profiles[i]
		}
	}
	return nil
}

// headline is the profile in one line: where the CPU goes.
func (p *profileResult) headline() string {
	return fmt.Sprintf("AWS SDK call %s (SigV4 %s), syscalls %s, GC %s, malloc %s, gin+handlers %s incl. SDK",
		p.pct("AWS SDK call"), p.pct("  of which SigV4"), p.pct("system calls"), p.pct("garbage collection"),
		p.pct("memory allocation"), p.pct("gin and the gateway"))
}

func (p *profileResult) pct(prefix string) string {
	for _, s := range p.Shares {
		if strings.HasPrefix(s.Label, prefix) {
			return fmt.Sprintf("%.0f%%", s.Percent)
		}
	}
	return "?"
}

// residentSegments says how much of the binary's code and read-only data
// is resident, and why so much of it is.
func residentSegments(segs []segment) string {
	names := map[string]string{"r-xp": "code", "r--p": "read-only data"}
	var parts []string
	for _, s := range segs {
		if n, ok := names[s.Perms]; ok {
			parts = append(parts, fmt.Sprintf("%s %.1f of %.1f MiB", n, s.RssMB, s.SizeMB))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ") + " resident, as the kernel maps a file's cached pages around each one touched (fault-around), so a large static binary is mostly resident once its initialisers have run"
}

// overRounds applies f to the runs of targets a and b at one upstream
// delay, scenario and concurrency, in every round where both succeeded, and
// returns the median and each round's value, round 1 first.
func (r *report) overRounds(lat time.Duration, sc string, c int, a, b string, f func(a, b *measurement) float64) (med float64, each []float64) {
	pairs := map[int]*[2]*measurement{}
	rounds := []int{}
	for i := range r.Runs {
		m := &r.Runs[i]
		if m.Latency != lat || m.Scenario != sc || m.Concurrency != c || (m.Target != a && m.Target != b) {
			continue
		}
		p, seen := pairs[m.Round]
		if !seen {
			p = &[2]*measurement{}
			pairs[m.Round] = p
			rounds = append(rounds, m.Round)
		}
		if m.Target == a {
			p[0] = m
		} else {
			p[1] = m
		}
	}
	slices.Sort(rounds)
	for _, k := range rounds {
		if p := pairs[k]; ok(p[0]) && ok(p[1]) {
			each = append(each, f(p[0], p[1]))
		}
	}
	return median(each), each
}

// roundsNote lists each round's value (times scale, in format) when there
// was more than one round.
func roundsNote(each []float64, scale float64, format string) string {
	if len(each) < 2 {
		return ""
	}
	parts := make([]string, len(each))
	for i, v := range each {
		parts[i] = fmt.Sprintf(format, v*scale)
	}
	return fmt.Sprintf(" (median of %d rounds: %s)", len(each), strings.Join(parts, ", "))
}

// medianOf is the median of f over the successful runs of one target at one
// upstream delay, scenario and concurrency, every round included; -1 when
// there is none.
func (r *report) medianOf(lat time.Duration, sc string, c int, target string, f func(*measurement) float64) float64 {
	var vs []float64
	for i := range r.Runs {
		m := &r.Runs[i]
		if m.Latency == lat && m.Scenario == sc && m.Concurrency == c && m.Target == target && ok(m) {
			vs = append(vs, f(m))
		}
	}
	return median(vs)
}

func serverCPU(m *measurement) float64   { return m.ServerCPU }
func emulatorCPU(m *measurement) float64 { return m.EmulatorCPU }
