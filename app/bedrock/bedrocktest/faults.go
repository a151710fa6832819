package bedrocktest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// FaultKind names a failure the emulator can inject, the way Bedrock and
// the network between fail.
type FaultKind string

// The faults. A stream's events are its event-stream frames
// (messageStart, deltas, ...); a mid-stream fault comes after Fault.After of them.
const (
	// FaultReset resets the TCP connection (RST) before any response byte.
	FaultReset FaultKind = "reset"
	// FaultResetStream resets the TCP connection in the middle of a stream.
	FaultResetStream FaultKind = "reset-stream"
	// FaultTruncate sends the first half of a stream's next frame, then
	// closes the connection.
	FaultTruncate FaultKind = "truncate"
	// FaultStall sends nothing for Fault.Stall: before a plain answer's
	// first byte, or in the middle of a stream; then it answers as usual.
	FaultStall FaultKind = "stall"
	// FaultThrottle answers 429 ThrottlingException, as Bedrock does.
	FaultThrottle FaultKind = "throttle"
)

// faultKinds lists the kinds in the order Faults draws them.
var faultKinds = []FaultKind{FaultReset, FaultResetStream, FaultTruncate, FaultStall, FaultThrottle}

// DefaultStall is how long a stall lasts when nothing says otherwise.
const DefaultStall = 2 * time.Second

// Fault is one failure to inject into one answer.
type Fault struct {
	Kind FaultKind
	// After is how many stream events go out before a mid-stream fault; 0
	// means 2 (messageStart and the first delta, so the gateway has
	// committed to its answer), negative means before the first event
	// (after the response headers).
	After int
	// Stall is how long FaultStall lasts; 0 means DefaultStall.
	Stall time.Duration
}

func (f *Fault) after() int {
	switch {
	case f.After < 0:
		return 0
	case f.After == 0:
		return 2
	}
	return f.After
}

func (f *Fault) stall() time.Duration {
	if f.Stall > 0 {
		return f.Stall
	}
	return DefaultStall
}

// midStream reports whether f happens inside a stream rather than before
// the answer. Stalls are mid-stream on streams.
func (f *Fault) midStream(stream bool) bool {
	return f.Kind == FaultResetStream || f.Kind == FaultTruncate || (f.Kind == FaultStall && stream)
}

// check refuses a fault that cannot apply to the operation.
func (f *Fault) check(stream bool) *apiError {
	if !slices.Contains(faultKinds, f.Kind) {
		return validation("bedrocktest: unknown fault %q (want one of %s)", f.Kind, kindList())
	}
	if (f.Kind == FaultResetStream || f.Kind == FaultTruncate) && !stream {
		return validation("bedrocktest: fault %s applies to ConverseStream and InvokeModelWithResponseStream only", f.Kind)
	}
	return nil
}

func kindList() string {
	s := make([]string, len(faultKinds))
	for i, k := range faultKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Faults makes the emulator fail at random, for soak tests and for people
// trying a client against an unreliable Bedrock. Each runtime request
// (Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream)
// draws at most one fault: Reset with probability Reset, and so on.
// ResetStream and Truncate are drawn on streams only. The zero value
// injects nothing.
type Faults struct {
	Reset       float64
	ResetStream float64
	Truncate    float64
	Stall       float64
	Throttle    float64
	// StallFor is how long a stall lasts; 0 means DefaultStall.
	StallFor time.Duration
	// ThrottleBurst makes a drawn throttle a burst: it also throttles the
	// next ThrottleBurst-1 runtime requests, whatever they draw. 0 means 1.
	ThrottleBurst int
	// ThrottleWindow makes a drawn throttle a window: every runtime
	// request for that long is throttled too.
	ThrottleWindow time.Duration
	// Seed seeds the draws, so one request sequence gets the same faults.
	Seed uint64
}

// WithFaults injects faults at random (see Faults).
func WithFaults(f Faults) Option {
	return func(e *Emulator) {
		e.faultCfg = f
		e.faultRNG = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
	}
}

// ParseFaults reads Faults from the emulator's -faults flag: comma-separated
// kind=probability items, a stall taking its duration and a throttle its
// burst length (a count of requests, or a window of time) after a colon,
// and seed=N:
//
//	reset=0.05,reset-stream=0.01,truncate=0.02,stall=0.01:2s,throttle=0.1:5,seed=7
//	throttle=0.01:3s
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, ok := strings.Cut(item, "=")
		if !ok {
			return Faults{}, fmt.Errorf("fault %q: want name=value", item)
		}
		if name == "seed" {
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				return Faults{}, fmt.Errorf("fault seed %q: %w", val, err)
			}
			f.Seed = n
			continue
		}
		rate, extra, hasExtra := strings.Cut(val, ":")
		p, err := strconv.ParseFloat(rate, 64)
		if err != nil || p < 0 || p > 1 {
			return Faults{}, fmt.Errorf("fault %s: probability %q is not between 0 and 1", name, rate)
		}
		switch FaultKind(name) {
		case FaultReset:
			f.Reset = p
		case FaultResetStream:
			f.ResetStream = p
		case FaultTruncate:
			f.Truncate = p
		case FaultStall:
			f.Stall = p
			if hasExtra {
				d, err := time.ParseDuration(extra)
				if err != nil || d <= 0 {
					return Faults{}, fmt.Errorf("fault stall: duration %q is not a positive duration", extra)
				}
				f.StallFor, hasExtra = d, false
			}
		case FaultThrottle:
			f.Throttle = p
			if hasExtra {
				if d, err := time.ParseDuration(extra); err == nil && d > 0 {
					f.ThrottleWindow, hasExtra = d, false
					break
				}
				n, err := strconv.Atoi(extra)
				if err != nil || n < 1 {
					return Faults{}, fmt.Errorf("fault throttle: burst %q is neither a positive count nor a duration", extra)
				}
				f.ThrottleBurst, hasExtra = n, false
			}
		default:
			return Faults{}, fmt.Errorf("unknown fault %q (want one of %s, or seed)", name, kindList())
		}
		if hasExtra {
			return Faults{}, fmt.Errorf("fault %s takes no %q", name, ":"+extra)
		}
	}
	if f.Reset+f.ResetStream+f.Truncate+f.Stall+f.Throttle > 1 {
		return Faults{}, fmt.Errorf("faults %q: the probabilities add up to more than 1", spec)
	}
	return f, nil
}

// String is f in ParseFaults' form.
func (f Faults) String() string {
	var b strings.Builder
	add := func(k FaultKind, p float64, extra string) {
		if p > 0 {
			fmt.Fprintf(&b, ",%s=%g%s", k, p, extra)
		}
	}
	add(FaultReset, f.Reset, "")
	add(FaultResetStream, f.ResetStream, "")
	add(FaultTruncate, f.Truncate, "")
	stall := ""
	if f.StallFor > 0 {
		stall = ":" + f.StallFor.String()
	}
	add(FaultStall, f.Stall, stall)
	burst := ""
	switch {
	case f.ThrottleWindow > 0:
		burst = ":" + f.ThrottleWindow.String()
	case f.ThrottleBurst > 1:
		burst = ":" + strconv.Itoa(f.ThrottleBurst)
	}
	add(FaultThrottle, f.Throttle, burst)
	if b.Len() == 0 {
		return "none"
	}
	if f.Seed != 0 {
		fmt.Fprintf(&b, ",seed=%d", f.Seed)
	}
	return b.String()[1:]
}

// faultState is the emulator's fault injection: the random draws, the
// throttling burst in progress and the counts of faults injected.
type faultState struct {
	faultCfg Faults
	faultMu  sync.Mutex
	faultRNG *rand.Rand
	// throttleLeft and throttleUntil are the burst in progress.
	throttleLeft  int
	throttleUntil time.Time
	injected      [5]atomic.Int64 // per faultKinds index
}

// Throttle starts a throttling burst: the next n runtime requests, and
// every runtime request for d, get 429 ThrottlingException.
func (e *Emulator) Throttle(n int, d time.Duration) {
	e.faultMu.Lock()
	defer e.faultMu.Unlock()
	e.throttleLeft += max(n, 0)
	if until := time.Now().Add(d); d > 0 && until.After(e.throttleUntil) {
		e.throttleUntil = until
	}
}

// FaultsInjected counts the faults injected so far, by kind (those a
// script or directive asked for included).
func (e *Emulator) FaultsInjected() map[FaultKind]int {
	out := map[FaultKind]int{}
	for i, k := range faultKinds {
		if n := e.injected[i].Load(); n > 0 {
			out[k] = int(n)
		}
	}
	return out
}

func (e *Emulator) count(k FaultKind) {
	if i := slices.Index(faultKinds, k); i >= 0 {
		e.injected[i].Add(1)
	}
}

// isRuntime reports whether op is one of the operations faults apply to.
func isRuntime(op string) bool {
	switch op {
	case "Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream":
		return true
	}
	return false
}

// isStream reports whether op answers with an event stream.
func isStream(op string) bool {
	return op == "ConverseStream" || op == "InvokeModelWithResponseStream"
}

// drawFault picks the fault, if any, of one runtime request: a throttling
// burst in progress first, then a random draw.
func (e *Emulator) drawFault(op string) *Fault {
	if !isRuntime(op) {
		return nil
	}
	e.faultMu.Lock()
	defer e.faultMu.Unlock()
	if e.throttleLeft > 0 || time.Now().Before(e.throttleUntil) {
		e.throttleLeft = max(e.throttleLeft-1, 0)
		return &Fault{Kind: FaultThrottle}
	}
	if e.faultRNG == nil {
		return nil
	}
	f := e.faultCfg
	u := e.faultRNG.Float64()
	for _, c := range []struct {
		kind FaultKind
		p    float64
	}{{FaultReset, f.Reset}, {FaultResetStream, f.ResetStream}, {FaultTruncate, f.Truncate}, {FaultStall, f.Stall}, {FaultThrottle, f.Throttle}} {
		if u < c.p {
			if (c.kind == FaultResetStream || c.kind == FaultTruncate) && !isStream(op) {
				return nil
			}
			if c.kind == FaultThrottle && f.ThrottleWindow > 0 {
				e.throttleUntil = time.Now().Add(f.ThrottleWindow)
			}
			if c.kind == FaultThrottle && f.ThrottleBurst > 1 {
				e.throttleLeft += f.ThrottleBurst - 1
			}
			return &Fault{Kind: c.kind, Stall: f.StallFor}
		}
		u -= c.p
	}
	return nil
}

// failBefore injects a fault that comes before the answer: a reset, a
// throttle, or a stall of a plain answer. It reports whether to go on
// answering.
func (e *Emulator) failBefore(x *exchange, f *Fault) bool {
	switch f.Kind {
	case FaultReset:
		e.count(f.Kind)
		resetConn(x.w, nil)
		return false
	case FaultThrottle:
		e.count(f.Kind)
		k, _ := kindOf("ThrottlingException")
		writeError(x.w, &apiError{Type: "ThrottlingException", Message: k.message})
		return false
	case FaultStall:
		e.count(f.Kind)
		return e.wait(x.r.Context(), f.stall())
	}
	return true
}

// failMidStream injects a mid-stream fault in place of msg, the stream's
// next frame. It reports whether the stream goes on (after a stall).
func (s *streamWriter) failMidStream(msg eventstream.Message) bool {
	f := s.fault
	s.fault = nil // once per stream
	s.e.count(f.Kind)
	switch f.Kind {
	case FaultStall:
		return s.e.wait(s.x.r.Context(), f.stall())
	case FaultResetStream:
		resetConn(s.x.w, s.rc)
	case FaultTruncate:
		var buf bytes.Buffer
		if err := s.enc.Encode(&buf, msg); err == nil {
			_, _ = s.x.w.Write(buf.Bytes()[:buf.Len()/2]) // the client may be gone; the close follows anyway
		}
		closeConn(s.rc)
	}
	return false
}

// resetConn closes the client's connection with a TCP reset (SO_LINGER 0),
// as a dropped load-balancer connection does; rc, when set, first flushes
// what the stream wrote (before the first byte there is nothing to flush,
// and a flush would send the status line).
func resetConn(w http.ResponseWriter, rc *http.ResponseController) {
	if rc == nil {
		rc = http.NewResponseController(w)
	} else {
		_ = rc.Flush()
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		return // not hijackable (HTTP/2): the handler returns and the stream ends
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// closeConn flushes what was written, then closes the client's connection
// in the middle of the response.
func closeConn(rc *http.ResponseController) {
	_ = rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		return
	}
	_ = conn.Close()
}

// inject applies a scripted fault that comes before the answer, and leaves
// a mid-stream one (scripted, else drawn) in a.fault for the stream
// writer. It reports whether to go on answering.
func (e *Emulator) inject(x *exchange, a *answer) bool {
	if a.fault == nil {
		a.fault = x.fault
		return true
	}
	stream := isStream(x.req.Operation)
	if aerr := a.fault.check(stream); aerr != nil {
		writeError(x.w, aerr)
		return false
	}
	if a.fault.midStream(stream) {
		return true
	}
	f := a.fault
	a.fault = nil
	return e.failBefore(x, f)
}
