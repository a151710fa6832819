package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the key-refresh spans.
const TracerName = "github.com/openbedrock/gateway/app/auth"

// Options configures a Store.
type Options struct {
	Sources Sources
	// SSM is required for API_KEY_PARAM_NAME and SECRET_ARN_PARAMETER.
	SSM SSM
	// SecretsManager is required for API_KEY_SECRET_ARN and SECRET_ARN_PARAMETER.
	SecretsManager SecretsManager
	Logger         *slog.Logger
	// RefreshInterval is how often the keys are re-read (API_KEY_REFRESH_INTERVAL);
	// zero means never. Each run waits the interval ±10% so replicas spread out.
	RefreshInterval time.Duration
	// EarlyRefreshEvery is the least time between two re-reads triggered by
	// unknown keys (API_KEY_MIN_REFRESH_INTERVAL); zero means unknown keys
	// never trigger one. It bounds what a flood of bad keys costs in AWS calls.
	EarlyRefreshEvery time.Duration
	// Timeout bounds one read of the keys; default 10s.
	Timeout time.Duration
	// Tracer, when set, records each refresh as a span of its own trace.
	Tracer trace.TracerProvider
}

// Store is an Authenticator over keys from Sources, cached in memory and
// refreshed in the background. Authenticate is lock-free for known keys: it
// reads an immutable key set through an atomic pointer.
type Store struct {
	opts   Options
	log    *slog.Logger
	loader loader
	now    func() time.Time

	keys atomic.Pointer[keySet]

	// flight is the refresh in progress, shared by everyone who needs one.
	flight atomic.Pointer[flight]
	// nextEarly is the earliest time (unix ns) an unknown key may trigger
	// a refresh; read without the lock to turn a flood away cheaply.
	nextEarly atomic.Int64
	mu        sync.Mutex // serialises starting a flight

	refreshes, failures atomic.Int64
	lastErr             atomic.Pointer[string]
}

// keySet is one immutable generation of keys.
type keySet struct {
	keys     []Key
	names    []string // distinct, sorted
	versions string
	sum      [sha256.Size]byte // identifies the set, to log changes only
	loadedAt time.Time
}

// flight is one refresh that several callers wait for.
type flight struct {
	done chan struct{}
	err  error
}

// NewStore checks o and returns a store with no keys yet; call Load.
func NewStore(o Options) (*Store, error) {
	if err := o.Sources.Validate(); err != nil {
		return nil, err
	}
	src := o.Sources
	if (src.ParamName != "" || src.SecretARNParameter != "") && o.SSM == nil {
		return nil, fmt.Errorf("%v needs an SSM client", src)
	}
	if (src.SecretARN != "" || src.SecretARNParameter != "") && o.SecretsManager == nil {
		return nil, fmt.Errorf("%v needs a Secrets Manager client", src)
	}
	if o.RefreshInterval < 0 || o.EarlyRefreshEvery < 0 {
		return nil, errors.New("refresh intervals must not be negative")
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{
		opts:   o,
		log:    o.Logger,
		loader: loader{src: src, ssm: o.SSM, secrets: o.SecretsManager},
		now:    time.Now,
	}, nil
}

// Load reads the keys for the first time. Its error names the parameter or
// secret and the AWS error code, never a value.
func (s *Store) Load(ctx context.Context) error {
	if err := s.refresh(ctx); err != nil {
		return fmt.Errorf("load API keys from %v: %w", s.opts.Sources, err)
	}
	return nil
}

// Run re-reads the keys every RefreshInterval until ctx is done. A failed
// read keeps the last good keys and is logged as a warning. It returns at
// once for a literal key or a zero interval.
func (s *Store) Run(ctx context.Context) {
	if s.opts.RefreshInterval <= 0 || s.opts.Sources.isStatic() {
		return
	}
	t := time.NewTimer(jitter(s.opts.RefreshInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.shared(ctx).wait(ctx)
			t.Reset(jitter(s.opts.RefreshInterval))
		}
	}
}

// Refresh re-reads the keys now, joining a refresh already in progress.
func (s *Store) Refresh(ctx context.Context) error {
	return s.shared(ctx).wait(ctx)
}

// Authenticate reports the name of the key token matches. An unknown token
// may trigger one early refresh (see Options.EarlyRefreshEvery), so a client
// that already has a freshly rotated key is let in.
func (s *Store) Authenticate(ctx context.Context, token string) (string, bool) {
	ks := s.keys.Load()
	if ks != nil {
		if name, ok := match(ks.keys, token); ok {
			return name, true
		}
	}
	s.earlyRefresh(ctx)
	// Check again if the keys changed meanwhile, by our refresh or another.
	if now := s.keys.Load(); now != nil && now != ks {
		return match(now.keys, token)
	}
	return "", false
}

// earlyRefresh runs (or joins) a refresh for an unknown key, unless one was
// triggered that way less than EarlyRefreshEvery ago.
func (s *Store) earlyRefresh(ctx context.Context) {
	if s.opts.EarlyRefreshEvery <= 0 || s.opts.Sources.isStatic() {
		return
	}
	f := s.flight.Load()
	if f == nil {
		if s.now().UnixNano() < s.nextEarly.Load() {
			return // cheap path for a flood: no lock
		}
		s.mu.Lock()
		f = s.flight.Load()
		if f == nil {
			now := s.now()
			if now.UnixNano() < s.nextEarly.Load() {
				s.mu.Unlock()
				return
			}
			s.nextEarly.Store(now.Add(s.opts.EarlyRefreshEvery).UnixNano())
			f = s.startLocked(ctx)
		}
		s.mu.Unlock()
	}
	_ = f.wait(ctx) // a failure is logged by refresh
}

// shared returns the refresh in progress or starts one.
func (s *Store) shared(ctx context.Context) *flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.flight.Load(); f != nil {
		return f
	}
	return s.startLocked(ctx)
}

// startLocked starts a refresh detached from ctx's cancellation, so a
// client going away does not fail it for the others waiting. s.mu is held.
func (s *Store) startLocked(ctx context.Context) *flight {
	f := &flight{done: make(chan struct{})}
	s.flight.Store(f)
	go func() {
		f.err = s.refresh(context.WithoutCancel(ctx))
		s.flight.Store(nil)
		close(f.done)
	}()
	return f
}

func (f *flight) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refresh reads the keys and swaps them in; on failure it keeps the old ones.
func (s *Store) refresh(ctx context.Context) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if s.opts.Tracer != nil {
		var span trace.Span
		ctx, span = s.opts.Tracer.Tracer(TracerName).Start(ctx, "refresh API keys", trace.WithNewRoot(),
			trace.WithLinks(trace.LinkFromContext(ctx)), trace.WithAttributes(attribute.String("gateway.keys.source", s.opts.Sources.String())))
		defer func() {
			if err != nil {
				span.SetStatus(codes.Error, "refresh failed")
			} else if ks := s.keys.Load(); ks != nil {
				span.SetAttributes(attribute.Int("gateway.keys.count", len(ks.keys)))
			}
			span.End()
		}()
	}
	s.refreshes.Add(1)
	got, err := s.loader.load(ctx)
	old := s.keys.Load()
	if err != nil {
		s.failures.Add(1)
		msg := err.Error()
		s.lastErr.Store(&msg)
		if old != nil {
			s.log.WarnContext(ctx, "API key refresh failed; keeping the last good keys",
				"source", s.opts.Sources.String(), "err", msg, "keys", old.names, "loaded_at", old.loadedAt)
		}
		return err
	}
	s.lastErr.Store(nil)
	for _, w := range got.warnings {
		s.log.WarnContext(ctx, "API key source warning", "source", s.opts.Sources.String(), "err", w.Error())
	}
	ks := newKeySet(got, s.now())
	s.keys.Store(ks)
	if old == nil || old.sum != ks.sum {
		s.log.InfoContext(ctx, "API keys loaded", "source", s.opts.Sources.String(),
			"keys", ks.names, "count", len(ks.keys), "versions", ks.versions)
	} else {
		s.log.DebugContext(ctx, "API keys unchanged", "source", s.opts.Sources.String(), "versions", ks.versions)
	}
	return nil
}

func newKeySet(l loaded, now time.Time) *keySet {
	ks := &keySet{keys: l.keys, versions: l.versions, loadedAt: now}
	h := sha256.New()
	seen := map[string]bool{}
	for _, k := range l.keys {
		h.Write([]byte(k.Name))
		h.Write([]byte{0})
		h.Write(k.digest[:])
		if !seen[k.Name] {
			seen[k.Name] = true
			ks.names = append(ks.names, k.Name)
		}
	}
	sort.Strings(ks.names)
	h.Sum(ks.sum[:0])
	return ks
}

// Status is a snapshot of the store for health checks and metrics. It holds
// key names, never values.
type Status struct {
	Source    string    // e.g. "SECRET_ARN_PARAMETER=BedrockApiKey"
	Names     []string  // names of the loaded keys
	Count     int       // number of loaded keys (AWSPREVIOUS ones included)
	LoadedAt  time.Time // last successful read
	Refreshes int64     // reads attempted, the first one included
	Failures  int64     // reads that failed
	LastError string    // the last read's error, empty after a success
}

// Status returns the store's current state.
func (s *Store) Status() Status {
	st := Status{Source: s.opts.Sources.String(), Refreshes: s.refreshes.Load(), Failures: s.failures.Load()}
	if ks := s.keys.Load(); ks != nil {
		st.Names = append([]string(nil), ks.names...)
		st.Count = len(ks.keys)
		st.LoadedAt = ks.loadedAt
	}
	if e := s.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

// Names returns the names of the loaded keys, sorted, for metric labels. The
// slice is shared and never changes (callers must not modify it); a refresh
// that loads keys makes a new one, so comparing slices tells a new load.
func (s *Store) Names() []string {
	if ks := s.keys.Load(); ks != nil {
		return ks.names
	}
	return nil
}

// jitter spreads d by ±10%.
func jitter(d time.Duration) time.Duration {
	spread := int64(d) / 5
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(rand.Int64N(spread))
}
