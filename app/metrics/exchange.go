package metrics

import (
	"sync"
	"time"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
)

// Exchange is what the gateway measured about one request. The server fills
// it in as the request runs (several Bedrock calls may report into it at
// once, through AddCall) and hands it to an Observer when it ends.
type Exchange struct {
	// RequestID is the gateway's request id (X-Request-Id).
	RequestID string
	Start     time.Time
	Route     string // gin's FullPath: the route pattern, "" for unknown URLs
	Method    string
	Status    int
	// Model is the catalogue id the request resolved to, "" before that;
	// Foundation is its foundation model, for prices.
	Model      string
	Foundation string
	// Region is the Bedrock region that served the request, "" when no
	// call succeeded; FailedOver is true when another region or model than
	// the gateway's and the requested one served (a failover).
	Region     string
	FailedOver bool
	// Key is the API key's name, never the key.
	Key string
	// Stream is true once an SSE stream started.
	Stream bool
	// Usage is the tokens Bedrock reported, all calls together.
	Usage cost.Usage
	// ServiceTier is the Bedrock service tier that served them, "" when
	// Bedrock reported none; it scales the cost.
	ServiceTier string
	// Duration is the whole request; Upstream the wall time spent waiting
	// on Bedrock (for streams, until the first event); TTFT the time to the
	// first byte of a stream; Overhead is Duration (TTFT for streams) minus
	// Upstream.
	Duration, Upstream, TTFT, Overhead time.Duration
	// Cost is the USD price of Usage when CostKnown; an Observer sets both.
	Cost      float64
	CostKnown bool

	mu        sync.Mutex
	retries   int
	requestID string
	errorType string
}

// Call is one Bedrock API call as the SDK saw it, retries included, or an
// exception Bedrock sent inside an open stream (Duration 0: no latency).
type Call struct {
	Operation string // Converse, ConverseStream, InvokeModel
	Duration  time.Duration
	Attempts  int    // 1 when the SDK did not retry
	RequestID string // Bedrock's x-amzn-RequestId of the last attempt
	Err       error
}

// AddCall records a call's retries, request id and error on the exchange.
// It is safe for concurrent use.
func (ex *Exchange) AddCall(c Call) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if c.Attempts > 1 {
		ex.retries += c.Attempts - 1
	}
	if ex.requestID == "" {
		ex.requestID = c.RequestID
	}
	if c.Err != nil {
		if t := ExceptionType(c.Err); t != "" {
			ex.errorType = t
		}
	}
}

// BedrockRequestID is the request id of the first Bedrock call, for logs.
func (ex *Exchange) BedrockRequestID() string {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.requestID
}

// Retries is the number of SDK retries of all calls.
func (ex *Exchange) Retries() int {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.retries
}

// ErrorType is the exception type of the last failed call.
func (ex *Exchange) ErrorType() string {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.errorType
}

// ExceptionType names a Bedrock error for metrics (bedrock.Error.Label):
// its exception type, a timeout or connection error, or "other"; "" for a
// cancelled request (the client went away: not Bedrock's failure) and for nil.
func ExceptionType(err error) string {
	if err == nil {
		return ""
	}
	return bedrock.Classify(err).Label()
}
