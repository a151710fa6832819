package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
	"github.com/openbedrock/gateway/app/tracing"
)

// config is every setting of the gateway, read from the environment in one
// place. The README's configuration table lists the same variables.
type config struct {
	Host          string
	Port          int
	RoutePrefix   string
	BedrockPrefix string
	DefaultModel  string
	Region        string
	APIKey        string
	DisableAuth   bool
	// BedrockAPIKey (AWS_BEARER_TOKEN_BEDROCK) is a Bedrock API key the
	// gateway's own Bedrock calls send as a bearer token instead of SigV4.
	// It is a secret: never logged.
	BedrockAPIKey  string
	LogLevel       slog.Level
	LogFormat      string
	AllowedOrigins []string
	PromptCaching  bool
	// PromptCacheTTL (PROMPT_CACHE_TTL) is the TTL of the cache points
	// ENABLE_PROMPT_CACHING adds: 5m or 1h.
	PromptCacheTTL string
	// Guardrail (GUARDRAIL_ID, GUARDRAIL_VERSION, GUARDRAIL_TRACE,
	// GUARDRAIL_STREAM_MODE, GUARDRAIL_ALLOW_REQUEST_OVERRIDE) is applied to
	// chat calls when GUARDRAIL_ID is set.
	Guardrail    bedrock.Guardrail
	MaxBodyBytes int64

	ImageFetch             bool
	ImageFetchAllowPrivate bool
	ImageFetchMaxBytes     int64
	ImageFetchTimeout      time.Duration
	ImageFetchProxy        *url.URL // IMAGE_FETCH_PROXY; nil: direct, never the environment's proxy
	ImageMaxPerRequest     int      // IMAGE_MAX_PER_REQUEST
	ImageMaxTotalBytes     int64    // IMAGE_MAX_TOTAL_BYTES
	MaxInputTokens         int64    // MAX_INPUT_TOKENS: estimated input tokens times n, per request

	MaxIdleConnsPerHost int
	// MemoryLimit (MEMORY_LIMIT) is the container's memory limit in bytes,
	// which the Kubernetes manifest passes from limits.memory, by default a
	// Lambda function's memory size (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MiB);
	// 0: none. Go's soft limit is set from it unless GOMEMLIMIT is set
	// (memory.go).
	MemoryLimit        int64
	ShutdownDrainDelay time.Duration
	ShutdownTimeout    time.Duration
	MaxConcurrent      int
	RequestTimeout     time.Duration
	// BedrockIdleTimeout (BEDROCK_IDLE_TIMEOUT) ends a Bedrock answer that
	// sends nothing for this long (a stalled stream); 0 turns it off.
	BedrockIdleTimeout time.Duration
	ReadTimeout        time.Duration // READ_TIMEOUT: a request body's arrival
	WriteTimeout       time.Duration // WRITE_TIMEOUT: each write of a response
	// PprofAddr (PPROF_ADDR) serves net/http/pprof for profiling, e.g. in
	// the benchmark; empty (the default) means off. Server build only.
	PprofAddr string

	// API keys (app/auth): at most one source, see auth.Sources; API_KEY
	// is APIKey above.
	APIKeyParamName    string        // API_KEY_PARAM_NAME
	APIKeySecretARN    string        // API_KEY_SECRET_ARN
	SecretARNParameter string        // SECRET_ARN_PARAMETER
	APIKeyRefresh      time.Duration // API_KEY_REFRESH_INTERVAL
	APIKeyMinRefresh   time.Duration // API_KEY_MIN_REFRESH_INTERVAL

	// Network restrictions (app/server/network.go) and TLS (tls.go).
	AllowedCIDRs      []netip.Prefix             // ALLOWED_CIDRS
	TrustedProxies    []netip.Prefix             // TRUSTED_PROXIES
	TrustForwardedFor bool                       // TRUST_FORWARDED_FOR
	KeyLimits         map[string]server.KeyLimit // KEY_LIMITS
	TLSCertFile       string                     // TLS_CERT_FILE
	TLSKeyFile        string                     // TLS_KEY_FILE
	RedirectHTTPPort  int                        // REDIRECT_HTTP_PORT
	RedirectHost      string                     // REDIRECT_HOST: where plain HTTP is redirected
	PlainHTTP         string                     // PLAIN_HTTP: redirect or refuse

	// LambdaMode is alb (behind an ALB target group) or function-url
	// (a Function URL in RESPONSE_STREAM mode); Lambda build only.
	LambdaMode string

	modelConfig     // model catalogue, aliases and embeddings (models.go)
	observeConfig   // metrics, request logs and prices (observe.go)
	responsesConfig // the Responses API's reasoning secret and store (responses.go)
	failoverConfig  // fallback regions and models (failover.go)
	// Trace is the OpenTelemetry tracing the OTEL_* variables ask for (trace.go).
	Trace tracing.Config
}

// loadConfig reads the configuration; it returns an error for any value it
// cannot parse, naming the variable.
func loadConfig(getenv func(string) string) (config, error) {
	p := parser{getenv: getenv}
	c := config{
		Host:           getenv("HOST"),
		Port:           p.int("PORT", 8080),
		RoutePrefix:    p.str("API_ROUTE_PREFIX", "/api/v1"),
		BedrockPrefix:  p.str("BEDROCK_ROUTE_PREFIX", "/bedrock"),
		Region:         p.str("AWS_REGION", p.str("AWS_DEFAULT_REGION", "us-east-1")),
		APIKey:         strings.TrimSpace(getenv("API_KEY")),
		BedrockAPIKey:  strings.TrimSpace(getenv("AWS_BEARER_TOKEN_BEDROCK")),
		DisableAuth:    p.bool("DISABLE_AUTH", false),
		LogFormat:      p.str("LOG_FORMAT", "json"),
		AllowedOrigins: p.list("ALLOWED_ORIGINS", "*"),
		PromptCaching:  p.bool("ENABLE_PROMPT_CACHING", false),
		PromptCacheTTL: p.str("PROMPT_CACHE_TTL", "5m"),
		Guardrail: bedrock.Guardrail{ID: p.str("GUARDRAIL_ID", ""), Version: p.str("GUARDRAIL_VERSION", "DRAFT"),
			Trace: p.str("GUARDRAIL_TRACE", "enabled"), StreamMode: p.str("GUARDRAIL_STREAM_MODE", "sync"),
			AllowOverride: p.bool("GUARDRAIL_ALLOW_REQUEST_OVERRIDE", false)},
		MaxBodyBytes: int64(p.int("MAX_REQUEST_BYTES", 32<<20)),

		ImageFetch:             p.bool("IMAGE_FETCH", true),
		ImageFetchAllowPrivate: p.bool("IMAGE_FETCH_ALLOW_PRIVATE", false),
		ImageFetchMaxBytes:     int64(p.int("IMAGE_FETCH_MAX_BYTES", bedrock.DefaultMaxImageBytes)),
		ImageFetchTimeout:      p.duration("IMAGE_FETCH_TIMEOUT", 10*time.Second),
		ImageMaxPerRequest:     p.int("IMAGE_MAX_PER_REQUEST", bedrock.DefaultMaxImages),
		ImageMaxTotalBytes:     int64(p.int("IMAGE_MAX_TOTAL_BYTES", bedrock.DefaultMaxImageTotalBytes)),
		MaxInputTokens:         int64(p.int("MAX_INPUT_TOKENS", bedrock.DefaultMaxInputTokens)),

		MaxIdleConnsPerHost: p.int("BEDROCK_MAX_IDLE_CONNS", 256),
		MemoryLimit:         int64(p.int("MEMORY_LIMIT", p.int("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", 0)<<20)),
		ShutdownDrainDelay:  p.duration("SHUTDOWN_DRAIN_DELAY", 5*time.Second),
		ShutdownTimeout:     p.duration("SHUTDOWN_TIMEOUT", 25*time.Second),
		MaxConcurrent:       p.int("MAX_CONCURRENT_REQUESTS", 1024),
		RequestTimeout:      p.duration("REQUEST_TIMEOUT", 10*time.Minute),
		BedrockIdleTimeout:  p.duration("BEDROCK_IDLE_TIMEOUT", 2*time.Minute),
		ReadTimeout:         p.duration("READ_TIMEOUT", server.DefaultReadTimeout),
		WriteTimeout:        p.duration("WRITE_TIMEOUT", server.DefaultWriteTimeout),
		LambdaMode:          p.str("LAMBDA_MODE", "alb"),
		PprofAddr:           p.str("PPROF_ADDR", ""),
	}
	// Claude Haiku 4.5 through the region's profile, unless set.
	c.DefaultModel = p.str("DEFAULT_MODEL", bedrock.DefaultChatModel(c.Region))
	c.modelConfig = loadModelConfig(&p)
	c.observeConfig = loadObserveConfig(&p)
	c.responsesConfig = loadResponsesConfig(&p)
	c.failoverConfig = loadFailoverConfig(&p, c.Region)
	c.Trace = loadTraceConfig(&p, c.Region)
	c.LogLevel = slog.LevelInfo
	if p.bool("DEBUG", false) {
		c.LogLevel = slog.LevelDebug
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			p.errs = append(p.errs, fmt.Errorf("LOG_LEVEL: %q is not debug, info, warn or error", v))
		}
	}
	if g := c.Guardrail; g.Trace != "enabled" && g.Trace != "disabled" && g.Trace != "enabled_full" || g.StreamMode != "sync" && g.StreamMode != "async" {
		p.errs = append(p.errs, fmt.Errorf("GUARDRAIL_TRACE (%q) must be enabled, disabled or enabled_full and GUARDRAIL_STREAM_MODE (%q) sync or async", g.Trace, g.StreamMode))
	}
	if c.PromptCacheTTL != "5m" && c.PromptCacheTTL != "1h" {
		p.errs = append(p.errs, fmt.Errorf("PROMPT_CACHE_TTL: %q is not 5m or 1h", c.PromptCacheTTL))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		p.errs = append(p.errs, fmt.Errorf("LOG_FORMAT: %q is not json or text", c.LogFormat))
	}
	if !strings.HasPrefix(c.RoutePrefix, "/") {
		p.errs = append(p.errs, fmt.Errorf("API_ROUTE_PREFIX: %q must start with /", c.RoutePrefix))
	}
	c.RoutePrefix = strings.TrimSuffix(c.RoutePrefix, "/")
	c.BedrockPrefix = strings.TrimSuffix(c.BedrockPrefix, "/")
	switch {
	case !strings.HasPrefix(c.BedrockPrefix, "/"):
		p.errs = append(p.errs, fmt.Errorf("BEDROCK_ROUTE_PREFIX: %q must start with / and name a path", c.BedrockPrefix))
	case within(c.BedrockPrefix, c.RoutePrefix) || within(c.RoutePrefix, c.BedrockPrefix):
		p.errs = append(p.errs, fmt.Errorf("BEDROCK_ROUTE_PREFIX: %q overlaps API_ROUTE_PREFIX %q", c.BedrockPrefix, c.RoutePrefix))
	}
	if c.LambdaMode != "alb" && c.LambdaMode != "function-url" {
		p.errs = append(p.errs, fmt.Errorf("LAMBDA_MODE: %q is not alb or function-url", c.LambdaMode))
	}
	if v := p.str("IMAGE_FETCH_PROXY", ""); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.errs = append(p.errs, fmt.Errorf("IMAGE_FETCH_PROXY: %q is not an http(s) proxy URL", v))
		}
		c.ImageFetchProxy = u
	}
	for name, v := range map[string]int64{"IMAGE_FETCH_MAX_BYTES": c.ImageFetchMaxBytes, "IMAGE_MAX_PER_REQUEST": int64(c.ImageMaxPerRequest), "IMAGE_MAX_TOTAL_BYTES": c.ImageMaxTotalBytes, "MAX_INPUT_TOKENS": c.MaxInputTokens} {
		if v < 1 {
			p.errs = append(p.errs, fmt.Errorf("%s: %d must be at least 1", name, v))
		}
	}
	if c.Port < 0 || c.Port > 65535 {
		p.errs = append(p.errs, fmt.Errorf("PORT: %d is out of range", c.Port))
	}
	loadAuthConfig(&c, &p)
	if len(p.errs) > 0 {
		return config{}, fmt.Errorf("configuration: %w", joinErrs(p.errs))
	}
	return c, nil
}

// parser reads typed values and collects every error.
type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) int(name string, def int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not a whole number", name, v))
		return def
	}
	return n
}

// bool parses like strconv.ParseBool plus yes/no and on/off. Unlike the
// reference gateway, "0" and "no" mean false.
func (p *parser) bool(name string, def bool) bool {
	v := strings.ToLower(strings.TrimSpace(p.getenv(name)))
	switch v {
	case "":
		return def
	case "1", "t", "true", "yes", "y", "on":
		return true
	case "0", "f", "false", "no", "n", "off":
		return false
	}
	p.errs = append(p.errs, fmt.Errorf("%s: %q is not a boolean (true/false)", name, v))
	return def
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not a duration like 30s or 5m", name, v))
		return def
	}
	return d
}

func (p *parser) list(name, def string) []string {
	var out []string
	for _, s := range strings.Split(p.str(name, def), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func joinErrs(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// loadAuthConfig reads the API-key, network and TLS settings.
func loadAuthConfig(c *config, p *parser) {
	c.APIKeyParamName = p.str("API_KEY_PARAM_NAME", "")
	c.APIKeySecretARN = p.str("API_KEY_SECRET_ARN", "")
	c.SecretARNParameter = p.str("SECRET_ARN_PARAMETER", "")
	c.APIKeyRefresh = p.duration("API_KEY_REFRESH_INTERVAL", 5*time.Minute)
	c.APIKeyMinRefresh = p.duration("API_KEY_MIN_REFRESH_INTERVAL", time.Minute)
	switch err := c.keySources().Validate(); {
	case errors.Is(err, auth.ErrNoSource):
		if !c.DisableAuth {
			p.errs = append(p.errs, fmt.Errorf("%w; or DISABLE_AUTH=true to run without authentication (local use only)", err))
		}
	case err != nil:
		p.errs = append(p.errs, err)
	case c.DisableAuth:
		p.errs = append(p.errs, fmt.Errorf("DISABLE_AUTH=true conflicts with %v: unset one", c.keySources()))
	}

	var err error
	if c.AllowedCIDRs, err = server.ParseCIDRs(p.list("ALLOWED_CIDRS", "")); err != nil {
		p.errs = append(p.errs, fmt.Errorf("ALLOWED_CIDRS: %w", err))
	}
	if c.TrustedProxies, err = server.ParseCIDRs(p.list("TRUSTED_PROXIES", "")); err != nil {
		p.errs = append(p.errs, fmt.Errorf("TRUSTED_PROXIES: %w", err))
	}
	if c.KeyLimits, err = server.ParseKeyLimits(p.str("KEY_LIMITS", "")); err != nil {
		p.errs = append(p.errs, fmt.Errorf("KEY_LIMITS: %w", err))
	}
	// Behind an ALB, Lambda requests have no socket peer: the ALB's
	// X-Forwarded-For entry is the client.
	c.TrustForwardedFor = p.bool("TRUST_FORWARDED_FOR", runtimeName == "lambda" && c.LambdaMode == "alb")

	c.TLSCertFile, c.TLSKeyFile = p.str("TLS_CERT_FILE", ""), p.str("TLS_KEY_FILE", "")
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		p.errs = append(p.errs, errors.New("TLS_CERT_FILE and TLS_KEY_FILE: set both or neither"))
	}
	c.RedirectHTTPPort = p.int("REDIRECT_HTTP_PORT", 0)
	c.RedirectHost = p.str("REDIRECT_HOST", "")
	c.PlainHTTP = p.str("PLAIN_HTTP", "redirect")
	if c.PlainHTTP != "redirect" && c.PlainHTTP != "refuse" {
		p.errs = append(p.errs, fmt.Errorf("PLAIN_HTTP: %q is not redirect or refuse", c.PlainHTTP))
	}
	if strings.ContainsAny(c.RedirectHost, "/?#@ ") {
		p.errs = append(p.errs, fmt.Errorf("REDIRECT_HOST: %q is not a host name", c.RedirectHost))
	}
	switch {
	case c.RedirectHTTPPort < 0 || c.RedirectHTTPPort > 65535:
		p.errs = append(p.errs, fmt.Errorf("REDIRECT_HTTP_PORT: %d is out of range", c.RedirectHTTPPort))
	case c.RedirectHTTPPort != 0 && c.TLSCertFile == "":
		p.errs = append(p.errs, errors.New("REDIRECT_HTTP_PORT: redirects to HTTPS need TLS_CERT_FILE and TLS_KEY_FILE"))
	case c.RedirectHTTPPort != 0 && c.RedirectHTTPPort == c.Port:
		p.errs = append(p.errs, errors.New("REDIRECT_HTTP_PORT: must differ from PORT"))
	}
}

// keySources is where the API keys come from.
func (c config) keySources() auth.Sources {
	return auth.Sources{APIKey: c.APIKey, ParamName: c.APIKeyParamName, SecretARN: c.APIKeySecretARN, SecretARNParameter: c.SecretARNParameter}
}

// within reports whether path p is prefix or under it; nothing is within
// the empty prefix (the routes at the root).
func within(p, prefix string) bool {
	return prefix != "" && (p == prefix || strings.HasPrefix(p, prefix+"/"))
}
