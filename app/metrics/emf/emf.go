// Package emf is the CloudWatch Embedded Metric Format observer of the
// gateway's metrics, for the Lambda build: JSON lines on stdout that
// CloudWatch turns into metrics without PutMetricData. It uses only the
// standard library, so the Lambda build links no Prometheus code.
package emf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbedrock/gateway/app/metrics"
)

// DefaultNamespace is the CloudWatch namespace of the gateway's EMF metrics.
const DefaultNamespace = "OpenBedrock/Gateway"

// Observer writes exchanges as CloudWatch Embedded Metric Format lines: in
// Lambda a JSON line on stdout with an "_aws" member becomes metrics with no
// PutMetricData call. One line per request, one at start-up.
//
// Every metric and dimension-value pair is a billed custom metric, so the
// dimension sets are few and no set crosses model with key:
//
//   - Route, Status: Requests, Latency, Overhead (ms)
//   - Model: UpstreamLatency, TimeToFirstToken (ms, streams), and with
//     tokens InputTokens, OutputTokens, CostUSD
//   - KeyName: Requests (requests authenticated with a key), and with
//     tokens InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens,
//     CostUSD; the key name is bounded as the Prometheus label is (the
//     configured names up to METRICS_MAX_KEY_NAMES, then "other"; "none"
//     with authentication off)
//   - ExceptionType: BedrockErrors
//   - none: CacheReadTokens, CacheWriteTokens, UnknownCost (1 when the model
//     has no price), BedrockRetries, Failovers (1 when a fallback region or
//     model served; the line's Region property says which); KeyRefreshes, KeyRefreshFailures,
//     ModelRefreshes, ModelRefreshFailures (counted since the previous line,
//     when they moved); at start-up ColdStart and InitDuration (ms)
//
// Cost by model and key together is a CloudWatch Logs Insights query over
// the same lines, which also carry RequestId, BedrockRequestId and Stream
// as properties. In-flight gauges are not written: a Lambda environment
// serves one request at a time.
type Observer struct {
	pricing   *metrics.Pricing
	namespace string
	now       func() time.Time

	mu  sync.Mutex // one line per Write
	w   io.Writer
	buf bytes.Buffer

	lastKeyReads, lastKeyFailures, lastModelReads, lastModelFailures atomic.Int64
}

// New returns an observer writing to w (stdout in Lambda); an empty
// namespace means DefaultNamespace.
func New(w io.Writer, namespace string, o metrics.Options) *Observer {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &Observer{pricing: metrics.NewPricing(o), namespace: namespace, now: time.Now, w: w}
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// emfRequest is one request's line. Members named in a directive are
// always present; the others are omitted when empty.
type emfRequest struct {
	AWS emfMeta `json:"_aws"`

	Route         string `json:"Route"`
	Status        string `json:"Status"`
	Model         string `json:"Model,omitempty"`
	KeyName       string `json:"KeyName,omitempty"`
	ExceptionType string `json:"ExceptionType,omitempty"`

	Requests         int      `json:"Requests"`
	Latency          float64  `json:"Latency"`
	Overhead         float64  `json:"Overhead"`
	UpstreamLatency  *float64 `json:"UpstreamLatency,omitempty"`
	TimeToFirstToken *float64 `json:"TimeToFirstToken,omitempty"`
	BedrockRetries   *int     `json:"BedrockRetries,omitempty"`
	InputTokens      *int64   `json:"InputTokens,omitempty"`
	OutputTokens     *int64   `json:"OutputTokens,omitempty"`
	CacheReadTokens  *int64   `json:"CacheReadTokens,omitempty"`
	CacheWriteTokens *int64   `json:"CacheWriteTokens,omitempty"`
	CostUSD          *float64 `json:"CostUSD,omitempty"`
	UnknownCost      *int     `json:"UnknownCost,omitempty"`
	BedrockErrors    *int     `json:"BedrockErrors,omitempty"`
	Failovers        *int     `json:"Failovers,omitempty"`

	KeyRefreshes         *int64 `json:"KeyRefreshes,omitempty"`
	KeyRefreshFailures   *int64 `json:"KeyRefreshFailures,omitempty"`
	ModelRefreshes       *int64 `json:"ModelRefreshes,omitempty"`
	ModelRefreshFailures *int64 `json:"ModelRefreshFailures,omitempty"`

	RequestID        string `json:"RequestId,omitempty"`
	BedrockRequestID string `json:"BedrockRequestId,omitempty"`
	Stream           bool   `json:"Stream,omitempty"`
	Region           string `json:"Region,omitempty"` // the Bedrock region that served
}

type emfInit struct {
	AWS          emfMeta `json:"_aws"`
	ColdStart    int     `json:"ColdStart"`
	InitDuration float64 `json:"InitDuration"`
	Version      string  `json:"Version,omitempty"`
	Runtime      string  `json:"Runtime,omitempty"`
}

var (
	emfRequestMetrics = []emfMetric{{"Requests", "Count"}, {"Latency", "Milliseconds"}, {"Overhead", "Milliseconds"}}
	emfUpstreamMetric = emfMetric{"UpstreamLatency", "Milliseconds"}
	emfTTFTMetric     = emfMetric{"TimeToFirstToken", "Milliseconds"}
	emfUsageMetrics   = []emfMetric{{"InputTokens", "Count"}, {"OutputTokens", "Count"}, {"CostUSD", "None"}}
	emfKeyMetrics     = []emfMetric{{"InputTokens", "Count"}, {"OutputTokens", "Count"}, {"CacheReadTokens", "Count"}, {"CacheWriteTokens", "Count"}, {"CostUSD", "None"}}
	emfTotalMetrics   = []emfMetric{{"CacheReadTokens", "Count"}, {"CacheWriteTokens", "Count"}, {"UnknownCost", "Count"}, {"BedrockRetries", "Count"}}
	emfErrorMetrics   = []emfMetric{{"BedrockErrors", "Count"}}
	emfFailoverMetric = emfMetric{"Failovers", "Count"}
	emfRefreshMetrics = []emfMetric{{"KeyRefreshes", "Count"}, {"KeyRefreshFailures", "Count"}, {"ModelRefreshes", "Count"}, {"ModelRefreshFailures", "Count"}}
	emfInitMetrics    = []emfMetric{{"ColdStart", "Count"}, {"InitDuration", "Milliseconds"}}
)

// Started writes the start-up line: ColdStart 1 and the init duration.
func (e *Observer) Started(_ time.Time, init time.Duration) {
	line := emfInit{
		AWS:          emfMeta{Timestamp: e.now().UnixMilli(), CloudWatchMetrics: []emfDirective{e.directive([]string{}, emfInitMetrics)}},
		ColdStart:    1,
		InitDuration: ms(init),
		Version:      e.pricing.Options().Version,
		Runtime:      e.pricing.Options().Runtime,
	}
	e.write(line)
}

// Begin does nothing: a Lambda environment serves one request at a time.
func (e *Observer) Begin(*metrics.Exchange) {}

// StreamStarted does nothing; the line says Stream.
func (e *Observer) StreamStarted(*metrics.Exchange) {}

// Upstream does nothing: End writes the call totals the exchange holds.
func (e *Observer) Upstream(*metrics.Exchange, metrics.Call) {}

// End prices the exchange and writes its line.
func (e *Observer) End(ex *metrics.Exchange) {
	e.pricing.Price(ex)
	line := emfRequest{
		Route:            metrics.RouteLabel(ex.Route),
		Status:           fmt.Sprint(ex.Status),
		Requests:         1,
		Latency:          ms(ex.Duration),
		Overhead:         ms(ex.Overhead),
		RequestID:        ex.RequestID,
		BedrockRequestID: ex.BedrockRequestID(),
		Stream:           ex.Stream,
		Region:           ex.Region,
	}
	dirs := []emfDirective{e.directive([]string{"Route", "Status"}, emfRequestMetrics)}
	var totals, perKey []emfMetric
	if ex.Key != "" {
		perKey = append(perKey, emfRequestMetrics[0]) // Requests
	}
	if model := e.pricing.ModelLabel(ex.Model); model != "" {
		line.Model = model
		up, retries := ms(ex.Upstream), ex.Retries()
		line.UpstreamLatency, line.BedrockRetries = &up, &retries
		perModel := []emfMetric{emfUpstreamMetric}
		if ex.Stream && ex.TTFT > 0 {
			ttft := ms(ex.TTFT)
			line.TimeToFirstToken = &ttft
			perModel = append(perModel, emfTTFTMetric)
		}
		totals = append(totals, emfTotalMetrics[3]) // BedrockRetries
		if u := ex.Usage; u.Input+u.Output+u.CacheRead+u.CacheWrite > 0 {
			unknown, usd := 0, ex.Cost
			if !ex.CostKnown {
				unknown = 1
			}
			line.InputTokens, line.OutputTokens, line.CacheReadTokens, line.CacheWriteTokens = &u.Input, &u.Output, &u.CacheRead, &u.CacheWrite
			line.CostUSD, line.UnknownCost = &usd, &unknown
			perModel = append(perModel, emfUsageMetrics...)
			perKey = append(perKey, emfKeyMetrics...)
			totals = append(totals, emfTotalMetrics[:3]...)
		}
		dirs = append(dirs, e.directive([]string{"Model"}, perModel))
	}
	if len(perKey) > 0 {
		line.KeyName = e.pricing.KeyLabel(ex.Key)
		dirs = append(dirs, e.directive([]string{"KeyName"}, perKey))
	}
	if ex.FailedOver {
		one := 1
		line.Failovers = &one
		totals = append(totals, emfFailoverMetric)
	}
	if kr, kf, mr, mf, changed := e.refreshDeltas(); changed {
		line.KeyRefreshes, line.KeyRefreshFailures, line.ModelRefreshes, line.ModelRefreshFailures = &kr, &kf, &mr, &mf
		totals = append(totals, emfRefreshMetrics...)
	}
	if len(totals) > 0 {
		dirs = append(dirs, e.directive([]string{}, totals))
	}
	if t := ex.ErrorType(); t != "" {
		one := 1
		line.ExceptionType, line.BedrockErrors = t, &one
		dirs = append(dirs, e.directive([]string{"ExceptionType"}, emfErrorMetrics))
	}
	line.AWS = emfMeta{Timestamp: e.now().UnixMilli(), CloudWatchMetrics: dirs}
	e.write(line)
}

// refreshDeltas returns the refresh counts since the previous call.
func (e *Observer) refreshDeltas() (kr, kf, mr, mf int64, changed bool) {
	k1, k2 := e.pricing.KeyRefreshes()
	m1, m2 := e.pricing.ModelRefreshes()
	kr, kf = k1-e.lastKeyReads.Swap(k1), k2-e.lastKeyFailures.Swap(k2)
	mr, mf = m1-e.lastModelReads.Swap(m1), m2-e.lastModelFailures.Swap(m2)
	return kr, kf, mr, mf, kr != 0 || kf != 0 || mr != 0 || mf != 0
}

func (e *Observer) directive(dims []string, metrics []emfMetric) emfDirective {
	return emfDirective{Namespace: e.namespace, Dimensions: [][]string{dims}, Metrics: metrics}
}

// write encodes v as one line and writes it in one call, so concurrent
// lines never interleave. EMF is best effort: a failed write is dropped.
func (e *Observer) write(v any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.buf.Reset()
	if err := json.NewEncoder(&e.buf).Encode(v); err != nil {
		return
	}
	_, _ = e.w.Write(e.buf.Bytes())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
