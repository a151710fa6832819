package canary

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Defaults for [Config] fields left zero.
const (
	// DefaultTimeout is the per-probe timeout; the original Python canary
	// used 7 s for connect and 7 s for read.
	DefaultTimeout = 7 * time.Second
	// DefaultModel is the model of the deep probe: one of the cheapest
	// Bedrock text models.
	DefaultModel = "amazon.nova-micro-v1:0"
	// DefaultRoutePrefix is where the gateway mounts the OpenAI routes.
	DefaultRoutePrefix = "/api/v1"
)

// maxBody caps what a probe reads of an answer; ALB-fronted Lambda answers
// cannot be larger anyway.
const maxBody = 1 << 20

// userAgent names the canary in the gateway's and the ALB's logs.
const userAgent = "openbedrock-canary/1"

// Secret is a string that never prints itself: fmt, JSON and slog all see
// "[redacted]". The deep probe's API key is held in one.
type Secret string

// String returns a placeholder, never the value.
func (Secret) String() string { return "[redacted]" }

// GoString returns a placeholder, never the value.
func (Secret) GoString() string { return "[redacted]" }

// MarshalJSON encodes a placeholder, never the value.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Probe is one check run against every target. Probes are plain data: the
// set a [Prober] runs is decided once by [New].
type Probe struct {
	// Name identifies the probe in results, logs and metrics.
	Name string
	// Method is the HTTP method.
	Method string
	// Path is appended to the target's base URL.
	Path string
	// Body, when not nil, is sent as application/json.
	Body []byte
	// Key, when not empty, is sent as a bearer token.
	Key Secret
	// Timeout bounds the whole probe: connect, TLS, request and body.
	Timeout time.Duration
	// Check judges a 200 answer's body and copies what it learns (instance,
	// version, cold start) into the result. A nil Check accepts any body.
	Check func(body []byte, r *Result) error `json:"-"`
}

// Config selects the probes and the HTTP client of a [Prober].
type Config struct {
	// Timeout is the per-probe timeout; zero means DefaultTimeout.
	Timeout time.Duration
	// Deep adds the chat probe, which costs one tiny model invocation per
	// target per run and needs APIKey.
	Deep bool
	// Model is the deep probe's model; empty means DefaultModel.
	Model string
	// RoutePrefix is the gateway's API prefix; empty means DefaultRoutePrefix.
	RoutePrefix string
	// APIKey authenticates the deep probe. It is never logged.
	APIKey Secret
	// InsecureSkipVerify turns off TLS certificate verification for the
	// default client. It exists for an ALB reached by its own DNS name, which
	// no certificate can cover; it is refused together with Deep so the API
	// key is never sent over an unverified connection.
	InsecureSkipVerify bool
	// Lambda invokes the functions of lambda:// targets (see InvokeTransport)
	// for the default client; nil makes such targets fail.
	Lambda Invoker
	// Client, when not nil, replaces the default client (tests).
	Client *http.Client
	// Now, when not nil, replaces time.Now for result timestamps (tests).
	Now func() time.Time
}

// Prober runs its probes against targets. It is safe for concurrent use.
type Prober struct {
	client *http.Client
	probes []Probe
	now    func() time.Time
}

// New validates cfg and returns a Prober with the health probe and, when
// cfg.Deep is set, the chat probe.
func New(cfg Config) (*Prober, error) {
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("timeout %s is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.RoutePrefix == "" {
		cfg.RoutePrefix = DefaultRoutePrefix
	}
	if !strings.HasPrefix(cfg.RoutePrefix, "/") {
		return nil, fmt.Errorf("route prefix %q must start with /", cfg.RoutePrefix)
	}
	if cfg.Deep && cfg.APIKey == "" {
		return nil, errors.New("the deep probe needs an API key (CANARY_API_KEY)")
	}
	if cfg.Deep && cfg.InsecureSkipVerify {
		return nil, errors.New("the deep probe refuses to send the API key without TLS verification")
	}
	p := &Prober{client: cfg.Client, now: cfg.Now}
	if p.client == nil {
		p.client = defaultClient(cfg.InsecureSkipVerify, cfg.Lambda)
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.probes = []Probe{healthProbe(cfg.Timeout)}
	if cfg.Deep {
		chat, err := chatProbe(cfg.Timeout, cfg.RoutePrefix, cfg.Model, cfg.APIKey)
		if err != nil {
			return nil, err
		}
		p.probes = append(p.probes, chat)
	}
	return p, nil
}

// defaultClient opens a fresh connection per probe, so every probe measures
// what a new client sees (DNS, TCP and TLS included), and sends lambda://
// URLs through the Lambda Invoke API.
func defaultClient(insecure bool, invoker Invoker) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableKeepAlives = true
	t.RegisterProtocol(LambdaScheme, InvokeTransport{Client: invoker})
	if insecure {
		// Only the unauthenticated health probe runs this way; see Config.
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // documented opt-in
	}
	return &http.Client{Transport: t}
}

// Probes returns the probes p runs, in order.
func (p *Prober) Probes() []Probe {
	return append([]Probe(nil), p.probes...)
}

// Run runs every probe against every target and returns one result per pair,
// ordered by target then probe. Targets are probed concurrently; the probes
// of one target run in order. Run never fails: failures are results.
func (p *Prober) Run(ctx context.Context, targets []string) []Result {
	results := make([]Result, len(targets)*len(p.probes))
	var wg sync.WaitGroup
	for i, target := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j, pr := range p.probes {
				results[i*len(p.probes)+j] = p.probe(ctx, target, pr)
			}
		}()
	}
	wg.Wait()
	return results
}

// probe runs one probe against one target. It recovers from a panic in a
// Check so that one bad answer cannot stop the canary.
func (p *Prober) probe(ctx context.Context, target string, pr Probe) (res Result) {
	res = Result{Time: p.now().UTC(), Target: target, Probe: pr.Name}
	defer func() {
		if v := recover(); v != nil {
			res.OK = false
			res.Error = fmt.Sprintf("probe %s panicked: %v", pr.Name, v)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, pr.Timeout)
	defer cancel()

	start := time.Now()
	status, body, err := p.do(ctx, target, pr)
	res.Latency = time.Since(start)
	res.StatusCode = status
	if err != nil {
		res.Error = describe(ctx, pr, err)
		return res
	}
	var checkErr error
	if pr.Check != nil {
		checkErr = pr.Check(body, &res)
	}
	switch {
	case status != http.StatusOK:
		res.Error = fmt.Sprintf("status %d, want 200: %s", status, snippet(body))
	case checkErr != nil:
		res.Error = checkErr.Error()
	default:
		res.OK = true
	}
	return res
}

// do sends the probe's request and reads at most maxBody bytes of the answer.
func (p *Prober) do(ctx context.Context, target string, pr Probe) (int, []byte, error) {
	var body io.Reader
	if pr.Body != nil {
		body = bytes.NewReader(pr.Body)
	}
	req, err := http.NewRequestWithContext(ctx, pr.Method, target+pr.Path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if pr.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if pr.Key != "" {
		req.Header.Set("Authorization", "Bearer "+string(pr.Key))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxBody {
		return resp.StatusCode, nil, fmt.Errorf("body larger than %d bytes", maxBody)
	}
	return resp.StatusCode, b, nil
}

// describe turns a transport error into a short, stable text; a probe that
// ran out of time says so plainly.
func describe(ctx context.Context, pr Probe, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timeout after %s: %v", pr.Timeout, err)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Sprintf("canceled: %v", err)
	}
	return err.Error()
}

// snippet returns the start of a body for an error message.
func snippet(b []byte) string {
	const n = 200
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// healthProbe is the shallow probe: GET /health, unauthenticated.
func healthProbe(timeout time.Duration) Probe {
	return Probe{
		Name:    "health",
		Method:  http.MethodGet,
		Path:    "/health",
		Timeout: timeout,
		Check:   checkHealth,
	}
}

// healthAnswer is the part of the gateway's GET /health answer the canary
// reads; other fields are ignored.
type healthAnswer struct {
	Status       string `json:"status"`
	Version      string `json:"version"`
	InstanceID   string `json:"instance_id"`
	StartedAt    string `json:"started_at"`
	Runtime      string `json:"runtime"`
	FirstRequest *bool  `json:"first_request"`
	ColdStart    *bool  `json:"cold_start"`
}

// checkHealth accepts status "ok" (any case: the Python fork said "OK") and
// records the instance. Cold means the probe was the instance's first
// request; cold_start is the fallback when first_request is absent.
func checkHealth(body []byte, r *Result) error {
	var h healthAnswer
	if err := json.Unmarshal(body, &h); err != nil {
		return fmt.Errorf("decode health answer: %w", err)
	}
	r.InstanceID = h.InstanceID
	r.Version = h.Version
	r.Runtime = h.Runtime
	r.StartedAt = h.StartedAt
	switch {
	case h.FirstRequest != nil:
		r.Cold = *h.FirstRequest
	case h.ColdStart != nil:
		r.Cold = *h.ColdStart
	}
	if !strings.EqualFold(h.Status, "ok") {
		return fmt.Errorf("health status %q, want \"ok\"", h.Status)
	}
	return nil
}

// chatRequest is the deep probe's body: the smallest useful completion.
type chatRequest struct {
	Model     string        `json:"model"`
	Messages  []chatMessage `json:"messages"`
	MaxTokens int           `json:"max_tokens"`
	Stream    bool          `json:"stream"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatProbe is the deep probe: POST {prefix}/chat/completions, max_tokens 1.
func chatProbe(timeout time.Duration, prefix, model string, key Secret) (Probe, error) {
	body, err := json.Marshal(chatRequest{
		Model:     model,
		Messages:  []chatMessage{{Role: "user", Content: "Reply with the single word: ok"}},
		MaxTokens: 1,
	})
	if err != nil {
		return Probe{}, fmt.Errorf("encode chat probe body: %w", err)
	}
	return Probe{
		Name:    "chat",
		Method:  http.MethodPost,
		Path:    strings.TrimSuffix(prefix, "/") + "/chat/completions",
		Body:    body,
		Key:     key,
		Timeout: timeout,
		Check:   checkChat,
	}, nil
}

// checkChat accepts a chat completion with at least one choice.
func checkChat(body []byte, _ *Result) error {
	var c struct {
		Choices []json.RawMessage `json:"choices"`
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return fmt.Errorf("decode chat answer: %w", err)
	}
	if len(c.Choices) == 0 {
		return errors.New("chat answer has no choices")
	}
	return nil
}
