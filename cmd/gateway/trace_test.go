package main

import (
	"strings"
	"testing"
	"time"
)

func TestTraceConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		enabled bool
		url     string
	}{
		{"off by default", nil, false, ""},
		{"base endpoint", []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"}, true, "http://collector:4318/v1/traces"},
		{"traces endpoint as given", []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://b/otlp/traces"}, true, "https://b/otlp/traces"},
		{"exporter otlp alone: the local collector", []string{"OTEL_TRACES_EXPORTER", "otlp"}, true, "http://localhost:4318/v1/traces"},
		{"exporter none wins", []string{"OTEL_TRACES_EXPORTER", "none", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"}, false, ""},
		{"SDK disabled", []string{"OTEL_SDK_DISABLED", "true", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"}, false, ""},
		{"http/protobuf named", []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}, true, "http://a:4318/v1/traces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(env(append([]string{"API_KEY", "k"}, tt.env...)...))
			if err != nil {
				t.Fatal(err)
			}
			if c.Trace.Enabled != tt.enabled || c.Trace.URL != tt.url {
				t.Errorf("got enabled %v, URL %q; want %v, %q", c.Trace.Enabled, c.Trace.URL, tt.enabled, tt.url)
			}
		})
	}
}

func TestTraceConfigDetails(t *testing.T) {
	c, err := loadConfig(env("API_KEY", "k", "AWS_REGION", "eu-west-1", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318",
		"OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s%3Dcret, x-team=ml", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "authorization=Bearer%20t",
		"OTEL_EXPORTER_OTLP_TIMEOUT", "2500", "OTEL_EXPORTER_OTLP_COMPRESSION", "gzip",
		"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,deployment.environment.name=prod", "OTEL_SERVICE_NAME", "gw"))
	if err != nil {
		t.Fatal(err)
	}
	tc := c.Trace
	if len(tc.Headers) != 1 || tc.Headers["authorization"] != "Bearer t" {
		t.Errorf("headers %v, want only the traces ones: authorization=Bearer t", tc.Headers)
	}
	if tc.Timeout != 2500*time.Millisecond || !tc.Gzip {
		t.Errorf("timeout %v, gzip %v; want 2.5s, true", tc.Timeout, tc.Gzip)
	}
	res := map[string]string{}
	for _, kv := range tc.Resource {
		res[string(kv.Key)] = kv.Value.AsString()
	}
	for k, want := range map[string]string{"service.name": "gw", "deployment.environment.name": "prod", "cloud.region": "eu-west-1", "service.version": version} {
		if res[k] != want {
			t.Errorf("resource %s = %q, want %q (all: %v)", k, res[k], want, res)
		}
	}
}

func TestTraceConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{[]string{"OTEL_TRACES_EXPORTER", "zipkin"}, "OTEL_TRACES_EXPORTER"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}, "http/protobuf"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}, "not an http(s) URL"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_HEADERS", "novalue"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_RESOURCE_ATTRIBUTES", "a=%zz"}, "OTEL_RESOURCE_ATTRIBUTES"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"}, "OTEL_EXPORTER_OTLP_COMPRESSION"},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_TIMEOUT", "0"}, "OTEL_EXPORTER_OTLP_TIMEOUT"},
	} {
		_, err := loadConfig(env(append([]string{"API_KEY", "k"}, tt.env...)...))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want an error naming %s", tt.env, err, tt.want)
		}
	}
}
