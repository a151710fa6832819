package bedrock

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ShieldBodies wraps the HTTP client of an AWS configuration so that a fast
// answer cannot cut a response stream short.
//
// smithy-go wraps every request body in a closer with a WriteTo method and
// closes it as soon as the response headers arrive. net/http writes the body
// with WriteTo and then reads once more to check for extra bytes; when the
// close lands in between (an upstream that answers fast, a busy machine),
// that WriteTo returns io.EOF, net/http takes it for a failed write and
// closes the connection, and a ConverseStream still being read on it ends
// with "use of closed network connection". Through Read alone a closed body
// simply reports EOF, so the shield hides WriteTo.
//
// Wrap the client after config.LoadDefaultConfig: AWS_CA_BUNDLE needs the
// *awshttp.BuildableClient itself, and has been applied by then.
func ShieldBodies(c aws.HTTPClient) aws.HTTPClient { return bodyShield{c} }

type bodyShield struct{ next aws.HTTPClient }

// Do sends r with its body reduced to an io.ReadCloser.
func (b bodyShield) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return b.next.Do(r)
}

// LimitIdle wraps the HTTP client of an AWS configuration so that reading a
// response body fails when Bedrock sends nothing for d: a stream that stalls
// mid-way ends with a KindTimeout error instead of holding its request, its
// concurrency slot and its connection until the request deadline. Only time
// spent waiting on Bedrock inside Read counts, not the time the gateway takes
// between reads (writing to a slow client has deadlines of its own). d <= 0
// returns c unchanged. Waiting for the response headers is bounded by the
// request's deadline, as a plain Converse answers only when it is done.
func LimitIdle(c aws.HTTPClient, d time.Duration) aws.HTTPClient {
	if d <= 0 {
		return c
	}
	return idleLimit{next: c, d: d}
}

type idleLimit struct {
	next aws.HTTPClient
	d    time.Duration
}

// Do sends r and wraps the response body in an idle watchdog.
func (l idleLimit) Do(r *http.Request) (*http.Response, error) {
	resp, err := l.next.Do(r)
	if err != nil || resp.Body == nil || resp.Body == http.NoBody {
		return resp, err
	}
	b := &idleBody{rc: resp.Body, d: l.d}
	b.timer = time.AfterFunc(time.Hour, b.expire)
	b.timer.Stop()
	resp.Body = b
	return resp, nil
}

// ErrIdle is the error a response body read returns after Bedrock sent
// nothing for the idle limit. It is a deadline: Classify makes it KindTimeout.
var ErrIdle = fmt.Errorf("bedrock sent nothing within the idle limit: %w", context.DeadlineExceeded)

type idleBody struct {
	rc    io.ReadCloser
	d     time.Duration
	timer *time.Timer
	idle  atomic.Bool
}

func (b *idleBody) expire() {
	b.idle.Store(true)
	b.rc.Close() // unblocks the Read waiting on the connection
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.idle.Load() {
		return 0, ErrIdle
	}
	b.timer.Reset(b.d)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if b.idle.Load() {
		return n, ErrIdle
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	return b.rc.Close()
}
