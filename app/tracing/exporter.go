package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// exporter POSTs spans to an OTLP/HTTP endpoint as protobuf, retrying what
// the OTLP specification calls retryable (429, 502, 503, 504 and broken
// connections) with a growing back-off or the server's Retry-After, until
// the export's timeout. A refused connection is not retried: nothing
// listens there (a Lambda without its collector extension), and waiting
// would only delay the invocation that flushes; that batch is dropped.
type exporter struct {
	url     string
	headers map[string]string
	gzip    bool
	timeout time.Duration
	client  *http.Client
	stopped atomic.Bool
}

func newExporter(c Config, client *http.Client) (*exporter, error) {
	if c.URL == "" {
		return nil, errors.New("trace exporter: no endpoint URL")
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	return &exporter{url: c.URL, headers: c.Headers, gzip: c.Gzip, timeout: c.Timeout, client: client}, nil
}

// ExportSpans sends one batch (sdktrace.SpanExporter).
func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.stopped.Load() || len(spans) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	body := encodeTraces(spans)
	if e.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("gzip spans: %w", err)
		}
		body = buf.Bytes()
	}
	backoff := 100 * time.Millisecond
	for {
		wait, err := e.post(ctx, body)
		if err == nil {
			return nil
		}
		if wait < 0 {
			return err
		}
		wait = max(wait, backoff)
		backoff = min(backoff*2, 5*time.Second)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		}
	}
}

// post makes one attempt. A negative wait means do not retry.
func (e *exporter) post(ctx context.Context, body []byte) (wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("export spans: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return -1, fmt.Errorf("export spans to %s: %w", e.url, err)
	}
	if err != nil {
		return 0, fmt.Errorf("export spans to %s: %w", e.url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode/100 == 2 {
		return 0, nil
	}
	err = fmt.Errorf("export spans to %s: %s: %q", e.url, resp.Status, msg)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return time.Duration(s) * time.Second, err
		}
		return 0, err
	}
	return -1, err
}

// Shutdown stops exporting (sdktrace.SpanExporter).
func (e *exporter) Shutdown(context.Context) error {
	e.stopped.Store(true)
	e.client.CloseIdleConnections()
	return nil
}
