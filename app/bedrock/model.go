package bedrock

import (
	"slices"
	"strings"
)

// Model describes a model id clients may use and what it resolves to.
type Model struct {
	// ID is the id clients send: a foundation-model id, an inference-profile
	// id, or an application-profile ARN.
	ID string
	// Name is a human name (for application profiles, the name clients may use).
	Name string
	// FoundationModelID is the underlying foundation model, e.g.
	// anthropic.claude-sonnet-4-5-20250929-v1:0; it decides the quirks below.
	FoundationModelID string
	// Provider is the model provider as Bedrock names it (Anthropic, Amazon...).
	Provider string
	// InputModalities lists TEXT, IMAGE, ... as reported by Bedrock; empty when unknown.
	InputModalities []string
	// OutputModalities lists TEXT, EMBEDDING, IMAGE.
	OutputModalities []string
	// Streaming reports whether ConverseStream is supported.
	Streaming bool
	// Created is the Unix time shown in GET /models.
	Created int64
	// Legacy is true for a model Bedrock reports as LEGACY: still served,
	// with an end-of-life date announced.
	Legacy bool
}

// FoundationModelOf derives the foundation-model id from a model id: it strips
// a cross-region prefix (us., eu., apac., global., ...) and an ARN's path.
func FoundationModelOf(id string) string {
	if strings.HasPrefix(id, "arn:") {
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
		}
	}
	if i := strings.IndexByte(id, '.'); i > 0 && i <= 7 {
		switch id[:i] {
		case "us", "eu", "apac", "global", "us-gov", "jp", "au", "ca":
			return id[i+1:]
		}
	}
	return id
}

// AcceptsImages reports whether image content may be sent. Unknown
// modalities allow it and leave the decision to Bedrock.
func (m Model) AcceptsImages() bool {
	return len(m.InputModalities) == 0 || slices.Contains(m.InputModalities, "IMAGE")
}

func (m Model) foundation() string {
	if m.FoundationModelID != "" {
		return m.FoundationModelID
	}
	return FoundationModelOf(m.ID)
}
