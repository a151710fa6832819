package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// report is everything one run measured.
type report struct {
	Profile      string
	Rounds       int // measurements of the chat runs the targets are read from
	Date         time.Time
	Elapsed      time.Duration
	Machine      machine
	Load1AtStart float64
	BuildTime    time.Duration
	GatewaySize  int64
	CABundle     string // the AWS_CA_BUNDLE of the gateway-ca runs; empty: not run
	Runs         []measurement
	Streams      []measurement // the concurrent-stream test: direct, then gateway
	StreamGap    time.Duration
	Memory       []memory
	Startups     []startupResult
	Inits        []pkgInit // package initialisers before main (GODEBUG=inittrace=1)
	InitsErr     string
	Lambda       lambdaResult
	Profiles     []profileResult
	Micro        []microResult
	MicroErr     string
}

// machine describes where the run happened.
type machine struct {
	NProc  int
	Model  string
	MemGiB float64
	Kernel string
	Go     string
	GOOS   string
}

// memory is one server's resident memory in MiB (-1: not read).
type memory struct {
	Latency time.Duration
	Target  string
	IdleMB  float64 // VmRSS after start, before any request
	// IdleAnonMB and IdleFileMB split IdleMB into anonymous memory (heap,
	// stacks) and file-backed pages (the binary mapped in).
	IdleAnonMB, IdleFileMB float64
	// Segments are the binary's mappings after start, with what is resident.
	Segments  []segment
	PeakMB    float64 // VmHWM over the top-concurrency runs
	TopAnonMB float64 // RssAnon at the end of the run with that peak
	AfterMB   float64 // VmRSS after all of the phase's load
	// PeakReset says VmHWM was reset before the top-concurrency runs, so
	// PeakMB is their peak, not the process's lifetime peak.
	PeakReset bool
}

// startupResult is one start-up variant's samples.
type startupResult struct {
	CA, Discovery bool
	Samples       []time.Duration // exec -> first successful chat answer
	InitMS        []float64       // the gateway's own init_ms log field
	Err           string
}

// Thresholds the report judges by.
const (
	busyLoad    = 1.5  // 1-minute load above which the machine counts as busy before the run
	busyForeign = 0.25 // cores used by other processes during a run above which it is flagged
)

func (r *report) find(lat time.Duration, scenario string, c int, target string) *measurement {
	for i := range r.Runs {
		m := &r.Runs[i]
		if m.Latency == lat && m.Scenario == scenario && m.Concurrency == c && m.Target == target && m.Round == 0 {
			return m
		}
	}
	return nil
}

// ok reports whether m exists and succeeded without errors.
func ok(m *measurement) bool {
	return m != nil && m.Err == "" && m.Res.Errors == 0 && m.Res.Requests > 0
}

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmark report\n\n")
	p("Written by `cmd/bench` (`make bench`, profile **%s**) on %s; the run took %s. ", r.Profile, r.Date.UTC().Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	p("Every figure is measured in the same run as its baselines: the load generator hitting the Bedrock emulator **directly** and through a **bare reverse proxy** (`net/http/httputil`). Added latency is the gateway's percentile minus the direct one at the same concurrency. See [Method](#method).\n\n")
	if w := r.warnings(); len(w) > 0 {
		p("> **Caution: this run may be skewed.**\n")
		for _, s := range w {
			p("> - %s\n", s)
		}
		p("\n")
	}

	p("## Machine\n\n")
	m := r.Machine
	p("| | |\n|---|---|\n")
	p("| CPUs (nproc) | %d |\n| CPU model | %s |\n| memory | %.1f GiB |\n| kernel | %s |\n| Go | %s %s |\n", m.NProc, m.Model, m.MemGiB, m.Kernel, m.Go, m.GOOS)
	p("| gateway binary | %.1f MiB (static, stripped) |\n| build time (all binaries) | %s |\n", float64(r.GatewaySize)/(1<<20), r.BuildTime.Round(100*time.Millisecond))
	busy := ""
	if r.Load1AtStart > busyLoad {
		busy = " — **busy: above 1.5 with nothing of ours running**"
	}
	p("| 1-minute load before the run | %.2f%s |\n\n", r.Load1AtStart, busy)
	p("The gateway, the emulator, the proxy and the load generator all share these cores, as the issue asks.\n\n")

	p("## Targets\n\n")
	p("| target (issues 8, 18) | measured | baseline | status | what limits it |\n|---|---|---|---|---|\n")
	for _, v := range r.verdicts() {
		p("| %s | %s | %s | %s | %s |\n", v.Name, v.Figure, v.Baseline, v.Status, v.Why)
	}
	p("\n")

	r.limitsSection(&b)

	p("## Throughput and latency\n\n")
	p("Closed loop: each client sends one request and waits for the whole answer. `×proxy`/`×direct` are req/s ratios; `+p50` etc. are added milliseconds over direct; CPU is the serving process's user+system time per request (`/proc/<pid>/stat`). `load` is the 1-minute load average before the run / the cores other processes used during it.\n\n")
	for _, lat := range r.latencies() {
		for _, sc := range r.scenarios() {
			r.table(&b, lat, sc)
		}
	}

	r.caSection(&b)
	r.streamsSection(&b)
	r.memorySection(&b)
	r.startupSection(&b)
	r.lambdaSection(&b)
	r.profileSection(&b)
	r.microSection(&b)
	r.methodSection(&b)
	return b.String()
}

// limitsSection says, from this run's profiles and CPU figures, where the
// gateway's time goes and so what limits the figures above.
func (r *report) limitsSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## What limits the figures\n\n")
	top := r.topConcurrency()
	for _, sc := range r.scenarios() {
		// Medians over rounds where there are several, as in the Targets table.
		g, px := r.medianOf(0, sc, top, targetGateway, serverCPU), r.medianOf(0, sc, top, targetProxy, serverCPU)
		ratio, each := r.overRounds(0, sc, top, targetGateway, targetProxy, func(g, px *measurement) float64 { return g.Res.RPS / px.Res.RPS })
		if g <= 0 || px <= 0 || len(each) == 0 {
			continue
		}
		p("- **%s** at %d clients: the gateway uses %.0f µs of CPU per request, the bare proxy %.0f (×%.1f), and reaches %.0f%% of its throughput: on two shared cores throughput follows CPU per request.",
			scenarioTitle[sc], top, g, px, g/px, 100*ratio)
		if pr := r.profileOf(sc); pr != nil {
			p(" Profile: %s.", pr.headline())
			if sc == "embed" {
				p(" Vectors: scanning Bedrock's answer %s, writing the response %s (the numbers are copied, not decoded).", pr.pct("  embeddings: Bedrock response scan"), pr.pct("  embeddings: response write"))
			}
			if sc == "stream" {
				p(" The SDK's event-stream reader %s; each SSE chunk is encoded and written as it arrives (%s) and flushed as soon as no other event is ready, so events that arrive together share one system call.", pr.pct("SDK event-stream reader"), pr.pct("  SSE chunk"))
			}
		}
		p("\n")
	}
	if pr := r.profileOf("chat"); pr != nil {
		p("- The AWS SDK call allocates %s of the bytes in the chat profile, which drives the GC share: it builds its middleware stack anew for every call, which no documented option avoids. `bedrock.Lean` takes out the per-call work that options can remove (endpoint rules, User-Agent, invocation id, logging check); `BenchmarkConverseSDK` in the micro-benchmarks measures each middleware and the lean client against the SDK's default.\n", r.allocPct("chat", "AWS SDK call"))
	}
	if d := r.medianOf(0, "chat", top, targetDirect, emulatorCPU); d > 0 {
		p("- The emulator itself uses %.0f µs of CPU per request at %d clients, on the same two cores as the gateway and the load generator.\n", d, top)
	}
	if len(r.Inits) > 0 {
		p("- Start-up: the package initialisers run for %.1f ms before `main` (%s); the gateway's own init is a few ms.\n", r.initTotal(), r.slowInits(3))
	}
	p("\n")
}

func (r *report) latencies() []time.Duration {
	var out []time.Duration
	for _, m := range r.Runs {
		if !slices.Contains(out, m.Latency) {
			out = append(out, m.Latency)
		}
	}
	return out
}

func (r *report) scenarios() []string {
	var out []string
	for _, m := range r.Runs {
		if !slices.Contains(out, m.Scenario) {
			out = append(out, m.Scenario)
		}
	}
	return out
}

func (r *report) concurrencies() []int {
	var out []int
	for _, m := range r.Runs {
		if !slices.Contains(out, m.Concurrency) {
			out = append(out, m.Concurrency)
		}
	}
	return out
}

var scenarioTitle = map[string]string{"chat": "non-streaming chat", "stream": "streaming chat", "embed": "embeddings",
	"responses": "Responses", "responses-stream": "Responses, streaming", "messages": "Anthropic Messages",
	"messages-stream": "Anthropic Messages, streaming", "mixed": "mixed workload (chat, stream, embeddings, tools)"}

// routeBaseline is the chat scenario whose Bedrock request a route sends.
var routeBaseline = map[string]string{"responses": "chat", "responses-stream": "stream", "messages": "chat", "messages-stream": "stream"}

// streaming reports whether a scenario's answers are streams (TTFT measured).
func streaming(sc string) bool { return sc == "stream" || strings.HasSuffix(sc, "-stream") }

func (r *report) table(b *strings.Builder, lat time.Duration, sc string) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if !slices.ContainsFunc(r.Runs, func(m measurement) bool { return m.Latency == lat && m.Scenario == sc }) {
		return // the routes and the mixed workload run at 0 ms only
	}
	p("### %s, upstream delay %s\n\n", scenarioTitle[sc], fmtLatency(lat))
	if _, baseline := routeBaseline[sc]; baseline {
		p("direct and proxy send the Bedrock %s request the gateway sends for it (the same baselines as %s).\n\n", routeBaseline[sc], scenarioTitle[routeBaseline[sc]])
	}
	if sc == "mixed" {
		p("Each client sends chat, streaming chat, embeddings and a chat answered with a tool call in turn; direct and proxy send the Bedrock requests of the same four.\n\n")
	}
	stream := streaming(sc)
	p("| clients | target | req/s | ×proxy | ×direct | p50 ms | p99 ms | p99.9 ms | +p50 | +p99 | +p99.9 |")
	if stream {
		p(" TTFT p50 | +TTFT p50 | +TTFT p99 |")
	}
	p(" CPU µs/req | errors | load |\n|---|---|---|---|---|---|---|---|---|---|---|")
	if stream {
		p("---|---|---|")
	}
	p("---|---|---|\n")
	for _, c := range r.concurrencies() {
		d, px := r.find(lat, sc, c, targetDirect), r.find(lat, sc, c, targetProxy)
		for _, t := range []string{targetDirect, targetProxy, targetGateway, targetGatewayCA} {
			m := r.find(lat, sc, c, t)
			if m == nil {
				continue
			}
			if m.Err != "" {
				p("| %d | %s | failed: %s |\n", c, t, mdEscape(m.Err))
				continue
			}
			l := m.Res.Latency
			p("| %d | %s | %.0f | %s | %s | %.2f | %.2f | %.2f | %s | %s | %s |", c, t, m.Res.RPS,
				ratioOf(m, px), ratioOf(m, d), l.P50, l.P99, l.P999,
				addedOf(m, d, func(s summary) float64 { return s.P50 }),
				addedOf(m, d, func(s summary) float64 { return s.P99 }),
				addedOf(m, d, func(s summary) float64 { return s.P999 }))
			if stream {
				tt := "–"
				if m.Res.TTFT != nil {
					tt = fmt.Sprintf("%.2f", m.Res.TTFT.P50)
				}
				p(" %s | %s | %s |", tt, ttftAdded(m, d, func(s summary) float64 { return s.P50 }), ttftAdded(m, d, func(s summary) float64 { return s.P99 }))
			}
			cpu := "–"
			if m.Target != targetDirect {
				cpu = fmt.Sprintf("%.0f", m.ServerCPU)
			}
			errs := fmt.Sprint(m.Res.Errors)
			if m.Res.Errors > 0 && len(m.Res.ErrorSamples) > 0 {
				errs += " (" + mdEscape(m.Res.ErrorSamples[0]) + ")"
			}
			flag := ""
			if m.Foreign > busyForeign {
				flag = " ⚠"
			}
			p(" %s | %s | %.1f / %.2f%s |\n", cpu, errs, m.Load1, m.Foreign, flag)
		}
	}
	p("\nEmulator CPU per request in these runs: %s µs (it shares the cores).\n\n", r.emulatorCPU(lat, sc))
	var runs []measurement
	for _, m := range r.Runs {
		if m.Latency == lat && m.Scenario == sc && m.Round == 0 {
			runs = append(runs, m)
		}
	}
	r.serverLogs(b, runs)
}

// serverLogs quotes what the process under test logged during runs with errors.
func (r *report) serverLogs(b *strings.Builder, runs []measurement) {
	for _, m := range runs {
		if len(m.ServerLog) == 0 {
			continue
		}
		fmt.Fprintf(b, "What %s logged during its %d-client run with errors:\n\n```\n%s\n```\n\n", m.Target, m.Concurrency, strings.Join(m.ServerLog, "\n"))
	}
}

func (r *report) emulatorCPU(lat time.Duration, sc string) string {
	var parts []string
	for _, c := range r.concurrencies() {
		if m := r.find(lat, sc, c, targetDirect); m != nil && m.Err == "" {
			parts = append(parts, fmt.Sprintf("%.0f at %d clients", m.EmulatorCPU, c))
		}
	}
	return strings.Join(parts, ", ")
}

func ratioOf(m, base *measurement) string {
	if m == base {
		return "1"
	}
	if base == nil || base.Err != "" || base.Res.RPS == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", m.Res.RPS/base.Res.RPS)
}

func addedOf(m, d *measurement, pick func(summary) float64) string {
	if m == d || d == nil || d.Err != "" || d.Res.Requests == 0 {
		return "–"
	}
	return fmt.Sprintf("%+.2f", pick(m.Res.Latency)-pick(d.Res.Latency))
}

func ttftAdded(m, d *measurement, pick func(summary) float64) string {
	if m == d || d == nil || d.Res.TTFT == nil || m.Res.TTFT == nil || d.Res.TTFT.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%+.2f", pick(*m.Res.TTFT)-pick(*d.Res.TTFT))
}

func fmtLatency(d time.Duration) string {
	if d == 0 {
		return "0 ms"
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// warnings lists what may have skewed the run.
func (r *report) warnings() []string {
	var w []string
	if r.Load1AtStart > busyLoad {
		w = append(w, fmt.Sprintf("The 1-minute load average was %.2f before the run started, with nothing of ours running (threshold %.1f): other work was using the machine.", r.Load1AtStart, busyLoad))
	}
	flagged, worst := 0, 0.0
	for _, m := range append(slices.Clone(r.Runs), r.Streams...) {
		if m.Foreign > busyForeign {
			flagged++
			worst = max(worst, m.Foreign)
		}
	}
	if flagged > 0 {
		w = append(w, fmt.Sprintf("%d of %d load runs saw other processes use more than %.2f cores (up to %.2f), marked ⚠ in the tables: their figures are pessimistic.", flagged, len(r.Runs)+len(r.Streams), busyForeign, worst))
	}
	failed := 0
	for _, m := range append(slices.Clone(r.Runs), r.Streams...) {
		if m.Err != "" || m.Res.Errors > 0 {
			failed++
		}
	}
	if failed > 0 {
		w = append(w, fmt.Sprintf("%d load runs had errors; see the tables.", failed))
	}
	return w
}

func (r *report) caSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## AWS_CA_BUNDLE\n\n")
	if r.CABundle == "" {
		p("Not run: no CA bundle was found on this machine.\n\n")
		return
	}
	p("`gateway-ca` is a second gateway process started with `AWS_CA_BUNDLE=%s`; `gateway` has it unset. The SDK reads the bundle once, when the configuration is built, so per-request figures should match.\n\n", r.CABundle)
	p("| scenario | clients | gateway req/s | gateway-ca req/s | ratio | CPU µs/req | CPU µs/req with bundle |\n|---|---|---|---|---|---|---|\n")
	for _, lat := range r.latencies() {
		for _, sc := range r.scenarios() {
			for _, c := range r.concurrencies() {
				g, ca := r.find(lat, sc, c, targetGateway), r.find(lat, sc, c, targetGatewayCA)
				if g == nil || ca == nil || g.Err != "" || ca.Err != "" {
					continue
				}
				p("| %s | %d | %.0f | %.0f | %.2f | %.0f | %.0f |\n", sc, c, g.Res.RPS, ca.Res.RPS, ca.Res.RPS/g.Res.RPS, g.ServerCPU, ca.ServerCPU)
			}
		}
	}
	p("\n")
}

func (r *report) streamsSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Streams\n\n")
	if len(r.Streams) == 0 {
		p("Not run.\n\n")
		return
	}
	gap := r.StreamGap.Milliseconds()
	p("Concurrent streams with the emulator pausing %d ms between events (a prompt directive), so each stream stays open about %d ms and the clients really are open at once. ", gap, 7*gap)
	p("The spread is the time from the first to the last of the three text chunks: forwarded as they arrive it is about %d ms; coalesced it would be near 0.\n\n", 2*gap)
	p("| target | clients | streams | peak open at once | errors | TTFT p50 ms | spread p50 ms | spread min ms | req/s | load |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, m := range r.Streams {
		if m.Err != "" {
			p("| %s | %d | failed: %s |\n", m.Target, m.Concurrency, mdEscape(m.Err))
			continue
		}
		tt, sp, spMin := "–", "–", "–"
		if m.Res.TTFT != nil {
			tt = fmt.Sprintf("%.2f", m.Res.TTFT.P50)
		}
		if m.Res.Spread != nil && m.Res.Spread.N > 0 {
			sp = fmt.Sprintf("%.1f", m.Res.Spread.P50)
			spMin = fmt.Sprintf("%.1f", m.Res.Spread.Min)
		}
		errs := fmt.Sprint(m.Res.Errors)
		if m.Res.Errors > 0 && len(m.Res.ErrorSamples) > 0 {
			errs += " (" + mdEscape(m.Res.ErrorSamples[0]) + ")"
		}
		p("| %s | %d | %d | %d | %s | %s | %s | %s | %.0f | %.1f / %.2f |\n", m.Target, m.Concurrency, m.Res.Requests, m.Res.PeakInFlight, errs, tt, sp, spMin, m.Res.RPS, m.Load1, m.Foreign)
	}
	p("\n")
	r.serverLogs(b, r.Streams)
}

func (r *report) memorySection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Memory\n\n")
	p("Resident memory from `/proc/<pid>/status`, MiB: VmRSS after start (before any request) split into anonymous memory (heap, stacks) and file-backed pages (the binary's code and data mapped in: shared and reclaimable); VmHWM over the top-concurrency runs (reset with `clear_refs` before each) and RssAnon at the end of the run that peaked; VmRSS after all of the phase's load (the concurrent streams and profiling included) and a short idle.\n\n")
	p("| upstream | process | idle after start | idle anon / file | peak at %d clients | anon at the peak run's end | after load | ×proxy (peak) |\n|---|---|---|---|---|---|---|---|\n", r.topConcurrency())
	for _, m := range r.Memory {
		px := r.memoryOf(m.Latency, targetProxy)
		ratio := "–"
		if px != nil && px.PeakMB > 0 && m.Target != targetProxy {
			ratio = fmt.Sprintf("%.1f", m.PeakMB/px.PeakMB)
		}
		peak := fmt.Sprintf("%.1f", m.PeakMB)
		if !m.PeakReset {
			peak += " (lifetime peak: reset failed)"
		}
		p("| %s | %s | %.1f | %.1f / %.1f | %s | %.1f | %.1f | %s |\n", fmtLatency(m.Latency), m.Target, m.IdleMB, m.IdleAnonMB, m.IdleFileMB, peak, m.TopAnonMB, m.AfterMB, ratio)
	}
	p("\n")
}

func (r *report) memoryOf(lat time.Duration, target string) *memory {
	for i := range r.Memory {
		if r.Memory[i].Latency == lat && r.Memory[i].Target == target {
			return &r.Memory[i]
		}
	}
	return nil
}

// topConcurrency is the largest concurrency of the chat runs, the one the
// throughput and memory targets are read at (the mixed workload goes higher).
func (r *report) topConcurrency() int {
	top := 0
	for _, m := range r.Runs {
		if m.Scenario == "chat" {
			top = max(top, m.Concurrency)
		}
	}
	return top
}

func (r *report) startupSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Start-up\n\n")
	p("Exec of the server binary to the first successful chat answer (`API_KEY` key, the emulator with no delay), polling every 0.2 ms; `init_ms` is the gateway's own log field (configuration, AWS config and clients, key load, handler). Each variant ran the same number of times, interleaved.\n\n")
	p("| variant | runs | median ms | min | max | init_ms median |\n|---|---|---|---|---|---|\n")
	for _, s := range r.Startups {
		if len(s.Samples) == 0 {
			p("| %s | 0 | failed: %s |\n", s.name(), mdEscape(s.Err))
			continue
		}
		ms := durationsMS(s.Samples)
		p("| %s | %d | %.1f | %.1f | %.1f | %.1f |\n", s.name(), len(ms), median(ms), slices.Min(ms), slices.Max(ms), median(s.InitMS))
	}
	p("\n")
	if r.InitsErr != "" {
		p("The package-initialiser trace failed: %s\n\n", mdEscape(r.InitsErr))
		return
	}
	total := r.initTotal()
	p("Before `main` runs, the package initialisers take %.1f ms in all (one start with `GODEBUG=inittrace=1`); the slowest:\n\n", total)
	p("| package | init ms |\n|---|---|\n")
	for _, in := range r.Inits[:min(10, len(r.Inits))] {
		p("| %s | %.2f |\n", in.Pkg, in.MS)
	}
	p("\n")
}

// initTotal is the sum of the package initialisers' times.
func (r *report) initTotal() float64 {
	total := 0.0
	for _, in := range r.Inits {
		total += in.MS
	}
	return total
}

func (s startupResult) name() string {
	n := "model discovery off"
	if s.Discovery {
		n = "model discovery on (default)"
	}
	if s.CA {
		n += ", AWS_CA_BUNDLE set"
	}
	return n
}

func (r *report) lambdaSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Lambda init\n\n")
	l := r.Lambda
	if !l.Measured {
		p("Not measured: %s.\n\n", l.reason())
		return
	}
	p("The Lambda build (`-tags lambda,lambda.norpc`, ALB mode) under the AWS Lambda Runtime Interface Emulator, which starts the bootstrap at the first invocation. Each run is a fresh RIE; the invocation is an ALB event carrying a chat request.\n\n")
	p("| runs | first invocation answered, median ms | RIE INIT REPORT median ms | gateway init_ms median |\n|---|---|---|---|\n")
	p("| %d | %.1f | %s | %.1f |\n\n", len(l.FirstAnswer), median(durationsMS(l.FirstAnswer)), fmtMaybe(median(l.ReportMS)), median(l.InitMS))
	if l.Err != "" {
		p("Some runs failed: %s\n\n", mdEscape(l.Err))
	}
}

func (l lambdaResult) reason() string {
	if l.Reason == "" {
		return "this profile skips it"
	}
	return l.Reason
}

func fmtMaybe(v float64) string {
	if v < 0 {
		return "not printed"
	}
	return fmt.Sprintf("%.1f", v)
}

func (r *report) profileSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Profile\n\n")
	if len(r.Profiles) == 0 {
		p("Not run.\n\n")
		return
	}
	p("CPU and allocation profiles of the gateway (its `PPROF_ADDR` debug listener) under load with no upstream delay, taken after the measured runs. Shares are cumulative (a function and everything it calls), so nested rows overlap.\n\n")
	for _, pr := range r.Profiles {
		p("### %s, %d clients (%.0f req/s while profiling)\n\n", scenarioTitle[pr.Scenario], pr.Concurrency, pr.RPS)
		if pr.Err != "" {
			p("Failed: %s\n\n", mdEscape(pr.Err))
			continue
		}
		p("| CPU share | %% |\n|---|---|\n")
		for _, s := range pr.Shares {
			p("| %s | %.1f |\n", strings.ReplaceAll(s.Label, "  ", "&nbsp;&nbsp;"), s.Percent)
		}
		p("\n| allocated bytes share | %% |\n|---|---|\n")
		for _, s := range pr.AllocShares {
			p("| %s | %.1f |\n", s.Label, s.Percent)
		}
		p("\nTop functions by own CPU time:\n\n```\n%s\n```\n\n", strings.Join(pr.TopFlat, "\n"))
		p("Top allocation sites (bytes):\n\n```\n%s\n```\n\n", strings.Join(pr.TopAlloc, "\n"))
	}
}

func (r *report) microSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Micro-benchmarks\n\n")
	if len(r.Micro) == 0 && r.MicroErr == "" {
		p("Not run in this profile (`go test -run '^$' -bench . -benchmem %s`).\n\n", strings.Join(microPackages, " "))
		return
	}
	if r.MicroErr != "" {
		p("**go test -bench failed:** %s\n\n", mdEscape(r.MicroErr))
	}
	p("`go test -run '^$' -bench . -benchmem %s`, one run; `×baseline` is ns/op over the `baseline…` sibling of the same benchmark in the same run.\n\n", strings.Join(microPackages, " "))
	p("| package | benchmark | ns/op | B/op | allocs/op | ×baseline |\n|---|---|---|---|---|---|\n")
	for _, m := range r.Micro {
		ratio := ""
		if m.Baseline != "" {
			ratio = fmt.Sprintf("%.2f", m.Ratio)
		}
		p("| %s | %s | %.0f | %.0f | %.0f | %s |\n", strings.TrimPrefix(m.Pkg, "github.com/openbedrock/gateway/"), m.Name, m.NsOp, m.BOp, m.AllocsOp, ratio)
	}
	p("\n")
}

func (r *report) methodSection(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("## Method\n\n")
	p("- Processes: `bedrock-emulator` (its own process, 127.0.0.1), `bareproxy` (`httputil.ReverseProxy`, 256 idle connections per host like the gateway's `BEDROCK_MAX_IDLE_CONNS`, flushing every write, reading each request body whole before forwarding it as the gateway does), `gateway` (`LOG_LEVEL=warn`, static model catalogue, `PPROF_ADDR` on but idle until the profile step) and `loadgen`, all built by the harness. Children get a clean environment (no inherited AWS settings or shared config files).\n")
	p("- The load generator (`cmd/loadgen`) is closed-loop: a fixed number of clients, each with one request in flight, for a fixed time after a warm-up, bounded in requests. Direct and proxy runs send the Bedrock-shaped equivalent of the gateway's request (the same Converse JSON or InvokeModel body the gateway sends, checked by `cmd/loadgen`'s tests), unsigned, with the same HTTP client. Streams count the time to the first non-empty content chunk (SSE) or first `contentBlockDelta` frame (event stream).\n")
	p("- \"0 ms upstream\" means the emulator answers as soon as it has read the request. The gateway's AWS HTTP client hides the request body's `WriteTo` from net/http (`bedrock.ShieldBodies`): without it, an instant answer lets the SDK close the body mid-write and net/http drops the connection under a stream still being read.\n")
	p("- Targets are read from these runs: throughput at the top concurrency with no upstream delay, added latency at 1 client, and so on; see the Targets table. The chat runs at 1 client and at the top concurrency are measured %d times in all (after the matrix, every target in turn), and the targets read from them take the median over the rounds; the tables show round 1.\n", max(r.Rounds, 1))
	p("- Busy machine: the 1-minute load average is read before the run (nothing of ours running) and before every load run; the cores used by other processes during each run are `/proc/stat` busy time minus the CPU time of our processes (`/proc/<pid>/stat`, the load generator's rusage). Runs above %.2f cores are marked ⚠.\n", busyForeign)
	p("- Raw profiles are written to the harness's temporary directory and removed afterwards unless `-keep` is given.\n")
}

func durationsMS(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d.Microseconds()) / 1000
	}
	return out
}

// median of vs; -1 for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return -1
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
