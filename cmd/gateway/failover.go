package main

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
)

// failoverConfig is where calls go when the gateway's region or the
// requested model throttles or is unavailable (app/bedrock's Failover).
type failoverConfig struct {
	// FallbackRegions (FALLBACK_REGIONS) are tried in order after
	// AWS_REGION.
	FallbackRegions []string
	// RegionEndpoints (BEDROCK_REGION_ENDPOINTS) are Bedrock Runtime
	// endpoints of fallback regions (VPC endpoints, an emulator); a
	// fallback region not listed uses Bedrock's public endpoint.
	RegionEndpoints map[string]string
	// ModelFallbacks (MODEL_FALLBACKS) are the models tried after a model
	// failed in every region (server.ParseModelFallbacks).
	ModelFallbacks map[string][]string
}

// regionRE matches AWS region names (us-east-1, us-gov-west-1, ap-southeast-4).
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// loadFailoverConfig reads the failover variables; region is AWS_REGION.
func loadFailoverConfig(p *parser, region string) failoverConfig {
	c := failoverConfig{FallbackRegions: p.list("FALLBACK_REGIONS", ""), RegionEndpoints: map[string]string{}}
	for i, r := range c.FallbackRegions {
		switch {
		case !regionRE.MatchString(r):
			p.errs = append(p.errs, fmt.Errorf("FALLBACK_REGIONS: %q is not a region name like us-west-2", r))
		case r == region:
			p.errs = append(p.errs, fmt.Errorf("FALLBACK_REGIONS: %s is AWS_REGION, the region tried first", r))
		case slices.Contains(c.FallbackRegions[:i], r):
			p.errs = append(p.errs, fmt.Errorf("FALLBACK_REGIONS: %s is listed twice", r))
		}
	}
	for _, entry := range p.list("BEDROCK_REGION_ENDPOINTS", "") {
		r, endpoint, _ := strings.Cut(entry, "=")
		r, endpoint = strings.TrimSpace(r), strings.TrimSpace(endpoint)
		u, err := url.Parse(endpoint)
		switch {
		case !slices.Contains(c.FallbackRegions, r):
			p.errs = append(p.errs, fmt.Errorf("BEDROCK_REGION_ENDPOINTS: %q does not name one of FALLBACK_REGIONS (region=https://endpoint)", entry))
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			p.errs = append(p.errs, fmt.Errorf("BEDROCK_REGION_ENDPOINTS: %s: %q is not an http(s) URL", r, endpoint))
		default:
			c.RegionEndpoints[r] = endpoint
		}
	}
	var err error
	if c.ModelFallbacks, err = server.ParseModelFallbacks(p.str("MODEL_FALLBACKS", "")); err != nil {
		p.errs = append(p.errs, fmt.Errorf("MODEL_FALLBACKS: %w", err))
	}
	return c
}

// fallbackRegions builds one Bedrock Runtime client per fallback region,
// once, from the gateway's Bedrock configuration (credentials, HTTP client,
// retries, AWS_CA_BUNDLE). AWS_ENDPOINT_URL_BEDROCK_RUNTIME names the
// endpoint of AWS_REGION only: a fallback region uses its
// BEDROCK_REGION_ENDPOINTS entry, else Bedrock's public endpoint.
func fallbackRegions(c failoverConfig, bedrockCfg aws.Config) []bedrock.Region {
	out := make([]bedrock.Region, 0, len(c.FallbackRegions))
	for _, r := range c.FallbackRegions {
		rt := bedrockruntime.NewFromConfig(bedrockCfg, func(o *bedrockruntime.Options) {
			o.Region, o.BaseEndpoint = r, nil
			if e, ok := c.RegionEndpoints[r]; ok {
				o.BaseEndpoint = aws.String(e)
			}
		})
		out = append(out, bedrock.Region{Name: r, Runtime: rt})
	}
	return out
}
