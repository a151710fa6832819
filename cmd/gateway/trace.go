package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/openbedrock/gateway/app/tracing"
)

// defaultOTLPEndpoint is the standard OTLP/HTTP endpoint: a collector on
// the same host, as the Lambda collector extension (ADOT, or the
// OpenTelemetry Lambda layer) runs it.
const defaultOTLPEndpoint = "http://localhost:4318"

// loadTraceConfig reads the standard OpenTelemetry variables the gateway
// honours; loadConfig calls it. Tracing is on when an OTLP endpoint is set
// or OTEL_TRACES_EXPORTER=otlp, unless OTEL_TRACES_EXPORTER=none or
// OTEL_SDK_DISABLED=true. Only OTLP over HTTP with protobuf is spoken (the
// gRPC exporter would link the gRPC stack; collectors take both).
func loadTraceConfig(p *parser, region string) tracing.Config {
	exporter := strings.ToLower(p.str("OTEL_TRACES_EXPORTER", ""))
	base := p.str("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	endpoint := p.str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	c := tracing.Config{}
	switch exporter {
	case "", "otlp", "none":
	default:
		p.errs = append(p.errs, fmt.Errorf("OTEL_TRACES_EXPORTER: %q is not otlp or none", exporter))
	}
	c.Enabled = exporter != "none" && !p.bool("OTEL_SDK_DISABLED", false) && (exporter == "otlp" || base != "" || endpoint != "")
	if !c.Enabled {
		return c
	}
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as it is; the general
	// endpoint is a base to which the signal's path is added.
	if endpoint == "" {
		endpoint = strings.TrimSuffix(cmpOr(base, defaultOTLPEndpoint), "/") + "/v1/traces"
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errs = append(p.errs, fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT: %q is not an http(s) URL", endpoint))
	}
	c.URL = endpoint
	if proto := p.str("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", p.str("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")); proto != "http/protobuf" {
		p.errs = append(p.errs, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported; the gateway exports OTLP over http/protobuf (port 4318)", proto))
	}
	headers, err := keyValues(p.str("OTEL_EXPORTER_OTLP_TRACES_HEADERS", p.str("OTEL_EXPORTER_OTLP_HEADERS", "")))
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: %w", err))
	}
	c.Headers = map[string]string{}
	for _, kv := range headers {
		c.Headers[kv[0]] = kv[1]
	}
	timeout := p.int("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", p.int("OTEL_EXPORTER_OTLP_TIMEOUT", 10000))
	if timeout <= 0 {
		p.errs = append(p.errs, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT: %d ms must be positive", timeout))
	}
	c.Timeout = time.Duration(timeout) * time.Millisecond
	switch comp := p.str("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", p.str("OTEL_EXPORTER_OTLP_COMPRESSION", "none")); comp {
	case "gzip":
		c.Gzip = true
	case "none":
	default:
		p.errs = append(p.errs, fmt.Errorf("OTEL_EXPORTER_OTLP_COMPRESSION: %q is not gzip or none", comp))
	}

	// The resource: OTEL_RESOURCE_ATTRIBUTES, then OTEL_SERVICE_NAME over
	// its service.name, with the gateway's own defaults beneath.
	attrs, err := keyValues(p.str("OTEL_RESOURCE_ATTRIBUTES", ""))
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err))
	}
	res := map[string]string{"service.name": "bedrock-gateway", "service.version": version, "cloud.provider": "aws", "cloud.region": region}
	if fn := p.str("AWS_LAMBDA_FUNCTION_NAME", ""); fn != "" {
		res["faas.name"], res["cloud.platform"] = fn, "aws_lambda"
		res["faas.version"] = p.str("AWS_LAMBDA_FUNCTION_VERSION", "")
	}
	for _, kv := range attrs {
		res[kv[0]] = kv[1]
	}
	if name := p.str("OTEL_SERVICE_NAME", ""); name != "" {
		res["service.name"] = name
	}
	for k, v := range res {
		if v != "" {
			c.Resource = append(c.Resource, attribute.String(k, v))
		}
	}
	return c
}

// keyValues parses the W3C-baggage-like lists of OTEL_RESOURCE_ATTRIBUTES
// and OTEL_EXPORTER_OTLP_HEADERS: key=value pairs separated by commas,
// values percent-encoded.
func keyValues(s string) ([][2]string, error) {
	var out [][2]string
	for item := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", item)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("the value of %s: %w", k, err)
		}
		out = append(out, [2]string{k, dv})
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
