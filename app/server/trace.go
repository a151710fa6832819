package server

import (
	"strconv"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the HTTP server spans.
const TracerName = "github.com/openbedrock/gateway/app/server"

// traceRequests starts each request's server span, continuing the trace of
// a client's W3C traceparent (and tracestate). The span is named after the
// route template (POST /api/v1/chat/completions), never the raw path, whose
// model ids and response ids would make every name unique.
func (s *Server) traceRequests() gin.HandlerFunc {
	tracer := s.opts.Tracing.Tracer(TracerName)
	prop := s.opts.Propagator
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	return func(c *gin.Context) {
		r := c.Request
		ctx := prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		route, name := c.FullPath(), r.Method
		if route != "" {
			name += " " + route
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
			attribute.String("url.scheme", scheme),
			attribute.String("network.protocol.version", strconv.Itoa(r.ProtoMajor)+"."+strconv.Itoa(r.ProtoMinor)),
			attribute.String("user_agent.original", r.UserAgent()),
		))
		if route != "" {
			span.SetAttributes(attribute.String("http.route", route))
		}
		defer span.End()
		c.Request = r.WithContext(ctx)
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status),
			attribute.String("client.address", c.ClientIP()),
			attribute.String("gateway.request_id", c.GetString(ctxRequestID)))
		if key := c.GetString(ctxKeyName); key != "" {
			span.SetAttributes(attribute.String("gateway.key_name", key))
		}
		if code := c.GetString(ctxError); code != "" {
			span.SetAttributes(attribute.String("gateway.error", code))
		}
		if status >= 500 {
			span.SetAttributes(attribute.String("error.type", strconv.Itoa(status)))
			span.SetStatus(codes.Error, "")
		}
	}
}

// traceID is the request's trace id for the access log, "" when tracing is off.
func traceID(c *gin.Context) string {
	if sc := trace.SpanContextFromContext(c.Request.Context()); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}

// traceContent is how much of each prompt and completion the Bedrock spans
// may carry: as much as the access log (LogBodies), else nothing.
func traceContent(o Options) int {
	if o.LogBodies {
		return o.LogBodiesMaxBytes
	}
	return 0
}
