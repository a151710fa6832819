// Package prom is the Prometheus observer of the gateway's metrics, for
// the container build's METRICS_ADDR listener. It registers its collectors
// on a registry it is given, never the global one. Only the server build
// links it: the Lambda build writes EMF lines (package emf) instead.
package prom

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/app/metrics"
)

// Buckets of the histograms, in seconds.
var (
	latencyBuckets  = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320}
	ttftBuckets     = []float64{0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64}
	overheadBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}
)

// Observer records exchanges as Prometheus metrics. Series are resolved
// once per label tuple and cached, so a request costs a few map reads and
// atomic adds.
type Observer struct {
	pricing *metrics.Pricing

	requests    *prometheus.CounterVec
	keyRequests *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	overhead    *prometheus.HistogramVec
	ttft        *prometheus.HistogramVec
	upstream    *prometheus.HistogramVec
	tokens      *prometheus.CounterVec
	cost        *prometheus.CounterVec
	unknownCost *prometheus.CounterVec
	errors      *prometheus.CounterVec
	retries     *prometheus.CounterVec
	failovers   *prometheus.CounterVec
	inFlight    prometheus.Gauge
	streams     prometheus.Gauge
	initTime    prometheus.Gauge
	startTime   prometheus.Gauge

	reqs    *metrics.SeriesCache[reqKey, reqSeries]
	keyReqs *metrics.SeriesCache[string, prometheus.Counter]
	usage   *metrics.SeriesCache[usageKey, usageSeries]
	models  *metrics.SeriesCache[string, prometheus.Observer]
	calls   *metrics.SeriesCache[callKey, callSeries]
	errs    *metrics.SeriesCache[errKey, prometheus.Counter]
	served  *metrics.SeriesCache[servedKey, prometheus.Counter]
}

type reqKey struct {
	route  string
	status int
	model  string
}

type reqSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
	overhead prometheus.Observer
}

type usageKey struct{ model, key string }

type usageSeries struct {
	input, output, cacheRead, cacheWrite prometheus.Counter
	cost, unknown                        prometheus.Counter
}

type callKey struct{ model, op string }

type errKey struct{ op, exception string }

// servedKey is where a request that failed over was served; regions are
// the configured ones, so the label is bounded.
type servedKey struct{ region, model string }

type callSeries struct {
	latency prometheus.Observer
	retries prometheus.Counter
}

// New registers the gateway's metrics on reg.
func New(reg prometheus.Registerer, o metrics.Options) (*Observer, error) {
	p := &Observer{
		pricing: metrics.NewPricing(o),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_requests_total",
			Help: "Requests served, by route pattern, HTTP status and model."}, []string{"route", "status", "model"}),
		keyRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_key_requests_total",
			Help: "Requests authenticated with an API key, by key name (\"other\" past METRICS_MAX_KEY_NAMES names)."}, []string{"key"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_request_duration_seconds",
			Help: "Request duration, by route pattern and model.", Buckets: latencyBuckets}, []string{"route", "model"}),
		overhead: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_overhead_seconds",
			Help:    "Time the gateway added: the request's duration (a stream's time to first byte) minus the time waiting on Bedrock.",
			Buckets: overheadBuckets}, []string{"route"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_time_to_first_token_seconds",
			Help: "Time from a streaming request's arrival to its first byte, by model.", Buckets: ttftBuckets}, []string{"model"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_upstream_duration_seconds",
			Help:    "Bedrock call duration with retries, by model and operation (ConverseStream: until the response headers).",
			Buckets: latencyBuckets}, []string{"model", "operation"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_tokens_total",
			Help: "Tokens Bedrock reported, by model, key name and type (input, output, cache_read, cache_write)."},
			[]string{"model", "key", "type"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_cost_usd_total",
			Help: "Estimated Bedrock cost in USD from the price table, by model and key name."}, []string{"model", "key"}),
		unknownCost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_unknown_cost_requests_total",
			Help: "Requests with tokens whose model has no price: their cost is unknown, not zero."}, []string{"model", "key"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_bedrock_errors_total",
			Help: "Bedrock errors, by operation and exception type."}, []string{"operation", "exception"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_bedrock_retries_total",
			Help: "Attempts the SDK retried, by model and operation."}, []string{"model", "operation"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_failovers_total",
			Help: "Requests served by a fallback region or model (FALLBACK_REGIONS, MODEL_FALLBACKS), by the region and model that served."},
			[]string{"region", "model"}),
		inFlight:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "gateway_in_flight_requests", Help: "Requests being served."}),
		streams:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "gateway_in_flight_streams", Help: "SSE streams open."}),
		initTime:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "gateway_init_duration_seconds", Help: "Time from process start to ready to serve."}),
		startTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gateway_start_time_seconds", Help: "When this process started, in Unix seconds."}),
	}
	p.reqs = metrics.NewSeriesCache(func(k reqKey) reqSeries {
		return reqSeries{
			requests: p.requests.WithLabelValues(metrics.RouteLabel(k.route), strconv.Itoa(k.status), k.model),
			duration: p.duration.WithLabelValues(metrics.RouteLabel(k.route), k.model),
			overhead: p.overhead.WithLabelValues(metrics.RouteLabel(k.route)),
		}
	})
	p.keyReqs = metrics.NewSeriesCache(func(key string) prometheus.Counter { return p.keyRequests.WithLabelValues(key) })
	p.usage = metrics.NewSeriesCache(func(k usageKey) usageSeries {
		return usageSeries{
			input:      p.tokens.WithLabelValues(k.model, k.key, "input"),
			output:     p.tokens.WithLabelValues(k.model, k.key, "output"),
			cacheRead:  p.tokens.WithLabelValues(k.model, k.key, "cache_read"),
			cacheWrite: p.tokens.WithLabelValues(k.model, k.key, "cache_write"),
			cost:       p.cost.WithLabelValues(k.model, k.key),
			unknown:    p.unknownCost.WithLabelValues(k.model, k.key),
		}
	})
	p.models = metrics.NewSeriesCache(func(model string) prometheus.Observer { return p.ttft.WithLabelValues(model) })
	p.calls = metrics.NewSeriesCache(func(k callKey) callSeries {
		return callSeries{latency: p.upstream.WithLabelValues(k.model, k.op), retries: p.retries.WithLabelValues(k.model, k.op)}
	})
	p.errs = metrics.NewSeriesCache(func(k errKey) prometheus.Counter { return p.errors.WithLabelValues(k.op, k.exception) })
	p.served = metrics.NewSeriesCache(func(k servedKey) prometheus.Counter { return p.failovers.WithLabelValues(k.region, k.model) })

	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "gateway_info", Help: "Version and runtime of the gateway; always 1.",
		ConstLabels: prometheus.Labels{"version": o.Version, "runtime": o.Runtime}})
	info.Set(1)
	cs := []prometheus.Collector{p.requests, p.keyRequests, p.duration, p.overhead, p.ttft, p.upstream, p.tokens, p.cost, p.unknownCost,
		p.errors, p.retries, p.failovers, p.inFlight, p.streams, p.initTime, p.startTime, info,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gateway_api_key_refreshes_total",
			Help: "Reads of the API keys from SSM or Secrets Manager, the first included."},
			func() float64 { n, _ := p.pricing.KeyRefreshes(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gateway_api_key_refresh_failures_total",
			Help: "Failed reads of the API keys (the last good keys stay in use)."},
			func() float64 { _, n := p.pricing.KeyRefreshes(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gateway_model_catalogue_refreshes_total",
			Help: "Model catalogue discoveries from the Bedrock control plane."},
			func() float64 { n, _ := p.pricing.ModelRefreshes(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gateway_model_catalogue_refresh_failures_total",
			Help: "Failed model catalogue discoveries (the last good list stays in use)."},
			func() float64 { _, n := p.pricing.ModelRefreshes(); return float64(n) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register gateway metrics: %w", err)
		}
	}
	return p, nil
}

// NewRegistry returns a registry with the Go runtime and process collectors
// and the gateway's metrics, as cmd/gateway serves it on METRICS_ADDR.
func NewRegistry(o metrics.Options) (*prometheus.Registry, *Observer, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, nil, fmt.Errorf("register Go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, nil, fmt.Errorf("register process collector: %w", err)
	}
	p, err := New(reg, o)
	if err != nil {
		return nil, nil, err
	}
	return reg, p, nil
}

// Started records when the process started and how long it took to be
// ready to serve.
func (p *Observer) Started(start time.Time, init time.Duration) {
	p.startTime.Set(float64(start.UnixNano()) / 1e9)
	p.initTime.Set(init.Seconds())
}

// Begin counts the request in flight.
func (p *Observer) Begin(*metrics.Exchange) { p.inFlight.Inc() }

// StreamStarted counts an open stream; End closes it.
func (p *Observer) StreamStarted(*metrics.Exchange) { p.streams.Inc() }

// Upstream records one Bedrock call.
func (p *Observer) Upstream(ex *metrics.Exchange, c metrics.Call) {
	model := ""
	if ex != nil {
		model = p.pricing.ModelLabel(ex.Model)
	}
	s := p.calls.Get(callKey{model, c.Operation})
	if c.Duration > 0 {
		s.latency.Observe(c.Duration.Seconds())
	}
	if c.Attempts > 1 {
		s.retries.Add(float64(c.Attempts - 1))
	}
	if t := metrics.ExceptionType(c.Err); t != "" {
		p.errs.Get(errKey{c.Operation, t}).Inc()
	}
}

// End prices the exchange and records it.
func (p *Observer) End(ex *metrics.Exchange) {
	p.inFlight.Dec()
	if ex.Stream {
		p.streams.Dec()
	}
	p.pricing.Price(ex)
	model := p.pricing.ModelLabel(ex.Model)
	r := p.reqs.Get(reqKey{ex.Route, ex.Status, model})
	r.requests.Inc()
	r.duration.Observe(ex.Duration.Seconds())
	if ex.Upstream > 0 {
		r.overhead.Observe(ex.Overhead.Seconds())
	}
	if ex.Stream && ex.TTFT > 0 {
		p.models.Get(model).Observe(ex.TTFT.Seconds())
	}
	if ex.FailedOver {
		p.served.Get(servedKey{ex.Region, model}).Inc()
	}
	key := p.pricing.KeyLabel(ex.Key)
	if ex.Key != "" {
		p.keyReqs.Get(key).Inc()
	}
	u := ex.Usage
	if u == (cost.Usage{}) {
		return
	}
	s := p.usage.Get(usageKey{model, key})
	s.input.Add(float64(u.Input))
	s.output.Add(float64(u.Output))
	s.cacheRead.Add(float64(u.CacheRead))
	s.cacheWrite.Add(float64(u.CacheWrite))
	if ex.CostKnown {
		s.cost.Add(ex.Cost)
	} else {
		s.unknown.Inc()
	}
}
