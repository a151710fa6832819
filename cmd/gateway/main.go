// Command gateway serves an OpenAI-compatible API backed by Amazon Bedrock.
//
// Built plainly it is a long-running HTTP server (containers, Kubernetes);
// built with -tags lambda it is an AWS Lambda function behind an ALB. The
// application is the same; only serve differs. `gateway healthcheck` probes
// a running server's /health for container health checks.
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/auth/bearer"
	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/trace"

	"github.com/openbedrock/gateway/app/auth"
	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
	"github.com/openbedrock/gateway/app/tracing"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

// run builds everything once, then serves until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 1 && args[1] == "healthcheck" {
		return healthcheck(ctx, args[2:], getenv)
	}
	initStart := time.Now()
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stdout)
	softLimit := setMemoryLimit(cfg, getenv)
	gin.SetMode(gin.ReleaseMode) // gin's debug mode prints every route and warns on stdout
	tr, err := tracing.New(cfg.Trace, logger)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(sctx); err != nil {
			logger.Warn("traces not all exported", "err", err)
		}
	}()

	awsCfg, err := loadAWS(ctx, cfg)
	if err != nil {
		return err
	}
	bedrockCfg := bedrockAuth(awsCfg, cfg.BedrockAPIKey)
	runtimeClient := bedrockruntime.NewFromConfig(bedrockCfg, bedrock.Lean("openbedrock-gateway/"+version))

	authn, err := newAuthenticator(ctx, cfg, awsCfg, logger, tr.Provider)
	if err != nil {
		return err
	}

	catalogue, catalogueLoaded, defaults := newCatalogue(ctx, cfg, bedrockCfg, logger, tr.Provider)
	obs, err := newObservability(cfg, catalogue, authn, stdout, logger)
	if err != nil {
		return err
	}
	defer obs.close()
	lc := &lifecycle{streamsEnd: make(chan struct{}), catalogueLoaded: catalogueLoaded, flush: tr.Flush}
	handler := server.New(server.Options{
		Logger:         logger,
		Bedrock:        runtimeClient,
		Catalogue:      catalogue,
		Auth:           authn,
		RoutePrefix:    cfg.RoutePrefix,
		BedrockPrefix:  cfg.BedrockPrefix,
		DefaultModel:   cfg.DefaultModel,
		Origins:        cfg.AllowedOrigins,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		Version:        version,
		Runtime:        runtimeName,
		Ready:          lc.isReady,
		StreamsEnd:     lc.streamsEnd,
		MaxConcurrent:  cfg.MaxConcurrent,
		RequestTimeout: cfg.RequestTimeout,
		ReadTimeout:    cfg.ReadTimeout,
		WriteTimeout:   cfg.WriteTimeout,
		Translator: &bedrock.Translator{
			PromptCaching:  cfg.PromptCaching,
			PromptCacheTTL: cfg.PromptCacheTTL,
			MaxInputTokens: cfg.MaxInputTokens,
			ServiceTiers:   cfg.ServiceTiers,
			Guardrail:      &cfg.Guardrail,
			Media: bedrock.NewMediaFetcher(bedrock.MediaOptions{
				MaxBytes: cfg.ImageFetchMaxBytes, Timeout: cfg.ImageFetchTimeout,
				AllowPrivate: cfg.ImageFetchAllowPrivate, AllowHTTP: cfg.ImageFetch, Proxy: cfg.ImageFetchProxy,
				MaxImages: cfg.ImageMaxPerRequest, MaxTotalBytes: cfg.ImageMaxTotalBytes,
			}),
		},

		Region:                cfg.Region,
		Fallbacks:             fallbackRegions(cfg.failoverConfig, bedrockCfg),
		ModelFallbacks:        cfg.ModelFallbacks,
		DefaultEmbeddingModel: cfg.DefaultEmbeddingModel,
		Defaults:              defaults,
		HideLegacy:            cfg.HideLegacy,
		ModelAliases:          cfg.ModelAliases,
		AliasGPTModels:        cfg.AliasGPTModels,

		AllowedClients:    cfg.AllowedCIDRs,
		TrustedProxies:    cfg.TrustedProxies,
		TrustForwardedFor: cfg.TrustForwardedFor,
		KeyLimits:         cfg.KeyLimits,

		Observer:          obs.observer,
		Tracing:           tr.Provider,
		Propagator:        tr.Propagator,
		LogBodies:         cfg.LogBodies,
		LogBodiesMaxBytes: cfg.LogBodiesMaxBytes,

		ReasoningSecret: []byte(cfg.ReasoningSecret),
		ResponseStore:   cfg.ResponseStore,
	})
	lc.ready.Store(true)
	obs.started(initStart, time.Since(initStart))
	logger.Info("gateway initialised", "version", version, "runtime", runtimeName,
		"init_ms", float64(time.Since(initStart).Microseconds())/1000, "region", awsCfg.Region, "default_model", cfg.DefaultModel,
		"bedrock_auth", bedrockAuthName(cfg.BedrockAPIKey), "fallback_regions", cfg.FallbackRegions, "model_fallbacks", cfg.ModelFallbacks, "memory_limit_mib", softLimit>>20,
		"traces", cmpOr(cfg.Trace.URL, "off"))
	return serve(ctx, handler, cfg, logger, lc)
}

// lifecycle is what serve needs to drain: the readiness it withdraws and the
// channel it closes when open streams must end.
type lifecycle struct {
	ready           atomic.Bool     // keys loaded and not shutting down
	catalogueLoaded <-chan struct{} // closed when the model catalogue's first load has ended
	streamsEnd      chan struct{}
	// flush exports the spans ended so far; the Lambda build calls it
	// before each invocation returns, as Lambda then freezes the process.
	flush func(context.Context) error
}

// isReady is the /ready answer: keys and models loaded, not shutting down.
func (lc *lifecycle) isReady() bool {
	select {
	case <-lc.catalogueLoaded:
		return lc.ready.Load()
	default:
		return false
	}
}

// newAuthenticator loads the API keys before the gateway reports ready and
// keeps them fresh until ctx is done; nil means authentication is off. The
// SSM and Secrets Manager clients share awsCfg, so AWS_ENDPOINT_URL_SSM and
// AWS_ENDPOINT_URL_SECRETS_MANAGER apply.
func newAuthenticator(ctx context.Context, cfg config, awsCfg aws.Config, log *slog.Logger, tracer trace.TracerProvider) (server.Authenticator, error) {
	if cfg.DisableAuth {
		log.Warn("authentication is disabled (DISABLE_AUTH=true): anyone who reaches this gateway can use it")
		return nil, nil
	}
	store, err := auth.NewStore(auth.Options{
		Sources:           cfg.keySources(),
		SSM:               ssm.NewFromConfig(awsCfg),
		SecretsManager:    secretsmanager.NewFromConfig(awsCfg),
		Logger:            log,
		RefreshInterval:   cfg.APIKeyRefresh,
		EarlyRefreshEvery: cfg.APIKeyMinRefresh,
		Tracer:            tracer,
	})
	if err != nil {
		return nil, err
	}
	if err := store.Load(ctx); err != nil {
		return nil, err
	}
	go store.Run(ctx)
	return store, nil
}

// loadAWS builds the one AWS configuration all clients share. The standard
// AWS environment applies: credentials chain, AWS_REGION, AWS_MAX_ATTEMPTS,
// AWS_RETRY_MODE and AWS_ENDPOINT_URL_<SERVICE> overrides.
func loadAWS(ctx context.Context, cfg config) (aws.Config, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns = cfg.MaxIdleConnsPerHost * 2
		tr.MaxIdleConnsPerHost = cfg.MaxIdleConnsPerHost
		tr.IdleConnTimeout = 90 * time.Second
	})
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region), awsconfig.WithHTTPClient(httpClient))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	// after loading, so AWS_CA_BUNDLE has been applied
	awsCfg.HTTPClient = bedrock.LimitIdle(bedrock.ShieldBodies(awsCfg.HTTPClient), cfg.BedrockIdleTimeout)
	return awsCfg, nil
}

// bedrockAuth returns the configuration of the Bedrock clients (runtime and
// control plane). With a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) they
// authenticate with "Authorization: Bearer <key>" instead of SigV4, as the
// AWS SDKs do; the other AWS clients keep the credential chain.
func bedrockAuth(awsCfg aws.Config, apiKey string) aws.Config {
	if apiKey == "" {
		return awsCfg
	}
	c := awsCfg.Copy()
	c.BearerAuthTokenProvider = bearer.StaticTokenProvider{Token: bearer.Token{Value: apiKey}}
	c.AuthSchemePreference = []string{"httpBearerAuth"}
	return c
}

func bedrockAuthName(apiKey string) string {
	if apiKey != "" {
		return "api-key"
	}
	return "sigv4"
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// healthcheck exits 0 when the server's /health answers 200. It reads PORT
// and TLS_CERT_FILE through loadConfig, as the server it probes did (a
// container health check runs with the container's environment); -url URL
// probes URL instead.
func healthcheck(ctx context.Context, args []string, getenv func(string) string) error {
	url, client := "", http.DefaultClient
	if len(args) == 2 && args[0] == "-url" {
		url = args[1]
	} else {
		cfg, err := loadConfig(getenv)
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		url = "http://127.0.0.1:" + strconv.Itoa(cfg.Port) + "/health"
		if cfg.TLSCertFile != "" {
			// The certificate names the public host, not 127.0.0.1, and this
			// probe only asks whether the local process is up.
			url = "https://127.0.0.1:" + strconv.Itoa(cfg.Port) + "/health"
			client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, resp.StatusCode)
	}
	return nil
}
