package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestLoadFailoverConfig(t *testing.T) {
	c, err := loadConfig(env("API_KEY", "k", "AWS_REGION", "us-east-1", "FALLBACK_REGIONS", "us-west-2, eu-central-1",
		"BEDROCK_REGION_ENDPOINTS", "us-west-2=https://vpce-1.bedrock-runtime.us-west-2.vpce.amazonaws.com",
		"MODEL_FALLBACKS", "us.a=us.b|global.c"))
	if err != nil {
		t.Fatal(err)
	}
	want := failoverConfig{FallbackRegions: []string{"us-west-2", "eu-central-1"},
		RegionEndpoints: map[string]string{"us-west-2": "https://vpce-1.bedrock-runtime.us-west-2.vpce.amazonaws.com"},
		ModelFallbacks:  map[string][]string{"us.a": {"us.b", "global.c"}}}
	if !reflect.DeepEqual(c.failoverConfig, want) {
		t.Errorf("got %+v, want %+v", c.failoverConfig, want)
	}
	if c, err := loadConfig(env("API_KEY", "k")); err != nil || len(c.FallbackRegions) != 0 || len(c.ModelFallbacks) != 0 {
		t.Errorf("unset: %+v, %v; want no fallbacks", c.failoverConfig, err)
	}

	for _, tt := range []struct{ name, key, value, want string }{
		{"not a region", "FALLBACK_REGIONS", "us-west-2,Oregon", "FALLBACK_REGIONS"},
		{"the primary", "FALLBACK_REGIONS", "us-east-1", "AWS_REGION"},
		{"twice", "FALLBACK_REGIONS", "us-west-2,us-west-2", "twice"},
		{"endpoint of another region", "BEDROCK_REGION_ENDPOINTS", "eu-west-1=https://x", "BEDROCK_REGION_ENDPOINTS"},
		{"endpoint not a URL", "BEDROCK_REGION_ENDPOINTS", "us-west-2=vpce-1", "BEDROCK_REGION_ENDPOINTS"},
		{"fallbacks", "MODEL_FALLBACKS", "a=a", "MODEL_FALLBACKS"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(env("API_KEY", "k", "AWS_REGION", "us-east-1", "FALLBACK_REGIONS", "us-west-2", tt.key, tt.value))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
