// Package tracing sets up the gateway's OpenTelemetry traces: the SDK's
// tracer provider and batch processor, a W3C trace-context propagator, and
// an OTLP/HTTP exporter of its own (otlp.go, exporter.go).
//
// # Why an exporter of its own
//
// The official otlptracehttp exporter links the whole gRPC stack (its
// configuration and the OTLP collector package import google.golang.org/grpc
// and grpc-gateway), tripling a small binary. The OTLP/HTTP protocol is one
// POST of a protobuf message, which this package encodes with protowire,
// already linked by the AWS SDK. The tests decode what it sends with the
// OpenTelemetry Collector's own OTLP receiver.
//
// # Off by default
//
// With tracing off, New returns a Tracing whose Provider is nil: the
// packages that trace (app/server, app/bedrock, app/auth) add no middleware
// and start no span, and no exporter or goroutine exists.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config is what the gateway's configuration decides about traces.
type Config struct {
	// Enabled turns tracing on.
	Enabled bool
	// URL is where spans are POSTed (http://localhost:4318/v1/traces by
	// default, the collector a Lambda extension runs).
	URL string
	// Headers are sent with every export (a vendor's API key).
	Headers map[string]string
	// Timeout bounds one export, retries included.
	Timeout time.Duration
	// Gzip compresses the exports.
	Gzip bool
	// Resource describes the gateway: service.name and the attributes of
	// OTEL_RESOURCE_ATTRIBUTES.
	Resource []attribute.KeyValue
}

// Tracing is the gateway's tracer provider, nil Provider when off.
type Tracing struct {
	// Provider gives the packages their tracers; nil when tracing is off.
	Provider trace.TracerProvider
	// Propagator reads W3C traceparent and tracestate from requests.
	Propagator propagation.TextMapPropagator

	sdk *sdktrace.TracerProvider
}

// New builds the tracer provider Config asks for. The SDK reads the
// sampler (OTEL_TRACES_SAMPLER) and batch settings (OTEL_BSP_*) from the
// process environment itself. Export failures are logged to log.
func New(c Config, log *slog.Logger) (*Tracing, error) {
	if !c.Enabled {
		return &Tracing{}, nil
	}
	exp, err := newExporter(c, &http.Client{})
	if err != nil {
		return nil, err
	}
	res := resource.NewSchemaless(append([]attribute.KeyValue{
		attribute.String("telemetry.sdk.name", "opentelemetry"),
		attribute.String("telemetry.sdk.language", "go"),
		attribute.String("telemetry.sdk.version", sdk.Version()),
	}, c.Resource...)...)
	// The batch processor reports failed exports to the global handler.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("trace export failed", "err", err)
	}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{Provider: tp, Propagator: propagation.TraceContext{}, sdk: tp}, nil
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t.sdk != nil }

// Flush exports the spans that have ended, before Lambda freezes the
// process at the end of an invocation.
func (t *Tracing) Flush(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	if err := t.sdk.ForceFlush(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

// Shutdown exports what is left and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shut traces down: %w", err)
	}
	return nil
}
