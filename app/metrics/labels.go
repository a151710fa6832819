package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
)

// Other is the model label of ids the catalogue does not list, and the key
// label of key names beyond Options.MaxKeyNames.
const Other = "other"

// NoKey is the key label of usage without a key name: authentication is
// off (DISABLE_AUTH).
const NoKey = "none"

// DefaultMaxKeyNames is how many key names get a label of their own when
// Options.MaxKeyNames is zero (METRICS_MAX_KEY_NAMES).
const DefaultMaxKeyNames = 100

// Catalogue is what the observers read from the model catalogue: the listed
// models (the only model label values) and the refresh counters.
type Catalogue interface {
	List() []bedrock.Model
	Status() bedrock.CatalogueStatus
}

// Options configure an observer.
type Options struct {
	// Prices prices the tokens; nil makes every cost unknown.
	Prices *cost.Prices
	// Region picks regional prices (AWS_REGION).
	Region string
	// Catalogue bounds the model label; nil makes every model "other".
	Catalogue Catalogue
	// KeyRefreshes reports the API-key store's reads and failed reads
	// (auth.Store.Status); nil reports zeros.
	KeyRefreshes func() (refreshes, failures int64)
	// KeyNames returns the configured key names, sorted (auth.Store.Names,
	// re-read at every key refresh). The key label takes the first
	// MaxKeyNames of them, and Other for the rest. A returned slice must
	// never change: a new slice (after a refresh) rebuilds the label set.
	// nil admits names in the order they are first seen, up to MaxKeyNames.
	KeyNames func() []string
	// MaxKeyNames bounds the key label's values; zero means
	// DefaultMaxKeyNames.
	MaxKeyNames int
	// Version and Runtime label gateway_info.
	Version, Runtime string
}

// Pricing is the part every observer shares: bounded model labels, prices
// and the refresh counters, read from Options.
type Pricing struct {
	opts   Options
	listed *SeriesCache[string, bool]

	keys atomic.Pointer[keyLabels] // from KeyNames
	// seen and seenCount admit key names as first seen when KeyNames is nil.
	seen      *SeriesCache[string, bool]
	seenMu    sync.Mutex
	seenCount int
}

// keyLabels is the key label set built from one KeyNames slice.
type keyLabels struct {
	src []string
	set map[string]bool
}

// NewPricing returns the shared part of an observer configured by o.
func NewPricing(o Options) *Pricing {
	if o.MaxKeyNames <= 0 {
		o.MaxKeyNames = DefaultMaxKeyNames
	}
	always := func(string) bool { return true }
	return &Pricing{opts: o, listed: NewSeriesCache(always), seen: NewSeriesCache(always)}
}

// Options returns the options the observer was made with.
func (p *Pricing) Options() Options { return p.opts }

// ModelLabel bounds a model id: listed ids are themselves, others "other".
// Listed ids are remembered, so the catalogue is scanned once per new id
// (and per request only for ids it does not list, which Bedrock mostly rejects).
func (p *Pricing) ModelLabel(id string) string {
	if id == "" {
		return ""
	}
	if p.listed.Has(id) {
		return id
	}
	if p.opts.Catalogue == nil {
		return Other
	}
	for _, m := range p.opts.Catalogue.List() {
		if m.ID == id {
			p.listed.Get(id)
			return id
		}
	}
	return Other
}

// KeyLabel bounds a key name: one of the first MaxKeyNames configured
// names is itself, another name Other, and no name (authentication off)
// NoKey. It allocates only when the configured names change.
func (p *Pricing) KeyLabel(name string) string {
	if name == "" {
		return NoKey
	}
	if p.opts.KeyNames == nil {
		return p.seenKeyLabel(name)
	}
	names := p.opts.KeyNames()
	kl := p.keys.Load()
	if kl == nil || !sameSlice(kl.src, names) {
		kl = &keyLabels{src: names, set: make(map[string]bool, min(len(names), p.opts.MaxKeyNames))}
		for _, n := range names[:min(len(names), p.opts.MaxKeyNames)] {
			kl.set[n] = true
		}
		p.keys.Store(kl)
	}
	if kl.set[name] {
		return name
	}
	return Other
}

// seenKeyLabel admits names as they come, up to MaxKeyNames.
func (p *Pricing) seenKeyLabel(name string) string {
	if p.seen.Has(name) {
		return name
	}
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	if p.seen.Has(name) {
		return name
	}
	if p.seenCount >= p.opts.MaxKeyNames {
		return Other
	}
	p.seenCount++
	p.seen.Get(name)
	return name
}

// sameSlice reports whether a and b are the same slice, not merely equal.
func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Price sets ex.Cost and ex.CostKnown from its usage.
func (p *Pricing) Price(ex *Exchange) {
	ex.Cost, ex.CostKnown = 0, false
	if p.opts.Prices == nil || ex.Model == "" {
		return
	}
	tp, ok := p.opts.Prices.Token(ex.Model, ex.Foundation, p.opts.Region)
	if !ok {
		return
	}
	ex.Cost, ex.CostKnown = tp.CostAt(ex.Usage, p.opts.Prices.TierMultiplier(ex.ServiceTier)), true
}

// KeyRefreshes returns the API-key store's reads and failed reads.
func (p *Pricing) KeyRefreshes() (refreshes, failures int64) {
	if p.opts.KeyRefreshes == nil {
		return 0, 0
	}
	return p.opts.KeyRefreshes()
}

// ModelRefreshes returns the model catalogue's discoveries and failed ones.
func (p *Pricing) ModelRefreshes() (refreshes, failures int64) {
	if p.opts.Catalogue == nil {
		return 0, 0
	}
	st := p.opts.Catalogue.Status()
	return st.Refreshes, st.Failures
}

// RouteLabel names a route pattern; unknown URLs are "unmatched", since a
// label or EMF dimension value must not be empty.
func RouteLabel(route string) string {
	if route == "" {
		return "unmatched"
	}
	return route
}

// SeriesCache maps label tuples to pre-resolved series (or any value made
// once per key). Reads are lock-free on an immutable map and allocate
// nothing; a miss copies the map under a lock. Label values are bounded, so
// the map stops growing soon after start.
type SeriesCache[K comparable, V any] struct {
	m    atomic.Pointer[map[K]V]
	mu   sync.Mutex
	make func(K) V
}

// NewSeriesCache returns a cache that makes a missing value with make.
func NewSeriesCache[K comparable, V any](make func(K) V) *SeriesCache[K, V] {
	return &SeriesCache[K, V]{make: make}
}

func (c *SeriesCache[K, V]) lookup(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// Has reports whether k has a value yet.
func (c *SeriesCache[K, V]) Has(k K) bool {
	_, ok := c.lookup(k)
	return ok
}

// Get returns k's value, making it on first use.
func (c *SeriesCache[K, V]) Get(k K) V {
	if v, ok := c.lookup(k); ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
	}
	next := make(map[K]V, 1+lenOf(old))
	if old != nil {
		for key, v := range *old {
			next[key] = v
		}
	}
	v := c.make(k)
	next[k] = v
	c.m.Store(&next)
	return v
}

func lenOf[K comparable, V any](m *map[K]V) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
