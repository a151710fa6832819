package bedrocktest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxBody bounds request bodies; Bedrock's own limit is lower.
const maxBody = 64 << 20

// Emulator is an http.Handler serving Bedrock Runtime and control-plane
// operations. Create it with New; it is safe for concurrent use.
type Emulator struct {
	latency    time.Duration
	chunkDelay time.Duration

	mu       sync.Mutex
	models   []Model
	apps     []ApplicationProfile
	script   func(Request) *Reply
	requests []Request
	// cacheSeen holds the cache-point prefixes already "written", so the
	// next request with the same prefix reports a cache read.
	cacheSeen map[string]bool

	cancellations atomic.Int64
	seq           atomic.Uint64

	faultState
}

// Option configures an Emulator.
type Option func(*Emulator)

// WithLatency delays every answer by d, like an upstream's time to first byte.
func WithLatency(d time.Duration) Option { return func(e *Emulator) { e.latency = d } }

// WithChunkDelay sets the default delay between stream events (default 0).
func WithChunkDelay(d time.Duration) Option { return func(e *Emulator) { e.chunkDelay = d } }

// WithModels replaces the default catalogue (DefaultModels).
func WithModels(ms ...Model) Option {
	return func(e *Emulator) { e.models = slices.Clone(ms) }
}

// WithApplicationProfiles replaces the default APPLICATION inference profiles
// (DefaultApplicationProfiles). Profiles whose target is not in the catalogue
// are neither listed nor accepted.
func WithApplicationProfiles(ps ...ApplicationProfile) Option {
	return func(e *Emulator) { e.apps = slices.Clone(ps) }
}

// New returns an Emulator with the default catalogue, changed by opts.
func New(opts ...Option) *Emulator {
	e := &Emulator{
		models:    DefaultModels(),
		apps:      DefaultApplicationProfiles(),
		cacheSeen: map[string]bool{},
	}
	for _, opt := range opts {
		opt(e)
	}
	return e
}

// Request is one request the emulator received.
type Request struct {
	// Operation is the Bedrock operation name, e.g. "Converse", "ConverseStream",
	// "InvokeModel", "ListFoundationModels"; empty for unknown routes.
	Operation string
	// ModelID is the unescaped model id or ARN from the path (runtime
	// operations), or the resource id for Get* control-plane operations.
	ModelID string
	// Body is the raw request body.
	Body []byte
	// Header is a copy of the request headers.
	Header http.Header
}

// AccessKeyID is the access key id that signed the request: the Credential
// of its SigV4 Authorization header, or "" when it was not SigV4-signed
// (a Bedrock API key sends a bearer token instead). Tests of credential
// refresh read it to see which credentials each call used.
func (r Request) AccessKeyID() string {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return ""
	}
	for _, part := range strings.Split(auth, ",") {
		if cred, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
			id, _, _ := strings.Cut(cred, "/")
			return id
		}
	}
	return ""
}

// Script sets a function consulted for every Converse, ConverseStream and
// Anthropic InvokeModel call that passes validation (and for embedding
// InvokeModel calls, where only Reply.Error and Reply.Delay apply). Returning nil falls back to prompt directives and the
// default answer. Script(nil) removes it. Safe for concurrent use.
func (e *Emulator) Script(f func(Request) *Reply) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.script = f
}

// maxRequests bounds the request log, so a long benchmark run does not
// grow without limit; tests never come near it.
const maxRequests = 10000

func (e *Emulator) record(r Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests = append(e.requests, r)
	if len(e.requests) > 2*maxRequests {
		e.requests = slices.Clone(e.requests[len(e.requests)-maxRequests:])
	}
}

// Requests returns a copy of the requests received so far, oldest first
// (at least the latest 10,000).
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Request, len(e.requests))
	for i, r := range e.requests {
		r.Body = slices.Clone(r.Body)
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// Cancellations counts calls and streams whose client went away before the
// answer was complete.
func (e *Emulator) Cancellations() int { return int(e.cancellations.Load()) }

// AddModel adds m to the catalogue, replacing a model with the same ID.
func (e *Emulator) AddModel(m Model) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.models = slices.Clone(e.models) // snapshots taken earlier stay intact
	for i := range e.models {
		if e.models[i].ID == m.ID {
			e.models[i] = m
			return
		}
	}
	e.models = append(e.models, m)
}

// RemoveModel removes the model with the given foundation-model id, and with
// it its system inference profiles.
func (e *Emulator) RemoveModel(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.models = slices.DeleteFunc(slices.Clone(e.models), func(m Model) bool { return m.ID == id })
}

func (e *Emulator) catalogue() catalogue {
	e.mu.Lock()
	defer e.mu.Unlock()
	return catalogue{models: e.models, apps: e.apps}
}

func (e *Emulator) scripted(r Request) *Reply {
	e.mu.Lock()
	f := e.script
	e.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(r)
}

// ServeHTTP routes a Bedrock request to its operation.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w.Header().Set("X-Amzn-Requestid", e.requestID())
	rt := route(r.Method, r.URL.EscapedPath())
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	req := Request{Operation: rt.op, ModelID: rt.id, Body: body, Header: r.Header.Clone()}
	e.record(req)
	if err != nil {
		writeError(w, &apiError{Type: "SerializationException", Message: fmt.Sprintf("read request body: %v", err)})
		return
	}
	if rt.op == "" {
		writeError(w, &apiError{Type: "UnknownOperationException",
			Message: fmt.Sprintf("The operation %s %s is not supported by the Bedrock emulator.", r.Method, r.URL.EscapedPath())})
		return
	}
	if !e.wait(r.Context(), e.latency) {
		return
	}
	x := &exchange{w: w, r: r, req: req, start: start}
	if f := e.drawFault(rt.op); f != nil {
		if !f.midStream(isStream(rt.op)) {
			if !e.failBefore(x, f) {
				return
			}
		} else {
			x.fault = f
		}
	}
	switch rt.op {
	case "Converse", "ConverseStream":
		e.converse(x)
	case "InvokeModel", "InvokeModelWithResponseStream":
		e.invokeModel(x)
	case "CountTokens":
		e.countTokens(x)
	case "ListFoundationModels":
		e.listFoundationModels(x)
	case "GetFoundationModel":
		e.getFoundationModel(x)
	case "ListInferenceProfiles":
		e.listInferenceProfiles(x)
	case "GetInferenceProfile":
		e.getInferenceProfile(x)
	}
}

// exchange is one request being answered.
type exchange struct {
	w     http.ResponseWriter
	r     *http.Request
	req   Request
	start time.Time
	// fault is a mid-stream fault drawn for this request (Faults).
	fault *Fault
}

// wait sleeps for d unless the client goes away first; then it counts a
// cancellation and reports false.
func (e *Emulator) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		if ctx.Err() != nil {
			e.cancellations.Add(1)
			return false
		}
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		e.cancellations.Add(1)
		return false
	case <-t.C:
		return true
	}
}

// requestID returns a unique, UUID-shaped request id.
func (e *Emulator) requestID() string {
	n := e.seq.Add(1)
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
}
