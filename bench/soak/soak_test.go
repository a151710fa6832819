package soak

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openbedrock/gateway/internal/testbin"
)

const (
	key        = "sk-soak-0123456789"
	chatModel  = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
	embedModel = "cohere.embed-multilingual-v3"
	// requestTimeout is the gateway's REQUEST_TIMEOUT: shorter than the
	// stalls, so a stall ends at the gateway's deadline.
	requestTimeout = 5 * time.Second
	// answerEnd ends every prompt, so it ends every whole answer (the
	// emulator echoes the prompt): an answer without it was cut short.
	answerEnd = "END-OF-ANSWER"
	// defaultFaults is the emulator's -faults unless SOAK_FAULTS says otherwise.
	defaultFaults = "reset=0.02,reset-stream=0.01,truncate=0.02,stall=0.005:8s,throttle=0.02:3,seed=1"
)

// settings are the soak's knobs, from the environment (make soak sets them).
type settings struct {
	duration time.Duration
	clients  int
	faults   string
}

func settingsOf(tb testing.TB) settings {
	tb.Helper()
	s := settings{duration: 12 * time.Second, clients: 32, faults: defaultFaults}
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Second {
			tb.Fatalf("SOAK_DURATION=%q: want a duration of at least 5s", v)
		}
		s.duration = d
	}
	if v := os.Getenv("SOAK_CLIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4096 {
			tb.Fatalf("SOAK_CLIENTS=%q: want a count between 1 and 4096", v)
		}
		s.clients = n
	}
	if v := os.Getenv("SOAK_FAULTS"); v != "" {
		s.faults = v
	}
	return s
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gateway and the emulator under load; skipped with -short")
	}
	s := settingsOf(t)
	t.Logf("soak: %s, %d clients, faults %s", s.duration, s.clients, s.faults)

	emuAddr := testbin.LocalAddr(t)
	emu := testbin.Start(t, testbin.Path(t, testbin.Emulator),
		[]string{"-addr", emuAddr, "-chunk-delay", "2ms", "-faults", s.faults}, emuAddr)
	gwAddr, pprofAddr := testbin.LocalAddr(t), testbin.LocalAddr(t)
	host, port, _ := net.SplitHostPort(gwAddr)
	gw := testbin.Start(t, testbin.Path(t, testbin.Gateway), nil, gwAddr,
		"HOST="+host, "PORT="+port, "API_KEY="+key, "LOG_FORMAT=json",
		"LOG_LEVEL=error", // internal errors only: what the soak must not see
		"METRICS_ADDR=off", "PPROF_ADDR="+pprofAddr,
		"REQUEST_TIMEOUT="+requestTimeout.String(),
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://"+emuAddr, "AWS_ENDPOINT_URL_BEDROCK=http://"+emuAddr)
	base := "http://" + gwAddr
	waitReady(t, base+"/ready")
	probe := &prober{pid: gw.Pid, pprof: "http://" + pprofAddr}

	idle := probe.sample(t)
	t.Logf("idle: %s", idle)

	client := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        s.clients * 2,
		MaxIdleConnsPerHost: s.clients * 2,
		DisableCompression:  true,
	}}
	results := newTally()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var samples []sample
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		every := max(s.duration/20, 500*time.Millisecond)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if sm, err := probe.read(); err == nil {
					samples = append(samples, sm)
				}
			}
		}
	}()

	end := time.Now().Add(s.duration)
	var wg sync.WaitGroup
	for i := range s.clients {
		rng := rand.New(rand.NewPCG(1, uint64(i)))
		wg.Go(func() {
			for time.Now().Before(end) {
				k := pick(rng)
				results.add(k.name, run(client, base, k, rng))
			}
		})
	}
	wg.Wait()
	stop()
	<-sampled
	client.CloseIdleConnections()

	counts := results.snapshot()
	t.Logf("outcomes (%d requests):\n%s", results.total(), formatCounts(counts))
	for _, u := range results.unexpected {
		t.Errorf("unexpected: %s", u)
	}
	if results.total() < s.clients {
		t.Errorf("only %d requests were answered by %d clients in %s", results.total(), s.clients, s.duration)
	}

	// Flat while loaded: the last third of the samples against the first
	// third, the first fifth (the ramp-up) left out.
	steady := samples[len(samples)/5:]
	if len(steady) < 6 {
		t.Fatalf("only %d samples of the gateway under load; want at least 6", len(steady))
	}
	third := len(steady) / 3
	early, late := median(steady[:third]), median(steady[len(steady)-third:])
	t.Logf("under load: early %s, late %s", early, late)
	// In-flight requests hold goroutines and descriptors, up to a few per
	// client: the tolerance grows with the clients, a leak with the requests.
	if late.goroutines > early.goroutines*13/10+s.clients+30 {
		t.Errorf("goroutines grew under steady load: %d early, %d late", early.goroutines, late.goroutines)
	}
	if late.rssKB > early.rssKB*3/2+16<<10 {
		t.Errorf("RSS grew under steady load: %d KB early, %d KB late", early.rssKB, late.rssKB)
	}
	if late.fds > early.fds*13/10+s.clients/2+20 {
		t.Errorf("open file descriptors grew under steady load: %d early, %d late", early.fds, late.fds)
	}

	// Back down once idle: what is left is the pool of idle connections to
	// Bedrock (at most one per client, two goroutines and one descriptor
	// each), nothing per request.
	maxG, maxFD := idle.goroutines+2*s.clients+50, idle.fds+s.clients+20
	var after sample
	deadline := time.Now().Add(30 * time.Second)
	for {
		after = probe.sample(t)
		if after.goroutines <= maxG && after.fds <= maxFD || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("after: %s", after)
	if after.goroutines > maxG {
		t.Errorf("goroutines after the load: %d, want at most %d (idle %d)", after.goroutines, maxG, idle.goroutines)
	}
	if after.fds > maxFD {
		t.Errorf("open file descriptors after the load: %d, want at most %d (idle %d)", after.fds, maxFD, idle.fds)
	}

	// 5xx answers are logged at ERROR too, as access-log "request" lines
	// (Anthropic's 500 api_error is a broken connection); internal errors
	// and panics have lines of their own.
	for line := range strings.Lines(gw.Output()) {
		if !strings.Contains(line, `"msg":"request"`) || strings.Contains(line, "panic") || strings.Contains(line, `"error":"internal_error"`) {
			t.Errorf("the gateway logged: %s", tail(line, 1000))
		}
	}

	// The faults happened: the emulator reports them when it stops.
	if err := syscall.Kill(emu.Pid, syscall.SIGTERM); err != nil {
		t.Fatalf("stop the emulator: %v", err)
	}
	injected := ""
	for deadline := time.Now().Add(10 * time.Second); injected == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, rest, ok := strings.Cut(emu.Output(), "faults injected: "); ok {
			injected, _, _ = strings.Cut(rest, "\n")
		}
	}
	t.Logf("faults injected: %s", injected)
	if injected == "" || injected == "none" {
		t.Errorf("the emulator injected no fault (%q); the soak tested nothing", injected)
	}
}

// kind is one sort of request the clients send.
type kind struct {
	name   string
	weight int
	path   string
	stream bool
	// disconnect: the client goes away early (after the first event of a
	// stream, or a few milliseconds into a plain call).
	disconnect bool
}

var mix = []kind{
	{name: "chat", weight: 28, path: "/api/v1/chat/completions"},
	{name: "chat-stream", weight: 24, path: "/api/v1/chat/completions", stream: true},
	{name: "embeddings", weight: 14, path: "/api/v1/embeddings"},
	{name: "responses", weight: 4, path: "/api/v1/responses"},
	{name: "responses-stream", weight: 4, path: "/api/v1/responses", stream: true},
	{name: "messages", weight: 4, path: "/api/v1/messages"},
	{name: "messages-stream", weight: 6, path: "/api/v1/messages", stream: true},
	{name: "disconnect-stream", weight: 10, path: "/api/v1/chat/completions", stream: true, disconnect: true},
	{name: "disconnect-chat", weight: 6, path: "/api/v1/chat/completions", disconnect: true},
}

func pick(rng *rand.Rand) kind {
	total := 0
	for _, k := range mix {
		total += k.weight
	}
	n := rng.IntN(total)
	for _, k := range mix {
		if n < k.weight {
			return k
		}
		n -= k.weight
	}
	return mix[0]
}

func (k kind) body(rng *rand.Rand) string {
	prompt := fmt.Sprintf("Soak request %d: say something short. %s", rng.IntN(1000), answerEnd)
	switch {
	case strings.HasSuffix(k.path, "/embeddings"):
		return fmt.Sprintf(`{"model":%q,"input":%q}`, embedModel, prompt)
	case strings.HasSuffix(k.path, "/responses"):
		// store false: the soak looks for leaks, not at the bounded store filling up.
		return fmt.Sprintf(`{"model":%q,"input":%q,"stream":%t,"store":false,"max_output_tokens":64}`, chatModel, prompt, k.stream)
	case strings.HasSuffix(k.path, "/messages"):
		return fmt.Sprintf(`{"model":%q,"max_tokens":64,"stream":%t,"messages":[{"role":"user","content":%q}]}`, chatModel, k.stream, prompt)
	}
	return fmt.Sprintf(`{"model":%q,"max_tokens":64,"stream":%t,"messages":[{"role":"user","content":%q}]}`, chatModel, k.stream, prompt)
}

// run sends one request of kind k and judges its answer: an outcome name,
// or "unexpected: ..." for an answer no fault explains.
func run(client *http.Client, base string, k kind, rng *rand.Rand) string {
	// Past the gateway's own deadline and then some: a request still open
	// by then hangs.
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+k.path, strings.NewReader(k.body(rng)))
	if err != nil {
		return "unexpected: build request: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	if strings.HasSuffix(k.path, "/messages") {
		req.Header.Set("anthropic-version", "2023-06-01")
	}
	if k.disconnect && !k.stream {
		time.AfterFunc(time.Duration(rng.IntN(5000))*time.Microsecond, cancel)
	}
	resp, err := client.Do(req)
	if err != nil {
		if k.disconnect && errors.Is(err, context.Canceled) {
			return "disconnected"
		}
		return "unexpected: " + err.Error()
	}
	defer resp.Body.Close()
	if k.disconnect && k.stream && resp.StatusCode == http.StatusOK {
		_, _ = bufio.NewReader(resp.Body).ReadString('\n') // the first event, then away
		cancel()
		return "disconnected"
	}
	body, err := io.ReadAll(resp.Body)
	switch {
	case k.disconnect && err != nil:
		return "disconnected"
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("unexpected: %s hung (status %d, %d bytes read)", k.name, resp.StatusCode, len(body))
	case err != nil:
		return fmt.Sprintf("unexpected: %s: read the answer: %v (status %d, after %q)", k.name, err, resp.StatusCode, tail(string(body), 300))
	}
	return judge(k, resp, string(body))
}

// judge names the outcome of a whole answer.
func judge(k kind, resp *http.Response, body string) string {
	anthropic := strings.HasSuffix(k.path, "/messages")
	bad := func(why string) string {
		return fmt.Sprintf("unexpected: %s: %s (status %d): %s", k.name, why, resp.StatusCode, tail(body, 400))
	}
	if resp.StatusCode != http.StatusOK {
		typ, code, msg := errorOf(body)
		switch {
		case typ == "":
			return bad("not an error envelope")
		case strings.Contains(msg, "internal error"):
			return bad("the gateway's internal error")
		case resp.StatusCode == http.StatusTooManyRequests:
			if resp.Header.Get("Retry-After") == "" || !anthropic && code != "rate_limit_exceeded" || anthropic && typ != "rate_limit_error" {
				return bad("a 429 without Retry-After or rate_limit_exceeded")
			}
			return "throttled"
		case !anthropic && resp.StatusCode == http.StatusBadGateway && code == "bedrock_connection_error",
			anthropic && resp.StatusCode == http.StatusInternalServerError && typ == "api_error":
			return "connection-error"
		case !anthropic && resp.StatusCode == http.StatusGatewayTimeout && code == "timeout",
			anthropic && resp.StatusCode == http.StatusGatewayTimeout && typ == "timeout_error":
			return "timeout"
		case k.disconnect && resp.StatusCode == 499:
			return "disconnected"
		}
		return bad("a status no fault explains")
	}
	if !k.stream {
		for _, want := range map[string][]string{
			"chat": {`"choices"`, `"finish_reason":"stop"`}, "embeddings": {`"embedding"`},
			"responses": {`"status":"completed"`}, "messages": {`"type":"message"`, `"stop_reason":"end_turn"`},
			"disconnect-chat": {`"choices"`},
		}[k.name] {
			if k.name != "embeddings" && !strings.Contains(body, answerEnd) {
				return bad("an answer without its end")
			}
			if !strings.Contains(body, want) {
				return bad("a 200 without " + want)
			}
		}
		return "ok"
	}
	// A stream ends whole, or with the protocol's error event; a cut
	// without one is what must never happen.
	var whole, failed string
	switch {
	case anthropic:
		whole, failed = "event: message_stop", "event: error"
	case strings.HasSuffix(k.path, "/responses"):
		whole, failed = "event: response.completed", "event: response.failed"
	default:
		whole, failed = "data: [DONE]\n\n", `data: {"error":`
	}
	switch {
	case strings.Contains(body, whole) && !strings.Contains(body, failed):
		if !strings.Contains(body, answerEnd) {
			return bad("a stream that reads as whole without the end of its answer")
		}
		return "ok"
	case strings.Contains(body, failed) && !strings.Contains(body, whole):
		if strings.Contains(body, "internal error") {
			return bad("a stream ending in the gateway's internal error")
		}
		if !strings.Contains(body, "bedrock_connection_error") && !strings.Contains(body, "timeout") &&
			!strings.Contains(body, "The connection to Bedrock failed") && !strings.Contains(body, "in time") {
			return bad("a stream error no fault explains")
		}
		return "stream-error"
	}
	return bad("a stream that ended neither whole nor with an error event")
}

// errorOf reads either envelope: OpenAI's {"error":{"type","code","message"}}
// or Anthropic's {"type":"error","error":{"type","message"}}.
func errorOf(body string) (typ, code, message string) {
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e) != nil {
		return "", "", ""
	}
	return e.Error.Type, e.Error.Code, e.Error.Message
}

// tally counts outcomes per kind and keeps the first unexpected answers.
type tally struct {
	mu         sync.Mutex
	counts     map[string]map[string]int
	unexpected []string
	n          int
}

func newTally() *tally { return &tally{counts: map[string]map[string]int{}} }

func (t *tally) add(kind, outcome string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	if strings.HasPrefix(outcome, "unexpected: ") {
		if len(t.unexpected) < 20 {
			t.unexpected = append(t.unexpected, strings.TrimPrefix(outcome, "unexpected: "))
		}
		outcome = "unexpected"
	}
	if t.counts[kind] == nil {
		t.counts[kind] = map[string]int{}
	}
	t.counts[kind][outcome]++
}

func (t *tally) total() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

func (t *tally) snapshot() map[string]map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]map[string]int{}
	for k, v := range t.counts {
		out[k] = maps.Clone(v)
	}
	return out
}

func formatCounts(c map[string]map[string]int) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c)) {
		fmt.Fprintf(&b, "  %-18s", k)
		for _, o := range slices.Sorted(maps.Keys(c[k])) {
			fmt.Fprintf(&b, " %s=%d", o, c[k][o])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// sample is the gateway process at one moment.
type sample struct {
	goroutines int
	rssKB      int
	fds        int
}

func (s sample) String() string {
	return fmt.Sprintf("%d goroutines, %d MB RSS, %d open files", s.goroutines, s.rssKB>>10, s.fds)
}

// prober reads the gateway's goroutines (from its pprof listener), RSS and
// open file descriptors (from /proc).
type prober struct {
	pid   int
	pprof string
}

func (p *prober) sample(tb testing.TB) sample {
	tb.Helper()
	s, err := p.read()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func (p *prober) read() (sample, error) {
	var s sample
	resp, err := http.Get(p.pprof + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return s, fmt.Errorf("read goroutines: %w", err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	resp.Body.Close()
	if err != nil {
		return s, fmt.Errorf("read goroutines: %w", err)
	}
	if _, err := fmt.Sscanf(line, "goroutine profile: total %d", &s.goroutines); err != nil {
		return s, fmt.Errorf("goroutine profile line %q: %w", line, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return s, fmt.Errorf("read RSS: %w", err)
	}
	for l := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(l, []byte("VmRSS:")); ok {
			s.rssKB, err = strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"))
			if err != nil {
				return s, fmt.Errorf("VmRSS line %q: %w", l, err)
			}
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
	if err != nil {
		return s, fmt.Errorf("read open files: %w", err)
	}
	s.fds = len(fds)
	return s, nil
}

// median is the per-field median of samples.
func median(ss []sample) sample {
	mid := func(f func(sample) int) int {
		v := make([]int, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return sample{
		goroutines: mid(func(s sample) int { return s.goroutines }),
		rssKB:      mid(func(s sample) int { return s.rssKB }),
		fds:        mid(func(s sample) int { return s.fds }),
	}
}

// waitReady polls url until it answers 200 (the gateway has loaded its
// model catalogue).
func waitReady(tb testing.TB, url string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not answer 200 within 30s (last: %v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
