package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchKey is the gateway's API key during the run.
const benchKey = "sk-bench-0123456789abcdef"

// Targets: who answers a load run.
const (
	targetDirect    = "direct"     // the emulator itself
	targetProxy     = "proxy"      // bareproxy in front of it
	targetGateway   = "gateway"    // the gateway, AWS_CA_BUNDLE unset
	targetGatewayCA = "gateway-ca" // the gateway with AWS_CA_BUNDLE set
)

// loadResult is cmd/loadgen's output (its Result type).
type loadResult struct {
	Requests        int      `json:"requests"`
	Total           int      `json:"total"`
	Errors          int      `json:"errors"`
	ErrorSamples    []string `json:"error_samples"`
	Seconds         float64  `json:"seconds"`
	RPS             float64  `json:"rps"`
	Latency         summary  `json:"latency_ms"`
	TTFT            *summary `json:"ttft_ms"`
	Spread          *summary `json:"spread_ms"`
	EventsPerStream float64  `json:"events_per_stream"`
	PeakInFlight    int64    `json:"peak_in_flight"`
}

// summary holds percentiles in milliseconds.
type summary struct {
	N    int     `json:"n"`
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// measurement is one load run and what the machine did meanwhile.
type measurement struct {
	Latency     time.Duration
	Scenario    string
	Concurrency int
	Target      string
	// Round is 0 for the main matrix; 1 and up are the repeated chat runs
	// the targets are judged on (profile.Rounds).
	Round int
	Res   loadResult
	// ServerCPU is the CPU time of the process under test (gateway or
	// proxy) per request, and EmulatorCPU the emulator's, in µs.
	ServerCPU, EmulatorCPU float64
	Load1                  float64 // 1-minute load average before the run
	Foreign                float64 // cores used by processes not ours during the run
	Err                    string  // the load generator failed
	// ServerLog holds the first lines the process under test logged during
	// a run with errors (it logs at warn and above).
	ServerLog []string
}

// server is a process under test and where it listens.
type server struct {
	p     *proc
	url   string // base URL the load generator uses
	pprof string // PPROF_ADDR, gateways only
}

// phase is the set of processes for one upstream delay.
type phase struct {
	latency time.Duration
	emu     *server
	servers map[string]*server // proxy, gateway, gateway-ca
}

func (ph *phase) procs() []*proc {
	out := []*proc{ph.emu.p}
	for _, s := range ph.servers {
		out = append(out, s.p)
	}
	return out
}

func (ph *phase) stop() {
	for _, s := range ph.servers {
		s.p.stop()
	}
	ph.emu.p.stop()
}

// harness runs one benchmark.
type harness struct {
	prof    profile
	repo    string
	bins    string // prebuilt binaries (-bins); empty: build them into work
	work    string // temporary directory: binaries, profiles, config stubs
	bin     *binaries
	caPath  string // the system CA bundle AWS_CA_BUNDLE points at
	log     io.Writer
	rep     *report
	current *phase
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "bench: %5.1fs "+format+"\n", append([]any{time.Since(h.rep.Date).Seconds()}, args...)...)
}

// baseEnv is what every child gets: no inherited AWS settings, proxies or
// shared config files, so the run does not depend on the machine's setup.
func (h *harness) baseEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"GORACE=" + os.Getenv("GORACE"), // make test's race builds (-bins): no sleep at exit
		"HOME=" + h.work,
		"AWS_CONFIG_FILE=" + filepath.Join(h.work, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(h.work, "aws-credentials"),
	}
}

// gatewayEnv configures a gateway against the emulator at emuURL.
func (h *harness) gatewayEnv(emuURL, addr string, ca, discovery bool, extra ...string) []string {
	host, port, _ := strings.Cut(addr, ":")
	env := append(h.baseEnv(),
		"HOST="+host, "PORT="+port, "API_KEY="+benchKey,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=AKIDBENCH", "AWS_SECRET_ACCESS_KEY=bench-secret", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME="+emuURL, "AWS_ENDPOINT_URL_BEDROCK="+emuURL,
		"ENABLE_MODEL_DISCOVERY="+strconv.FormatBool(discovery),
		"LOG_LEVEL=warn", "SHUTDOWN_DRAIN_DELAY=0s", "SHUTDOWN_TIMEOUT=2s")
	if ca {
		env = append(env, "AWS_CA_BUNDLE="+h.caPath)
	}
	return append(env, extra...)
}

// startEmulator starts the emulator with the given upstream delay.
func (h *harness) startEmulator(latency time.Duration) (*server, error) {
	p, err := startProc("emulator", h.bin.emulator, []string{"-addr", "127.0.0.1:0", "-latency", latency.String()}, h.baseEnv())
	if err != nil {
		return nil, err
	}
	url, err := p.waitOutput("bedrock emulator listening on ", 10*time.Second)
	if err != nil {
		p.stop()
		return nil, err
	}
	return &server{p: p, url: url}, nil
}

func (h *harness) startProxy(emuURL string) (*server, error) {
	p, err := startProc("bareproxy", h.bin.proxy, []string{"-addr", "127.0.0.1:0", "-target", emuURL}, h.baseEnv())
	if err != nil {
		return nil, err
	}
	url, err := p.waitOutput("listening on ", 10*time.Second)
	if err != nil {
		p.stop()
		return nil, err
	}
	return &server{p: p, url: url}, nil
}

// startGateway starts a gateway for load runs, with pprof on a debug
// listener, and waits for /health.
func (h *harness) startGateway(emuURL string, ca bool) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	pprofAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProc("gateway", h.bin.gateway, nil, h.gatewayEnv(emuURL, addr, ca, false, "PPROF_ADDR="+pprofAddr))
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for status(base+"/health") != http.StatusOK {
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("gateway did not answer /health; output:\n%s", p.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return &server{p: p, url: base + "/api/v1", pprof: pprofAddr}, nil
}

func status(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// load runs the load generator once against target and measures the CPU
// the processes spent meanwhile.
func (h *harness) load(target, scenario string, c int, dur time.Duration, extra ...string) measurement {
	ph := h.current
	m := measurement{Latency: ph.latency, Scenario: scenario, Concurrency: c, Target: target, Load1: loadavg1()}
	api, srv := "openai", ph.servers[target]
	if target == targetDirect {
		api, srv = "bedrock", ph.emu
	} else if target == targetProxy {
		api = "bedrock"
	}
	args := append([]string{"-api", api, "-url", srv.url, "-key", benchKey, "-scenario", scenario, "-c", strconv.Itoa(c),
		"-d", dur.String(), "-warmup", h.prof.Warmup.String(), "-max", strconv.Itoa(h.prof.Max)}, extra...)

	ours := append(ph.procs(), nil) // nil: this process
	logFrom := srv.p.out.Len()
	before, busy0 := cpuOf(ours), must(busyTicks())
	start := time.Now()
	cmd := exec.Command(h.bin.loadgen, args...)
	cmd.Env = h.baseEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	elapsed := time.Since(start)
	after, busy1 := cpuOf(ours), must(busyTicks())
	if err != nil {
		m.Err = fmt.Sprintf("loadgen: %v: %s", err, strings.TrimSpace(stderr.String()))
		return m
	}
	if err := json.Unmarshal(out, &m.Res); err != nil {
		m.Err = fmt.Sprintf("decode loadgen output: %v", err)
		return m
	}
	if m.Res.Errors > 0 {
		for _, line := range strings.Split(strings.TrimSpace(srv.p.out.Since(logFrom)), "\n") {
			if line != "" && len(m.ServerLog) < 5 {
				m.ServerLog = append(m.ServerLog, line)
			}
		}
	}
	var oursNS int64
	for i := range ours {
		oursNS += after[i] - before[i]
	}
	if ps := cmd.ProcessState; ps != nil {
		oursNS += int64(ps.UserTime() + ps.SystemTime())
	}
	busyNS := (busy1 - busy0) * int64(time.Second/clockTicks)
	m.Foreign = max(0, float64(busyNS-oursNS)/float64(elapsed.Nanoseconds()))
	if total := float64(m.Res.Total); total > 0 {
		perReq := func(ns int64) float64 { return float64(ns) / 1e3 / total }
		m.EmulatorCPU = perReq(after[0] - before[0])
		for i, p := range ours {
			if p != nil && p == srv.p && target != targetDirect {
				m.ServerCPU = perReq(after[i] - before[i])
			}
		}
	}
	return m
}

// cpuOf reads the CPU time (ns) of each process; nil is this process.
func cpuOf(ps []*proc) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		pid := os.Getpid()
		if p != nil {
			pid = p.pid()
		}
		out[i], _ = cpuNanos(pid) // a process that died shows as 0; its runs report errors anyway
	}
	return out
}

func must(n int64, err error) int64 {
	if err != nil {
		return 0
	}
	return n
}

// startup measures exec -> first successful chat answer of a fresh gateway,
// and the init_ms it logs.
func (h *harness) startup(emuURL string, ca, discovery bool) (time.Duration, float64, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, 0, err
	}
	body := []byte(`{"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	p, err := startProc("gateway", h.bin.gateway, nil, h.gatewayEnv(emuURL, addr, ca, discovery, "LOG_LEVEL=info"))
	if err != nil {
		return 0, 0, err
	}
	defer p.kill()
	deadline := p.started.Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+benchKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("no chat answer within 10 s; output:\n%s", p.out.String())
		}
		time.Sleep(200 * time.Microsecond)
	}
	took := time.Since(p.started)
	return took, logInitMS(p.out.String()), nil
}

// initTrace starts a gateway with GODEBUG=inittrace=1 and returns the
// package initialisers that ran before main, slowest first.
func (h *harness) initTrace(emuURL string) ([]pkgInit, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProc("gateway", h.bin.gateway, nil, h.gatewayEnv(emuURL, addr, false, false, "GODEBUG=inittrace=1"))
	if err != nil {
		return nil, err
	}
	defer p.kill()
	deadline := time.Now().Add(10 * time.Second)
	for status("http://"+addr+"/health") != http.StatusOK {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("gateway did not answer /health; output:\n%s", p.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	inits := parseInitTrace(p.out.String())
	if len(inits) == 0 {
		return nil, fmt.Errorf("no inittrace lines in the output")
	}
	return inits, nil
}

// pkgInit is one package's initialisation time.
type pkgInit struct {
	Pkg string
	MS  float64
}

var initTraceRe = regexp.MustCompile(`(?m)^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock`)

// parseInitTrace reads GODEBUG=inittrace=1 lines, slowest first.
func parseInitTrace(out string) []pkgInit {
	var inits []pkgInit
	for _, m := range initTraceRe.FindAllStringSubmatch(out, -1) {
		ms, err := strconv.ParseFloat(m[2], 64)
		if err == nil {
			inits = append(inits, pkgInit{Pkg: m[1], MS: ms})
		}
	}
	slices.SortStableFunc(inits, func(a, b pkgInit) int { return cmp.Compare(b.MS, a.MS) })
	return inits
}

var initMSRe = regexp.MustCompile(`"init_ms":([0-9.]+)`)

// logInitMS reads init_ms from the "gateway initialised" log line; -1 if absent.
func logInitMS(out string) float64 {
	m := initMSRe.FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return -1
	}
	return v
}

// rss reads VmRSS or VmHWM in MiB; -1 when unreadable.
func rss(p *proc, field string) float64 {
	kb, err := statusKB(p.pid(), field)
	if err != nil {
		return -1
	}
	return float64(kb) / 1024
}

// waitQuiet waits up to d for the 1-minute load to fall to 1.5 and
// returns the last reading.
func waitQuiet(ctx context.Context, d time.Duration) float64 {
	deadline := time.Now().Add(d)
	for {
		l := loadavg1()
		if l <= 1.5 || !time.Now().Before(deadline) {
			return l
		}
		select {
		case <-ctx.Done():
			return l
		case <-time.After(2 * time.Second):
		}
	}
}
