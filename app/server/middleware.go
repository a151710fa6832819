package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/metrics"
)

// Keys of values handlers store in the gin context for the access log.
const (
	ctxRequestID = "request_id"
	ctxKeyName   = "key_name"
	ctxModel     = "model"
	ctxError     = "error_code"
)

func newInstanceID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// requestID honours a sane incoming X-Request-Id or makes one, and echoes it.
func (s *Server) requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if !validRequestID(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(ctxRequestID, id)
		c.Header("X-Request-Id", id)
		if anthropicAPI(c) {
			c.Header("request-id", id) // where Anthropic's clients read it
		}
		c.Next()
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

// accessLog writes one JSON line per request and reports its measurements
// to the Observer. It never logs keys; bodies only with LogBodies, capped.
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		ex := &metrics.Exchange{Start: time.Now(), RequestID: c.GetString(ctxRequestID), Method: c.Request.Method}
		c.Set(ctxExchange, ex)
		var reqBody, respBody *bodyCapture
		if s.opts.LogBodies {
			reqBody, respBody = &bodyCapture{max: s.opts.LogBodiesMaxBytes}, &bodyCapture{max: s.opts.LogBodiesMaxBytes}
			c.Request.Body = &captureReader{ReadCloser: c.Request.Body, cap: reqBody}
			c.Writer = &captureWriter{ResponseWriter: c.Writer, cap: respBody}
		}
		s.opts.Observer.Begin(ex)
		c.Next()
		status := c.Writer.Status()
		if c.Request.Context().Err() != nil && status == http.StatusOK && c.Writer.Size() <= 0 {
			status = statusClientClosed
		}
		ex.Route, ex.Status, ex.Key, ex.Duration = c.FullPath(), status, c.GetString(ctxKeyName), time.Since(ex.Start)
		if ex.Overhead == 0 && ex.Upstream > 0 {
			ex.Overhead = max(ex.Duration-ex.Upstream, 0)
		}
		s.opts.Observer.End(ex)
		attrs := [...]slog.Attr{
			slog.String("request_id", ex.RequestID),
			slog.String("bedrock_request_id", ex.BedrockRequestID()),
			slog.String("method", ex.Method),
			slog.String("route", ex.Route),
			slog.Int("status", status),
			slog.String("model", ex.Model),
			slog.String("region", ex.Region),
			slog.Bool("failed_over", ex.FailedOver),
			slog.String("key", ex.Key),
			slog.String("error", c.GetString(ctxError)),
			slog.String("bedrock_error", ex.ErrorType()),
			slog.Int64("input_tokens", ex.Usage.Input),
			slog.Int64("output_tokens", ex.Usage.Output),
			slog.Int64("cache_read_tokens", ex.Usage.CacheRead),
			slog.Int64("cache_write_tokens", ex.Usage.CacheWrite),
			slog.Int64("cache_write_1h_tokens", ex.Usage.CacheWrite1h),
			slog.String("service_tier", ex.ServiceTier),
			slog.Float64("cost_usd", ex.Cost),
			slog.Bool("cost_known", ex.CostKnown),
			slog.Float64("latency_ms", millis(ex.Duration)),
			slog.Float64("upstream_ms", millis(ex.Upstream)),
			slog.Float64("overhead_ms", millis(ex.Overhead)),
			slog.Float64("ttft_ms", millis(ex.TTFT)),
			slog.Int("retries", ex.Retries()),
			slog.Bool("stream", ex.Stream),
			slog.String("client", c.ClientIP()),
		}
		line := attrs[:]
		if s.opts.Tracing != nil {
			line = append(line, slog.String("trace_id", traceID(c)))
		}
		if reqBody == nil {
			s.log.LogAttrs(c.Request.Context(), levelFor(status), "request", line...)
			return
		}
		s.log.LogAttrs(c.Request.Context(), levelFor(status), "request", append(line,
			slog.String("request_body", reqBody.buf.String()), slog.Bool("request_body_truncated", reqBody.truncated),
			slog.String("response_body", respBody.buf.String()), slog.Bool("response_body_truncated", respBody.truncated))...)
	}
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// countRequests numbers the requests this instance served, so /health can
// tell a cold instance's first request from later ones.
func (s *Server) countRequests() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set("request_number", s.requests.Add(1))
		c.Next()
	}
}

// recoverPanics turns a panic into a 500 envelope and a log line.
func (s *Server) recoverPanics() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		s.log.ErrorContext(c.Request.Context(), "panic while serving", "panic", fmt.Sprint(rec), "route", c.FullPath())
		if !c.Writer.Written() {
			s.writeError(c, fmt.Errorf("panic: %v", rec))
		}
		c.Abort()
	})
}

// limitBody caps request bodies.
func (s *Server) limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.opts.MaxBodyBytes)
		c.Next()
	}
}

// anthropicAPI reports whether a request speaks the Anthropic API: one of
// its routes, or any request with the anthropic-version header Anthropic's
// clients always send (GET /models answers them in Anthropic's format).
func anthropicAPI(c *gin.Context) bool {
	return c.GetHeader("anthropic-version") != "" || c.GetBool(ctxAnthropicRoute)
}

// ctxAnthropicRoute marks the requests of the Anthropic API's routes.
const ctxAnthropicRoute = "anthropic_route"

// anthropicRoute marks a request as the Anthropic API's: its errors use
// Anthropic's envelope, and it carries the request-id header.
func (s *Server) anthropicRoute() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(ctxEnvelope, envelope(anthropicEnvelope))
		c.Set(ctxAnthropicRoute, true)
		c.Header("request-id", c.GetString(ctxRequestID))
		c.Next()
	}
}

// authenticate checks the API key: a bearer token, or (as Anthropic's
// clients send it) the x-api-key header.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.opts.Auth == nil {
			c.Next()
			return
		}
		h := c.GetHeader("Authorization")
		scheme, token, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			token = strings.TrimSpace(c.GetHeader("X-Api-Key"))
		}
		if token == "" {
			c.Header("WWW-Authenticate", `Bearer realm="bedrock-gateway"`)
			if anthropicAPI(c) {
				s.writeError(c, errMissingKeyAnthropic)
			} else {
				s.writeError(c, errMissingKey)
			}
			return
		}
		name, ok := s.opts.Auth.Authenticate(c.Request.Context(), token)
		if !ok {
			c.Header("WWW-Authenticate", `Bearer realm="bedrock-gateway", error="invalid_token"`)
			s.writeError(c, errInvalidKey)
			return
		}
		c.Set(ctxKeyName, name)
		c.Next()
	}
}

func (s *Server) handleNotFound(c *gin.Context) {
	where := "The API lives under " + s.opts.RoutePrefix
	if p := c.Request.URL.Path; p == s.opts.RoutePrefix || strings.HasPrefix(p, s.opts.RoutePrefix+"/") {
		where = "The routes are"
	}
	s.writeError(c, newError(kindNotFound, "unknown_url", fmt.Sprintf("Unknown request URL: %s %s. %s: %s.", c.Request.Method, c.Request.URL.Path, where, s.routeList)))
}

func (s *Server) handleMethodNotAllowed(c *gin.Context) {
	s.writeError(c, newError(kindMethodNotAllowed, "method_not_allowed", fmt.Sprintf("Method %s is not allowed on %s.", c.Request.Method, c.Request.URL.Path)))
}

func levelFor(status int) slog.Level {
	if status >= 500 && status != statusClientClosed {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// limitConcurrency answers 503 at once when MaxConcurrent requests are
// already waiting on Bedrock, rather than queueing without bound. It runs
// after the body has been read (readBody), and a slot is given back when
// the handler returns or the request's context ends (its deadline, or the
// client going away), whichever comes first.
func (s *Server) limitConcurrency() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.slots == nil {
			c.Next()
			return
		}
		select {
		case s.slots <- struct{}{}:
			release := sync.OnceFunc(func() { <-s.slots })
			stop := context.AfterFunc(c.Request.Context(), release)
			defer func() {
				stop()
				release()
			}()
			c.Next()
		default:
			e := newError(kindUnavailable, "overloaded", fmt.Sprintf("The gateway is at its limit of %d concurrent requests; retry shortly.", cap(s.slots)))
			e.RetryAfter = 1
			s.writeError(c, e)
		}
	}
}

// deadline bounds a request's time, Bedrock call included.
func (s *Server) deadline() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.opts.RequestTimeout <= 0 {
			c.Next()
			return
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), s.opts.RequestTimeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
