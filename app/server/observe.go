package server

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/app/metrics"
	"github.com/openbedrock/gateway/app/openai"
)

// Observer receives the measurements of every request: app/metrics/prom's
// in the container build, app/metrics/emf's in the Lambda build.
type Observer interface {
	// Begin is called as a request starts.
	Begin(*metrics.Exchange)
	// Upstream is called after each Bedrock call, retries included.
	Upstream(*metrics.Exchange, metrics.Call)
	// StreamStarted is called when an SSE stream starts.
	StreamStarted(*metrics.Exchange)
	// End is called as the request ends; it prices the exchange (Cost,
	// CostKnown) before the access log line is written.
	End(*metrics.Exchange)
}

// OverheadHeader tells the client how long the gateway itself took: the
// time to the response (a stream's first byte) minus the time waiting on
// Bedrock, in milliseconds.
const OverheadHeader = "X-Gateway-Overhead-Ms"

// ctxExchange is the gin context key of the request's *metrics.Exchange.
const ctxExchange = "exchange"

// exchangeKey is the context key under which Bedrock calls find the exchange.
type exchangeKey struct{}

type nopObserver struct{}

func (nopObserver) Begin(*metrics.Exchange)                  {}
func (nopObserver) Upstream(*metrics.Exchange, metrics.Call) {}
func (nopObserver) StreamStarted(*metrics.Exchange)          {}
func (nopObserver) End(*metrics.Exchange)                    {}

// exchange returns the request's exchange; never nil inside accessLog.
func exchange(c *gin.Context) *metrics.Exchange {
	if v, ok := c.Get(ctxExchange); ok {
		return v.(*metrics.Exchange)
	}
	return &metrics.Exchange{Start: time.Now()} // outside accessLog (not in the routes)
}

// bedrockContext is the request context carrying the exchange, for the
// Bedrock calls to report into.
func bedrockContext(c *gin.Context, ex *metrics.Exchange) context.Context {
	return context.WithValue(c.Request.Context(), exchangeKey{}, ex)
}

// setModel records the model a request resolved to.
func setModel(c *gin.Context, ex *metrics.Exchange, m bedrock.Model) {
	c.Set(ctxModel, m.ID)
	ex.Model, ex.Foundation = m.ID, m.FoundationModelID
	if ex.Foundation == "" {
		ex.Foundation = bedrock.FoundationModelOf(m.ID)
	}
}

// setOverhead computes the overhead as the response is about to be written
// and sends it as a header.
func setOverhead(c *gin.Context, ex *metrics.Exchange) {
	ex.Overhead = max(time.Since(ex.Start)-ex.Upstream, 0)
	c.Header(OverheadHeader, strconv.FormatFloat(float64(ex.Overhead.Microseconds())/1000, 'f', 3, 64))
}

// openAIUsage undoes bedrock.Usage: prompt tokens there include the cache.
func openAIUsage(u *openai.Usage) cost.Usage {
	if u == nil {
		return cost.Usage{}
	}
	out := cost.Usage{Input: int64(u.PromptTokens), Output: int64(u.CompletionTokens)}
	if d := u.PromptTokensDetails; d != nil {
		out.CacheRead, out.CacheWrite, out.CacheWrite1h = int64(d.CachedTokens), int64(d.CacheWriteTokens), int64(d.CacheWrite1hTokens)
		out.Input -= out.CacheRead + out.CacheWrite
	}
	return out
}

// observeCall reports a Bedrock call (bedrock.ServiceOptions.Observe) to
// the request's exchange and the Observer.
func (s *Server) observeCall(ctx context.Context, r bedrock.CallReport) {
	ex, _ := ctx.Value(exchangeKey{}).(*metrics.Exchange)
	if ex == nil {
		return
	}
	call := metrics.Call{Operation: r.Operation, Duration: r.Duration, Attempts: r.Attempts, RequestID: r.RequestID, Err: r.Err}
	ex.AddCall(call)
	s.opts.Observer.Upstream(ex, call)
}

// bodyCapture keeps the first max bytes of a request or response body for
// the access log (LOG_BODIES).
type bodyCapture struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *bodyCapture) keep(p []byte) {
	if room := b.max - b.buf.Len(); room < len(p) {
		b.truncated = true
		p = p[:max(room, 0)]
	}
	b.buf.Write(p)
}

// captureReader tees what the handler reads.
type captureReader struct {
	io.ReadCloser
	cap *bodyCapture
}

func (r *captureReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.cap.keep(p[:n])
	return n, err
}

// captureWriter tees what the handler writes.
type captureWriter struct {
	gin.ResponseWriter
	cap *bodyCapture
}

func (w *captureWriter) Write(p []byte) (int, error) {
	w.cap.keep(p)
	return w.ResponseWriter.Write(p)
}

func (w *captureWriter) WriteString(s string) (int, error) {
	w.cap.keep([]byte(s))
	return w.ResponseWriter.WriteString(s)
}
