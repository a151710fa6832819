// Package server is the gin application: the gateway's HTTP APIs in front
// of Amazon Bedrock. New builds the whole handler from its dependencies;
// routes.go lists every endpoint; errors.go is the one place where an error
// becomes an HTTP status and the error envelope of the request's API.
//
// A handler decodes its wire request, resolves the model, translates and
// calls Bedrock through bedrock.Service, and encodes the answer; it never
// uses the AWS SDK itself (TestNoBedrockSDK).
//
// The same handler is served by the long-running server and, through the
// ALB adapter or a Lambda Function URL, by the Lambda build.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/openbedrock/gateway/app/bedrock"
)

// Authenticator decides whether a bearer token is a valid API key. It
// returns the key's name (never the key), used in logs and metrics.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (name string, ok bool)
}

// Catalogue resolves the model ids clients send.
type Catalogue interface {
	// Lookup resolves id (a model id, profile id, ARN or configured name).
	Lookup(id string) (bedrock.Model, bool)
	// List returns the models to show in GET /models.
	List() []bedrock.Model
	// Suggest returns up to n listed ids close to id among the models keep
	// accepts, for "did you mean" errors.
	Suggest(id string, n int, keep func(bedrock.Model) bool) []string
	// Status says where the list came from; /health shows it.
	Status() bedrock.CatalogueStatus
}

// Options holds everything the application needs. Nil Auth means
// authentication is off (only for local use; cmd/gateway refuses to start so
// unless told to).
type Options struct {
	Logger      *slog.Logger
	Bedrock     bedrock.Runtime // *bedrockruntime.Client
	Catalogue   Catalogue
	Translator  *bedrock.Translator
	Auth        Authenticator
	RoutePrefix string // default /api/v1
	// BedrockPrefix is where Bedrock's own API is served; default /bedrock.
	BedrockPrefix string
	DefaultModel  string   // used when a request names no model
	Origins       []string // CORS allowed origins; empty means none
	MaxBodyBytes  int64    // request body limit; default 32 MiB
	Version       string
	Runtime       string // "server" or "lambda", shown in /health
	// Ready reports whether the instance should receive traffic (/ready).
	// Nil means always ready.
	Ready func() bool
	// Fallbacks are the Bedrock regions a call fails over to, in order
	// (FALLBACK_REGIONS), each with its client; Region is the first's.
	Fallbacks []bedrock.Region
	// ModelFallbacks maps a model (id or alias) to the models a call fails
	// over to after every region (MODEL_FALLBACKS, ParseModelFallbacks).
	ModelFallbacks map[string][]string
	// StreamRetries is how many times a stream whose first event is a
	// retryable Bedrock exception is reopened; default 2.
	StreamRetries int
	// StreamsEnd is closed when open streams must end (the shutdown
	// deadline): each gets an SSE error event rather than a cut connection.
	StreamsEnd <-chan struct{}
	// MaxConcurrent caps the requests waiting on Bedrock at once; beyond it
	// the gateway answers 503 at once. 0 means no cap.
	MaxConcurrent int
	// RequestTimeout bounds each API request, streams included (the server
	// has no write timeout, which would cut long streams). 0 means none.
	RequestTimeout time.Duration
	// ReadTimeout bounds the arrival of a request's body; default
	// DefaultReadTimeout. WriteTimeout bounds each write of a response, so
	// a client that stops reading is dropped; default DefaultWriteTimeout.
	ReadTimeout, WriteTimeout time.Duration

	// Region is the Bedrock region; Anthropic model names resolve to its
	// inference profiles (us., eu., apac., global. ...), and the Bedrock
	// API's model listings name it in their ARNs (us-east-1 when unset).
	Region string
	// PingInterval is how long an Anthropic stream may go without an event
	// before a ping is sent; default 10s.
	PingInterval time.Duration

	// DefaultEmbeddingModel is used when an embeddings request names no model.
	DefaultEmbeddingModel string
	// Defaults, when set, returns the chat and embedding defaults in effect
	// (the catalogue replaces a configured default Bedrock does not serve);
	// it takes precedence over DefaultModel and DefaultEmbeddingModel.
	Defaults func() (chat, embedding string)
	// HideLegacy leaves models Bedrock reports as LEGACY out of GET /models
	// (HIDE_LEGACY_MODELS); they still serve requests.
	HideLegacy bool
	// ModelAliases maps names clients send to catalogue ids (MODEL_ALIASES).
	ModelAliases map[string]string
	// AliasGPTModels sends gpt-* to DefaultModel and text-embedding-* to
	// DefaultEmbeddingModel, as the reference gateway does.
	AliasGPTModels bool
	// Embedder serves /embeddings; nil builds one on Bedrock, whose calls
	// are then measured like the chat calls.
	Embedder *bedrock.Embedder

	// Observer receives each request's measurements (metrics); nil
	// discards them. Without one, the access log has no cost.
	Observer Observer
	// LogBodies (LOG_BODIES) adds the request and response bodies, cut at
	// LogBodiesMaxBytes (default 4096), to the access log, and the prompt
	// and completion to the Bedrock spans when tracing. Off, no prompt or
	// completion is ever logged or traced.
	LogBodies         bool
	LogBodiesMaxBytes int

	// Tracing, when set, traces every request (a server span continuing
	// the client's traceparent) and every Bedrock call under it, and the
	// access log gains trace_id. Nil: no span, no middleware.
	Tracing trace.TracerProvider
	// Propagator reads the trace context of requests; default W3C
	// traceparent and tracestate.
	Propagator propagation.TextMapPropagator

	// AllowedClients (ALLOWED_CIDRS) are the client addresses served;
	// others get 403 before authentication. Empty means everyone.
	AllowedClients []netip.Prefix
	// TrustedProxies (TRUSTED_PROXIES) may set X-Forwarded-For: when the
	// peer is one, the client is the right-most entry that is not.
	TrustedProxies []netip.Prefix
	// KeyLimits (KEY_LIMITS) caps each key name's requests and tokens per
	// minute and requests at once, per instance; AnyKey covers the rest.
	KeyLimits map[string]KeyLimit
	// TrustForwardedFor treats every peer as a trusted proxy. Set it behind
	// an ALB in Lambda, where the request has no socket peer and the ALB's
	// own X-Forwarded-For entry (the last) is the client.
	TrustForwardedFor bool

	// ReasoningSecret (RESPONSES_SECRET) keys the sealing of Responses
	// reasoning encrypted_content; instances that share it open each
	// other's. Empty means a random secret per process.
	ReasoningSecret []byte
	// ResponseStore bounds the in-memory store of Responses (store: true).
	ResponseStore ResponseStoreOptions
}

// Server is the application state shared by the handlers.
type Server struct {
	opts     Options
	log      *slog.Logger
	instance string
	started  time.Time
	requests atomic.Int64
	slots    chan struct{} // nil: no concurrency cap
	// keyLimiter enforces KeyLimits on every route group; nil: none.
	keyLimiter *keyLimiter
	bedrock    *bedrock.Service
	// routeList names the API's routes for unknown URLs (apiRoutes).
	routeList string
	// tokenizer estimates count_tokens for models Bedrock cannot count.
	tokenizer *bedrock.Tokenizer

	responses *bedrock.ResponsesTranslator
	store     *responseStore
}

// New returns the gateway's HTTP handler.
func New(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RoutePrefix == "" {
		o.RoutePrefix = "/api/v1"
	}
	if o.BedrockPrefix == "" {
		o.BedrockPrefix = "/bedrock"
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.Translator == nil {
		o.Translator = &bedrock.Translator{Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{})}
	}
	if o.Runtime == "" {
		o.Runtime = "server"
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.LogBodiesMaxBytes <= 0 {
		o.LogBodiesMaxBytes = 4096
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 10 * time.Second
	}
	s := &Server{opts: o, log: o.Logger, instance: newInstanceID(), started: time.Now()}
	s.bedrock = bedrock.NewService(bedrock.ServiceOptions{Runtime: o.Bedrock, StreamRetries: o.StreamRetries,
		StreamsEnd: o.StreamsEnd, Observe: s.observeCall,
		Region: s.region(), Fallbacks: o.Fallbacks, OnFailover: s.logFailover, Tracer: o.Tracing, TraceContent: traceContent(o)})
	if s.opts.Embedder == nil {
		s.opts.Embedder = &bedrock.Embedder{Client: s.bedrock}
	}
	s.tokenizer = s.opts.Embedder.Tokenizer
	if s.tokenizer == nil {
		s.tokenizer = bedrock.NewTokenizer()
	}
	s.responses = &bedrock.ResponsesTranslator{Chat: s.opts.Translator, Sealer: bedrock.NewReasoningSealer(o.ReasoningSecret)}
	s.store = newResponseStore(o.ResponseStore)
	s.keyLimiter = newKeyLimiter(o.KeyLimits)
	if o.MaxConcurrent > 0 {
		s.slots = make(chan struct{}, o.MaxConcurrent)
	}
	e := gin.New()
	e.UseRawPath = true // model ids in paths may hold escaped '/' (ARNs)
	e.UnescapePathValues = true
	e.HandleMethodNotAllowed = true
	e.ForwardedByClientIP = false // clientAddress decides who the client is
	s.routes(e)
	return e
}
