package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// execute runs every phase of the profile and fills h.rep. It stops early
// only when the harness itself cannot go on (a build or a process that does
// not start); failed load runs are recorded and reported.
func (h *harness) execute(ctx context.Context) error {
	rep := h.rep
	rep.Machine = describeMachine()
	// Before anything of ours runs: is the machine busy already?
	rep.Load1AtStart = waitQuiet(ctx, h.prof.QuietWait)
	h.logf("load average %.2f; building", rep.Load1AtStart)
	bin, err := build(ctx, h.repo, h.work, h.bins, h.prof.LambdaInits > 0)
	if err != nil {
		return err
	}
	h.bin, rep.BuildTime, rep.GatewaySize = bin, bin.buildTime, fileSize(bin.gateway)

	for i, lat := range h.prof.Latencies {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := h.runPhase(ctx, lat, i == 0); err != nil {
			return err
		}
	}
	if h.prof.MicroBenchtime != "" {
		h.logf("micro-benchmarks")
		rep.Micro, rep.MicroErr = runMicro(ctx, h.repo, h.prof.MicroBenchtime)
	}
	return nil
}

// runPhase starts the emulator with one upstream delay, the proxy and the
// gateways, and runs the load matrix; the first phase also measures
// start-up, the Lambda init, the concurrent streams and the profiles.
func (h *harness) runPhase(ctx context.Context, lat time.Duration, first bool) (err error) {
	h.logf("phase: upstream delay %s", lat)
	emu, err := h.startEmulator(lat)
	if err != nil {
		return err
	}
	ph := &phase{latency: lat, emu: emu, servers: map[string]*server{}}
	h.current = ph
	defer ph.stop()

	if first {
		h.measureStartups(emu.url)
		if h.prof.LambdaInits > 0 {
			h.rep.Lambda = h.lambdaInits(ctx, emu.url)
		}
	}
	if ph.servers[targetProxy], err = h.startProxy(emu.url); err != nil {
		return err
	}
	targets := []string{targetDirect, targetProxy, targetGateway}
	if ph.servers[targetGateway], err = h.startGateway(emu.url, false); err != nil {
		return err
	}
	if first && h.caPath != "" {
		if ph.servers[targetGatewayCA], err = h.startGateway(emu.url, true); err != nil {
			return err
		}
		targets = append(targets, targetGatewayCA)
	}
	time.Sleep(200 * time.Millisecond) // let start-up garbage settle before reading idle RSS
	mem := map[string]*memory{}
	for _, t := range targets[1:] {
		p := ph.servers[t].p
		mem[t] = &memory{Latency: lat, Target: t, IdleMB: rss(p, "VmRSS"), IdleAnonMB: rss(p, "RssAnon"), IdleFileMB: rss(p, "RssFile"), PeakMB: -1}
		if segs, err := binarySegments(p.pid()); err == nil {
			mem[t].Segments = segs
		} else {
			h.logf("memory segments of %s: %v", t, err)
		}
	}

	for _, sc := range h.prof.Scenarios {
		for _, c := range h.prof.Concurrency {
			for _, t := range targets {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				top := c == h.prof.top() && t != targetDirect
				if top {
					mem[t].PeakReset = resetPeak(ph.servers[t].p.pid()) == nil
				}
				m := h.load(t, sc, c, h.prof.Duration)
				h.rep.Runs = append(h.rep.Runs, m)
				h.logf("%-6s %-10s c=%-3d %8.0f req/s p50 %7.2f ms p99 %7.2f ms errors %d%s", sc, t, c, m.Res.RPS,
					m.Res.Latency.P50, m.Res.Latency.P99, m.Res.Errors, errSuffix(m))
				if top {
					if hwm := rss(ph.servers[t].p, "VmHWM"); hwm > mem[t].PeakMB {
						// RssAnon now, at the end of the run with the highest peak.
						mem[t].PeakMB, mem[t].TopAnonMB = hwm, rss(ph.servers[t].p, "RssAnon")
					}
				}
			}
		}
	}
	h.repeatChat(ctx, targets)
	if first {
		h.runRoutes(ctx)
		h.runStreams()
		for _, sc := range h.prof.ProfileOf {
			if h.prof.ProfileSeconds > 0 && contains(h.prof.Scenarios, sc) {
				h.rep.Profiles = append(h.rep.Profiles, h.captureProfile(ctx, sc))
			}
		}
	}
	time.Sleep(h.prof.Settle)
	for _, t := range targets[1:] {
		mem[t].AfterMB = rss(ph.servers[t].p, "VmRSS")
		h.rep.Memory = append(h.rep.Memory, *mem[t])
	}
	return nil
}

// repeatChat measures the chat runs the targets are read from (1 client
// and the top concurrency) again, prof.Rounds-1 more times, every target
// in turn, so that the verdicts can take the median over rounds rather than
// trust one 3-second run on a shared machine.
func (h *harness) repeatChat(ctx context.Context, targets []string) {
	if !contains(h.prof.Scenarios, "chat") {
		return
	}
	for round := 1; round < h.prof.Rounds; round++ {
		for _, c := range []int{1, h.prof.top()} {
			for _, t := range targets {
				if ctx.Err() != nil {
					return
				}
				m := h.load(t, "chat", c, h.prof.Duration)
				m.Round = round
				h.rep.Runs = append(h.rep.Runs, m)
				h.logf("chat   %-10s c=%-3d %8.0f req/s p50 %7.2f ms p99 %7.2f ms errors %d%s (round %d)", t, c, m.Res.RPS,
					m.Res.Latency.P50, m.Res.Latency.P99, m.Res.Errors, errSuffix(m), round+1)
			}
		}
	}
}

// runRoutes measures the Responses and Messages routes and the mixed
// workload against the direct and proxy baselines.
func (h *harness) runRoutes(ctx context.Context) {
	type run struct {
		sc string
		c  int
	}
	var runs []run
	for _, sc := range h.prof.RouteScenarios {
		for _, c := range h.prof.RouteConcurrency {
			runs = append(runs, run{sc, c})
		}
	}
	for _, c := range h.prof.Mixed {
		runs = append(runs, run{"mixed", c})
	}
	for _, r := range runs {
		for _, t := range []string{targetDirect, targetProxy, targetGateway} {
			if ctx.Err() != nil {
				return
			}
			m := h.load(t, r.sc, r.c, h.prof.Duration)
			h.rep.Runs = append(h.rep.Runs, m)
			h.logf("%-16s %-10s c=%-3d %8.0f req/s p50 %7.2f ms p99 %7.2f ms errors %d%s", r.sc, t, r.c, m.Res.RPS,
				m.Res.Latency.P50, m.Res.Latency.P99, m.Res.Errors, errSuffix(m))
		}
	}
}

func errSuffix(m measurement) string {
	switch {
	case m.Err != "":
		return " FAILED: " + m.Err
	case len(m.Res.ErrorSamples) > 0:
		return " (" + m.Res.ErrorSamples[0] + ")"
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// measureStartups starts fresh gateways, interleaving the variants so a
// burst of noise does not land on one of them.
func (h *harness) measureStartups(emuURL string) {
	h.logf("start-up, %d runs per variant", h.prof.Startups)
	variants := []startupResult{{Discovery: true}, {Discovery: false}}
	if h.caPath != "" {
		variants = append(variants, startupResult{CA: true, Discovery: true})
	}
	for range h.prof.Startups {
		for i := range variants {
			v := &variants[i]
			took, initMS, err := h.startup(emuURL, v.CA, v.Discovery)
			if err != nil {
				v.Err = err.Error()
				continue
			}
			v.Samples = append(v.Samples, took)
			v.InitMS = append(v.InitMS, initMS)
		}
	}
	h.rep.Startups = variants
	h.rep.Inits, h.rep.InitsErr = nil, ""
	if inits, err := h.initTrace(emuURL); err != nil {
		h.rep.InitsErr = err.Error()
	} else {
		h.rep.Inits = inits
	}
}

// runStreams holds prof.Streams streams open at once, through the gateway
// and directly, with the emulator pausing StreamGap between events: no
// errors, every stream open together, and the gap between the first and
// last text chunk kept (chunks forwarded as they arrive, not coalesced).
func (h *harness) runStreams() {
	gapMS := h.prof.StreamGap.Milliseconds()
	prompt := fmt.Sprintf("Hello from the benchmark.\n@emulate {\"chunk_delay_ms\":%d}", gapMS)
	h.logf("%d concurrent streams, %d ms between events", h.prof.Streams, gapMS)
	for _, t := range []string{targetDirect, targetGateway} {
		m := h.load(t, "stream", h.prof.Streams, h.prof.StreamsDuration, "-prompt", prompt, "-timeout", "60s")
		h.rep.Streams = append(h.rep.Streams, m)
		h.logf("streams %-8s %d streams, peak %d open, errors %d%s", t, m.Res.Requests, m.Res.PeakInFlight, m.Res.Errors, errSuffix(m))
	}
	h.rep.StreamGap = h.prof.StreamGap
}

// captureProfile runs top-concurrency load on the gateway while fetching a
// CPU and an allocation profile from its pprof listener, and summarises
// them with go tool pprof.
func (h *harness) captureProfile(ctx context.Context, scenario string) profileResult {
	res := profileResult{Scenario: scenario, Concurrency: h.prof.top()}
	gw := h.current.servers[targetGateway]
	secs := h.prof.ProfileSeconds
	h.logf("profiling the gateway: %s, %d clients, %d s", scenario, h.prof.top(), secs)
	var wg sync.WaitGroup
	var m measurement
	wg.Go(func() {
		m = h.load(targetGateway, scenario, h.prof.top(), time.Duration(secs)*time.Second+time.Second)
	})
	time.Sleep(h.prof.Warmup + 300*time.Millisecond)
	cpuFile := filepath.Join(h.work, "cpu-"+scenario+".pprof")
	allocFile := filepath.Join(h.work, "allocs-"+scenario+".pprof")
	var cpuErr, allocErr error
	wg.Go(func() {
		cpuErr = fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", gw.pprof, secs), cpuFile)
	})
	wg.Go(func() {
		allocErr = fetch(ctx, fmt.Sprintf("http://%s/debug/pprof/allocs?seconds=%d", gw.pprof, secs), allocFile)
	})
	wg.Wait()
	res.RPS = m.Res.RPS
	if err := firstErr(cpuErr, allocErr); err != nil {
		res.Err = err.Error()
		return res
	}
	res.Files = []string{cpuFile, allocFile}
	cpu, err := pprofTop(ctx, h.bin.gateway, cpuFile, "-top", "-cum", "-nodecount=800")
	if err != nil {
		res.Err = err.Error()
		return res
	}
	rows := parsePprofTop(cpu)
	res.Shares, res.TopFlat = cpuShares(cumByName(rows)), topFlat(rows, 12)
	allocs, err := pprofTop(ctx, h.bin.gateway, allocFile, "-sample_index=alloc_space", "-top", "-cum", "-nodecount=800")
	if err != nil {
		res.Err = err.Error()
		return res
	}
	rows = parsePprofTop(allocs)
	res.AllocShares, res.TopAlloc = allocShares(cumByName(rows)), topFlat(rows, 8)
	return res
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("fetch %s: status %d: %s", url, resp.StatusCode, b)
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("save profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("save profile: %w", err)
	}
	return f.Close()
}

func pprofTop(ctx context.Context, bin, file string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof"}, args...), bin, file)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// describeMachine reads what the report says about the machine.
func describeMachine() machine {
	m := machine{NProc: runtime.NumCPU(), Go: runtime.Version(), GOOS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := parseStatusKB(string(b), "MemTotal"); err == nil {
			m.MemGiB = float64(kb) / (1 << 20)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
