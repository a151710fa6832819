package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	bedrockcp "github.com/aws/aws-sdk-go-v2/service/bedrock"
	"go.opentelemetry.io/otel/trace"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
)

// newCatalogue builds the model catalogue. With discovery on, it starts
// loading from the Bedrock control plane (AWS_ENDPOINT_URL_BEDROCK applies)
// in the background, so start-up never waits on it: until the first load
// ends the configured models are served and other ids pass through to
// Bedrock. The refresh loop ends with ctx.
// The returned channel is closed when the first load has ended (successful
// or not); readiness waits for it.
// The third result returns the chat and embedding defaults in effect: with
// discovery, a configured default Bedrock does not serve (a retired model,
// one not offered in the region) is replaced by a current one, with a warning.
func newCatalogue(ctx context.Context, cfg config, awsCfg aws.Config, logger *slog.Logger, tracer trace.TracerProvider) (server.Catalogue, <-chan struct{}, func() (string, string)) {
	if !cfg.ModelDiscovery {
		static := append([]string{cfg.DefaultModel, cfg.DefaultEmbeddingModel}, cfg.Models...)
		loaded := make(chan struct{})
		close(loaded)
		return bedrock.NewStaticCatalogue(static...), loaded, nil
	}
	c := bedrock.NewCatalogue(bedrock.CatalogueOptions{
		Client:                bedrockcp.NewFromConfig(awsCfg),
		CrossRegion:           cfg.CrossRegionInference,
		ApplicationProfiles:   cfg.ApplicationProfiles,
		Static:                cfg.Models,
		DefaultModel:          cfg.DefaultModel,
		DefaultEmbeddingModel: cfg.DefaultEmbeddingModel,
		Region:                cfg.Region,
		PageSize:              1000, // ListInferenceProfiles' maximum: one call per type
		Logger:                logger,
		Tracer:                tracer,
	})
	go c.Run(ctx, cfg.ModelRefreshInterval)
	return c, c.Loaded(), c.Defaults
}

// modelConfig is the model catalogue's part of config.
type modelConfig struct {
	DefaultEmbeddingModel string
	// Models are extra ids always served, even when the control plane
	// cannot be reached (custom or provisioned model ARNs, for instance).
	Models               []string
	ModelAliases         map[string]string
	AliasGPTModels       bool
	ModelDiscovery       bool
	CrossRegionInference bool
	ApplicationProfiles  bool
	// HideLegacy leaves LEGACY models out of GET /models (HIDE_LEGACY_MODELS).
	HideLegacy bool
	// ServiceTiers (SERVICE_TIERS) is the Bedrock service tier per model
	// ("*" for all) used when a request asks for none or auto.
	ServiceTiers map[string]string
	// ModelRefreshInterval is how often the catalogue is reloaded; 0 never.
	ModelRefreshInterval time.Duration
}

// loadModelConfig reads the catalogue's variables; loadConfig calls it.
func loadModelConfig(p *parser) modelConfig {
	return modelConfig{
		DefaultEmbeddingModel: p.str("DEFAULT_EMBEDDING_MODEL", bedrock.DefaultEmbeddingModel),
		HideLegacy:            p.bool("HIDE_LEGACY_MODELS", false),
		ServiceTiers:          p.serviceTiers("SERVICE_TIERS"),
		Models:                p.list("MODELS", ""),
		ModelAliases:          p.aliases("MODEL_ALIASES"),
		AliasGPTModels:        p.bool("ALIAS_GPT_MODELS", false),
		ModelDiscovery:        p.bool("ENABLE_MODEL_DISCOVERY", true),
		CrossRegionInference:  p.bool("ENABLE_CROSS_REGION_INFERENCE", true),
		ApplicationProfiles:   p.bool("ENABLE_APPLICATION_INFERENCE_PROFILES", true),
		ModelRefreshInterval:  p.duration("MODEL_REFRESH_INTERVAL", 10*time.Minute),
	}
}

// serviceTiers parses "model=tier,...", tier one of default, flex, priority.
func (p *parser) serviceTiers(name string) map[string]string {
	tiers := p.aliases(name)
	for model, tier := range tiers {
		switch tier {
		case "default", "flex", "priority":
		default:
			p.errs = append(p.errs, fmt.Errorf("%s: tier %q for %s is not default, flex or priority", name, tier, model))
		}
	}
	return tiers
}

// aliases parses "name=model,name=model".
func (p *parser) aliases(name string) map[string]string {
	pairs := p.list(name, "")
	if len(pairs) == 0 {
		return nil
	}
	out := make(map[string]string, len(pairs))
	for _, pair := range pairs {
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			p.errs = append(p.errs, fmt.Errorf("%s: %q is not name=model", name, pair))
			continue
		}
		out[k] = v
	}
	return out
}
