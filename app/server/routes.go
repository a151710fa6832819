package server

import (
	"cmp"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// routes lists the whole API surface.
func (s *Server) routes(e *gin.Engine) {
	// allowClients (ALLOWED_CIDRS) runs before auth on every route but
	// /health and /ready, unknown URLs included.
	// traceRequests, outside recoverPanics, sees the 500 of a panic.
	if s.opts.Tracing != nil {
		e.Use(s.guardConn(), s.traceRequests())
	} else {
		e.Use(s.guardConn())
	}
	e.Use(s.recoverPanics(), s.requestID(), s.clientAddress(), s.accessLog(), s.countRequests(), s.allowClients(), s.cors())
	e.GET("/health", s.handleHealth)
	e.GET("/ready", s.handleReady)

	api := e.Group(s.opts.RoutePrefix, useEnvelope(openAIEnvelope), s.limitBody(), s.deadline(), s.authenticate(), s.readBody(), s.limitKeys())
	api.POST("/chat/completions", s.limitConcurrency(), s.handleChat)
	api.POST("/responses", s.limitConcurrency(), s.handleResponses)
	api.POST("/responses/input_tokens", s.limitConcurrency(), s.handleResponseInputTokens)
	api.GET("/responses/:id", s.handleGetResponse)
	api.DELETE("/responses/:id", s.handleDeleteResponse)
	api.GET("/responses/:id/input_items", s.handleResponseInputItems)
	api.POST("/embeddings", s.limitConcurrency(), s.handleEmbeddings)
	api.GET("/models", s.handleListModels)
	api.GET("/models/*id", s.handleGetModel)

	// The Anthropic Messages API: an Anthropic client's base URL is the
	// prefix without its /v1 (http://host:8080/api for /api/v1).
	anthropicAPI := e.Group(s.opts.RoutePrefix, s.anthropicRoute(), s.limitBody(), s.deadline(), s.authenticate(), s.readBody(), s.limitKeys())
	anthropicAPI.POST("/messages", s.limitConcurrency(), s.handleMessages)
	anthropicAPI.POST("/messages/count_tokens", s.limitConcurrency(), s.handleCountTokens)

	// Bedrock's own API (bedrock_api.go): an AWS SDK's endpoint, or Claude
	// Code's ANTHROPIC_BEDROCK_BASE_URL, is the prefix.
	br := e.Group(s.opts.BedrockPrefix, s.bedrockRoute(), s.limitBody(), s.deadline(), s.authenticateBedrock(), s.readBody(), s.limitKeys())
	br.POST("/model/*rest", s.limitConcurrency(), s.handleBedrockRuntime)
	br.GET("/foundation-models", s.handleFoundationModels)
	br.GET("/inference-profiles", s.handleInferenceProfiles)

	s.routeList = apiRoutes(e, s.opts.RoutePrefix)
	e.NoRoute(s.handleNotFound)
	e.NoMethod(s.handleMethodNotAllowed)
}

// apiRoutes lists the routes under prefix, e.g. "POST /api/v1/embeddings",
// in path order, for the answer to an unknown URL.
func apiRoutes(e *gin.Engine, prefix string) string {
	var out []string
	routes := e.Routes()
	slices.SortFunc(routes, func(a, b gin.RouteInfo) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method))
	})
	for _, r := range routes {
		if !strings.HasPrefix(r.Path, prefix+"/") {
			continue
		}
		segs := strings.Split(r.Path, "/")
		for i, seg := range segs {
			if strings.HasPrefix(seg, ":") || strings.HasPrefix(seg, "*") {
				segs[i] = "{" + seg[1:] + "}"
			}
		}
		out = append(out, r.Method+" "+strings.Join(segs, "/"))
	}
	return strings.Join(out, ", ")
}
