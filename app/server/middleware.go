package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/openai"
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

// accessLog writes one line per request. It never logs bodies or keys.
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		if c.Request.Context().Err() != nil && status == http.StatusOK && c.Writer.Size() <= 0 {
			status = statusClientClosed
		}
		s.log.LogAttrs(c.Request.Context(), levelFor(status), "request",
			slog.String("request_id", c.GetString(ctxRequestID)),
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.Int("status", status),
			slog.String("model", c.GetString(ctxModel)),
			slog.String("key", c.GetString(ctxKeyName)),
			slog.String("error", c.GetString(ctxError)),
			slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("client", c.ClientIP()),
		)
	}
}

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

// cors applies ALLOWED_ORIGINS. A wildcard never allows credentials.
func (s *Server) cors() gin.HandlerFunc {
	if len(s.opts.Origins) == 0 {
		return func(c *gin.Context) { c.Next() }
	}
	cfg := cors.Config{
		AllowMethods:  []string{"GET", "POST", "OPTIONS"},
		AllowHeaders:  []string{"Authorization", "Content-Type", "X-Request-Id", "OpenAI-Organization", "OpenAI-Project", "X-Stainless-*"},
		ExposeHeaders: []string{"X-Request-Id", "Retry-After"},
		MaxAge:        10 * time.Minute,
	}
	if len(s.opts.Origins) == 1 && s.opts.Origins[0] == "*" {
		cfg.AllowAllOrigins = true
	} else {
		cfg.AllowOrigins = s.opts.Origins
		cfg.AllowCredentials = true
		cfg.AllowWildcard = true
	}
	cfg.AllowHeaders = []string{"*"}
	return cors.New(cfg)
}

// limitBody caps request bodies.
func (s *Server) limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.opts.MaxBodyBytes)
		c.Next()
	}
}

// authenticate checks the bearer key.
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
			c.Header("WWW-Authenticate", `Bearer realm="bedrock-gateway"`)
			s.writeError(c, errMissingKey)
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
	s.writeError(c, &apiError{Status: http.StatusNotFound, Type: openai.TypeInvalidRequest, Code: "unknown_url",
		Message: fmt.Sprintf("Unknown request URL: %s %s. The API lives under %s.", c.Request.Method, c.Request.URL.Path, s.opts.RoutePrefix)})
}

func (s *Server) handleMethodNotAllowed(c *gin.Context) {
	s.writeError(c, &apiError{Status: http.StatusMethodNotAllowed, Type: openai.TypeInvalidRequest, Code: "method_not_allowed",
		Message: fmt.Sprintf("Method %s is not allowed on %s.", c.Request.Method, c.Request.URL.Path)})
}

func levelFor(status int) slog.Level {
	if status >= 500 && status != statusClientClosed {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// limitConcurrency answers 503 at once when MaxConcurrent requests are
// already waiting on Bedrock, rather than queueing without bound.
func (s *Server) limitConcurrency() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.slots == nil {
			c.Next()
			return
		}
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
			c.Next()
		default:
			s.writeError(c, &apiError{Status: http.StatusServiceUnavailable, Type: openai.TypeUnavailable, Code: "overloaded", RetryAfter: 1,
				Message: fmt.Sprintf("The gateway is at its limit of %d concurrent requests; retry shortly.", cap(s.slots))})
		}
	}
}
