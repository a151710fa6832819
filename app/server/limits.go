package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// KeyLimit is what requests under one key name may use, per gateway
// instance (replica): requests and tokens (input plus output) per minute
// and requests at once. A zero field is no limit.
type KeyLimit struct {
	RequestsPerMinute int
	TokensPerMinute   int64
	Concurrent        int
}

// AnyKey in KeyLimits applies to every key name not listed.
const AnyKey = "*"

// ParseKeyLimits reads KEY_LIMITS: entries "name:rpm=60,tpm=100000,concurrent=4"
// separated by ";", where name is a key's name (as in the key source) or *.
func ParseKeyLimits(s string) (map[string]KeyLimit, error) {
	out := map[string]KeyLimit{}
	for _, entry := range strings.Split(s, ";") {
		if entry = strings.TrimSpace(entry); entry == "" {
			continue
		}
		name, spec, ok := strings.Cut(entry, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not name:rpm=N,tpm=N,concurrent=N", entry)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%q is listed twice", name)
		}
		var l KeyLimit
		for _, kv := range strings.Split(spec, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 1 || n > math.MaxInt32 {
				return nil, fmt.Errorf("%s: %q is not a limit like rpm=60 (a whole number from 1)", name, kv)
			}
			switch strings.TrimSpace(k) {
			case "rpm":
				l.RequestsPerMinute = int(n)
			case "tpm":
				l.TokensPerMinute = n
			case "concurrent":
				l.Concurrent = int(n)
			default:
				return nil, fmt.Errorf("%s: %q is not rpm, tpm or concurrent", name, k)
			}
		}
		out[name] = l
	}
	return out, nil
}

// keyLimiter counts each key name's use in fixed one-minute windows. Key
// names come from the key source, so the map stays as small as it.
type keyLimiter struct {
	limits map[string]KeyLimit
	now    func() time.Time
	mu     sync.Mutex
	use    map[string]*keyUse
}

type keyUse struct {
	start    time.Time // of the current window
	requests int
	tokens   int64
	active   int
}

// newKeyLimiter returns the limiter of limits; nil when there are none.
func newKeyLimiter(limits map[string]KeyLimit) *keyLimiter {
	if len(limits) == 0 {
		return nil
	}
	return &keyLimiter{limits: limits, now: time.Now, use: map[string]*keyUse{}}
}

// limitKeys answers 429 rate_limit_exceeded with Retry-After when a key is
// over its KeyLimit (a ThrottlingException on Bedrock's API), and sets the
// x-ratelimit-* headers OpenAI clients read on every response of a limited
// key. Every route group shares the server's one limiter, so a key's
// budget is the same whichever API it calls. Tokens are counted when a
// request ends, so a request that starts under the token limit may end
// over it; the next one waits for the window to turn.
func (s *Server) limitKeys() gin.HandlerFunc {
	l := s.keyLimiter
	if l == nil {
		return func(c *gin.Context) { c.Next() }
	}
	return func(c *gin.Context) {
		name := c.GetString(ctxKeyName)
		lim, ok := l.limits[name]
		if !ok {
			lim, ok = l.limits[AnyKey]
		}
		if !ok {
			c.Next()
			return
		}
		now := l.now()
		l.mu.Lock()
		u := l.use[name]
		if u == nil {
			u = &keyUse{start: now}
			l.use[name] = u
		}
		if now.Sub(u.start) >= time.Minute {
			u.start, u.requests, u.tokens = now, 0, 0
		}
		reset := u.start.Add(time.Minute).Sub(now)
		var over string
		switch {
		case lim.RequestsPerMinute > 0 && u.requests >= lim.RequestsPerMinute:
			over = fmt.Sprintf("%d requests per minute", lim.RequestsPerMinute)
		case lim.TokensPerMinute > 0 && u.tokens >= lim.TokensPerMinute:
			over = fmt.Sprintf("%d tokens per minute", lim.TokensPerMinute)
		case lim.Concurrent > 0 && u.active >= lim.Concurrent:
			over = fmt.Sprintf("%d requests at once", lim.Concurrent)
		default:
			u.requests++
			u.active++
		}
		requests, tokens := u.requests, u.tokens
		l.mu.Unlock()

		h := c.Writer.Header()
		resetText := (time.Duration(math.Ceil(reset.Seconds())) * time.Second).String()
		if lim.RequestsPerMinute > 0 {
			h.Set("x-ratelimit-limit-requests", strconv.Itoa(lim.RequestsPerMinute))
			h.Set("x-ratelimit-remaining-requests", strconv.Itoa(max(lim.RequestsPerMinute-requests, 0)))
			h.Set("x-ratelimit-reset-requests", resetText)
		}
		if lim.TokensPerMinute > 0 {
			h.Set("x-ratelimit-limit-tokens", strconv.FormatInt(lim.TokensPerMinute, 10))
			h.Set("x-ratelimit-remaining-tokens", strconv.FormatInt(max(lim.TokensPerMinute-tokens, 0), 10))
			h.Set("x-ratelimit-reset-tokens", resetText)
		}
		if over != "" {
			e := newError(kindRateLimited, "rate_limit_exceeded",
				fmt.Sprintf("The API key %q is over its limit of %s on this gateway instance; retry after the Retry-After seconds.", name, over))
			e.RetryAfter = int(math.Ceil(reset.Seconds()))
			if strings.HasSuffix(over, "at once") {
				e.RetryAfter = 1
			}
			s.writeError(c, e)
			return
		}
		defer func() {
			var used int64
			if ex := exchange(c); ex != nil {
				used = ex.Usage.Input + ex.Usage.Output + ex.Usage.CacheRead + ex.Usage.CacheWrite
			}
			l.mu.Lock()
			u.active--
			u.tokens += used
			l.mu.Unlock()
		}()
		c.Next()
	}
}
