package main

import (
	"fmt"
	"time"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/server"
)

// responsesConfig configures the Responses API (app/server/responses.go).
type responsesConfig struct {
	// ReasoningSecret (RESPONSES_SECRET) keys the sealed reasoning
	// encrypted_content; unset, each process makes a random one.
	ReasoningSecret string
	ResponseStore   server.ResponseStoreOptions
}

func loadResponsesConfig(p *parser) responsesConfig {
	c := responsesConfig{
		ReasoningSecret: p.getenv("RESPONSES_SECRET"),
		ResponseStore: server.ResponseStoreOptions{
			Off:        !p.bool("RESPONSES_STORE", true),
			MaxEntries: p.int("RESPONSES_STORE_MAX_ENTRIES", 10000),
			MaxBytes:   int64(p.int("RESPONSES_STORE_MAX_BYTES", 256<<20)),
			TTL:        p.duration("RESPONSES_STORE_TTL", 24*time.Hour),
		},
	}
	if n := len(c.ReasoningSecret); n > 0 && n < bedrock.MinReasoningSecret {
		p.errs = append(p.errs, fmt.Errorf("RESPONSES_SECRET: must be at least %d bytes, got %d", bedrock.MinReasoningSecret, n))
	}
	if c.ResponseStore.MaxEntries < 1 {
		p.errs = append(p.errs, fmt.Errorf("RESPONSES_STORE_MAX_ENTRIES: must be at least 1"))
	}
	if c.ResponseStore.MaxBytes < 1 {
		p.errs = append(p.errs, fmt.Errorf("RESPONSES_STORE_MAX_BYTES: must be at least 1"))
	}
	if c.ResponseStore.TTL <= 0 {
		p.errs = append(p.errs, fmt.Errorf("RESPONSES_STORE_TTL: must be above 0"))
	}
	return c
}
