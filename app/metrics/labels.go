package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
)

// Other is the model label of ids the catalogue does not list.
const Other = "other"

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
	// Version and Runtime label gateway_info.
	Version, Runtime string
}

// pricing is the part both observers share: model labels and prices.
type pricing struct {
	opts   Options
	listed cache[string, bool]
}

func newPricing(o Options) *pricing {
	p := &pricing{opts: o}
	p.listed.make = func(string) bool { return true }
	return p
}

// modelLabel bounds a model id: listed ids are themselves, others "other".
// Listed ids are remembered, so the catalogue is scanned once per new id
// (and per request only for ids it does not list, which Bedrock mostly rejects).
func (p *pricing) modelLabel(id string) string {
	if id == "" {
		return ""
	}
	if p.listed.has(id) {
		return id
	}
	if p.opts.Catalogue == nil {
		return Other
	}
	for _, m := range p.opts.Catalogue.List() {
		if m.ID == id {
			p.listed.get(id)
			return id
		}
	}
	return Other
}

// price sets ex.Cost and ex.CostKnown from its usage.
func (p *pricing) price(ex *Exchange) {
	ex.Cost, ex.CostKnown = 0, false
	if p.opts.Prices == nil || ex.Model == "" {
		return
	}
	tp, ok := p.opts.Prices.Token(ex.Model, ex.Foundation, p.opts.Region)
	if !ok {
		return
	}
	ex.Cost, ex.CostKnown = tp.Cost(ex.Usage), true
}

func (p *pricing) keyRefreshes() (int64, int64) {
	if p.opts.KeyRefreshes == nil {
		return 0, 0
	}
	return p.opts.KeyRefreshes()
}

func (p *pricing) modelRefreshes() (int64, int64) {
	if p.opts.Catalogue == nil {
		return 0, 0
	}
	st := p.opts.Catalogue.Status()
	return st.Refreshes, st.Failures
}

// cache maps label tuples to pre-resolved series. Reads are lock-free on an
// immutable map; a miss copies the map under a lock. Label values are
// bounded, so the map stops growing soon after start.
type cache[K comparable, V any] struct {
	m    atomic.Pointer[map[K]V]
	mu   sync.Mutex
	make func(K) V
}

func (c *cache[K, V]) lookup(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

func (c *cache[K, V]) has(k K) bool {
	_, ok := c.lookup(k)
	return ok
}

func (c *cache[K, V]) get(k K) V {
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
