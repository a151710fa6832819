package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// corsRequestHeaders are the request headers a browser may send: the ones
// the OpenAI and Anthropic SDKs set, by exact lower-case name. Headers that
// start with corsHeaderPrefix (the OpenAI SDKs' x-stainless-os, -arch,
// -retry-count, ...) are allowed too. Allow-Headers is never "*": browsers
// do not let "*" cover Authorization, and refuse it with credentials.
var corsRequestHeaders = map[string]bool{
	"authorization": true, "content-type": true, "x-request-id": true,
	"openai-organization": true, "openai-project": true, "openai-beta": true,
	"anthropic-version": true, "anthropic-beta": true, "anthropic-dangerous-direct-browser-access": true,
}

const corsHeaderPrefix = "x-stainless-"

// corsExposed are the response headers browser code may read.
var corsExposed = strings.Join([]string{"X-Request-Id", "Retry-After", OverheadHeader, RegionHeader, ModelHeader,
	"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
	"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"}, ", ")

// cors applies ALLOWED_ORIGINS. "*" answers any origin with a literal "*"
// and never allows credentials; listed origins (one "*" each may stand for
// a part, as in https://*.example.com) are echoed and may send credentials.
// An origin that is not allowed gets a 403 envelope saying so.
func (s *Server) cors() gin.HandlerFunc {
	if len(s.opts.Origins) == 0 {
		return func(c *gin.Context) { c.Next() }
	}
	allowAll := len(s.opts.Origins) == 1 && s.opts.Origins[0] == "*"
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || origin == "http://"+c.Request.Host || origin == "https://"+c.Request.Host {
			c.Next() // not a cross-origin request
			return
		}
		h := c.Writer.Header()
		if !allowAll {
			h.Add("Vary", "Origin")
			if !originAllowed(s.opts.Origins, origin) {
				s.writeError(c, newError(kindForbidden, "origin_not_allowed",
					fmt.Sprintf("Browser requests from the origin %q are not allowed by this gateway (ALLOWED_ORIGINS).", origin)))
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		} else {
			h.Set("Access-Control-Allow-Origin", "*")
		}
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			if allowed := corsAllowedHeaders(c.GetHeader("Access-Control-Request-Headers")); allowed != "" {
				h.Set("Access-Control-Allow-Headers", allowed)
			}
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExposed)
		c.Next()
	}
}

// originAllowed matches origin against the listed origins.
func originAllowed(list []string, origin string) bool {
	for _, o := range list {
		if o == origin {
			return true
		}
		if pre, suf, ok := strings.Cut(o, "*"); ok && len(origin) > len(pre)+len(suf) &&
			strings.HasPrefix(origin, pre) && strings.HasSuffix(origin, suf) {
			return true
		}
	}
	return false
}

// corsAllowedHeaders keeps the requested headers that are allowed, so a
// preflight answer names exactly those.
func corsAllowedHeaders(requested string) string {
	var out []string
	for _, h := range strings.Split(requested, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if corsRequestHeaders[h] || strings.HasPrefix(h, corsHeaderPrefix) && len(h) > len(corsHeaderPrefix) {
			out = append(out, h)
		}
	}
	return strings.Join(out, ", ")
}
