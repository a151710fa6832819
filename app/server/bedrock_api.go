package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
)

// Bedrock's own API (Bedrock Runtime's operations and the control-plane
// listings clients read first) under Options.BedrockPrefix, for boto3, the
// AWS SDKs and Claude Code's Bedrock mode. Clients send a gateway key as
// the bearer token (Bedrock's API-key convention, AWS_BEARER_TOKEN_BEDROCK);
// the gateway calls Bedrock with its own credentials. Bodies pass through
// byte for byte and streams frame by frame; errors use Bedrock's format
// (x-amzn-errortype and {"message": ...}), so the SDKs raise their usual
// exceptions.

// bedrockOperations are the runtime operations, by the last segment of
// their path: POST {prefix}/model/{modelId}/{operation}.
var bedrockOperations = map[string]bedrock.Operation{
	"converse":                    bedrock.OpConverse,
	"converse-stream":             bedrock.OpConverseStream,
	"invoke":                      bedrock.OpInvoke,
	"invoke-with-response-stream": bedrock.OpInvokeStream,
	"count-tokens":                bedrock.OpCountTokens,
}

// Errors of Bedrock's API.
var (
	errBedrockMissingKey = newError(kindUnauthenticated, "missing_api_key",
		"Send a gateway API key as the bearer token: 'Authorization: Bearer <key>' (AWS_BEARER_TOKEN_BEDROCK=<key> for the AWS SDKs and Claude Code).")
	errBedrockSigV4 = newError(kindUnauthenticated, "sigv4_not_accepted",
		"This gateway does not accept AWS SigV4 signatures: send a gateway API key as the bearer token instead (AWS_BEARER_TOKEN_BEDROCK=<key> for the AWS SDKs and Claude Code, or 'Authorization: Bearer <key>').")
)

// bedrockAPI reports whether a request is for Bedrock's API, whose errors
// use Bedrock's format: any path under the Bedrock prefix, so that errors
// of the middlewares before routing (ALLOWED_CIDRS, CORS) use it too.
func (s *Server) bedrockAPI(c *gin.Context) bool {
	p, path := s.opts.BedrockPrefix, c.Request.URL.Path
	return p != "" && (path == p || strings.HasPrefix(path, p+"/"))
}

// writeBedrockError sends ae in Bedrock's format: the exception type in
// X-Amzn-ErrorType, which the AWS SDKs read, and {"message": ...}.
func writeBedrockError(c *gin.Context, ae *apiError) {
	h := c.Writer.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", ae.bedrockException())
	h.Set("X-Amzn-RequestId", c.GetString(ctxRequestID))
	c.Status(ae.bedrockStatus())
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{ae.Message})
	_, _ = c.Writer.Write(b)
	c.Abort()
}

// bedrockRoute answers with the request id where the AWS SDKs read it.
func (s *Server) bedrockRoute() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("X-Amzn-RequestId", c.GetString(ctxRequestID))
		c.Next()
	}
}

// authenticateBedrock checks the gateway key sent as Bedrock's API keys
// are: 'Authorization: Bearer <key>'. A SigV4 signature is refused with a
// message saying what to send instead.
func (s *Server) authenticateBedrock() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.opts.Auth == nil {
			c.Next()
			return
		}
		h := c.GetHeader("Authorization")
		scheme, token, _ := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		switch {
		case strings.HasPrefix(h, "AWS4-"):
			s.writeError(c, errBedrockSigV4)
			return
		case !strings.EqualFold(scheme, "Bearer") || token == "":
			s.writeError(c, errBedrockMissingKey)
			return
		}
		name, ok := s.opts.Auth.Authenticate(c.Request.Context(), token)
		if !ok {
			s.writeError(c, errInvalidKey)
			return
		}
		c.Set(ctxKeyName, name)
		c.Next()
	}
}

// handleBedrockRuntime serves POST {prefix}/model/{modelId}/{operation}.
// The model id may hold ':' and, URL-escaped as the SDKs send it, the '/'
// of an ARN; it goes through the aliases and the catalogue like any other.
func (s *Server) handleBedrockRuntime(c *gin.Context) {
	rest := strings.TrimPrefix(c.Param("rest"), "/")
	i := strings.LastIndexByte(rest, '/')
	op, ok := bedrockOperations[rest[i+1:]]
	if i <= 0 || !ok {
		s.writeError(c, newError(kindNotFound, "unknown_operation", "Unknown operation: POST "+c.Request.URL.Path+
			". Bedrock's runtime operations are POST "+s.opts.BedrockPrefix+"/model/{modelId}/converse, converse-stream, invoke, invoke-with-response-stream and count-tokens."))
		return
	}
	model, err := s.resolveModelFor(rest[:i], kindAny)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ex := exchange(c)
	setModel(c, ex, model)
	body, err := io.ReadAll(c.Request.Body) // in memory already (readBody)
	if err != nil {
		s.writeError(c, err)
		return
	}
	req := &bedrock.RawRequest{Operation: op, ModelID: model.ID, Body: body, Header: c.Request.Header}
	if op.Streams() {
		s.relayBedrockStream(c, model, req)
		return
	}
	upstreamStart := time.Now()
	var resp *bedrock.RawResponse
	// Region failover only: the body is the client's, written for its model.
	_, err = s.withFailover(c, model, model.ID, nil, func(ctx context.Context, _ bedrock.Model) (err error) {
		resp, err = s.bedrock.Raw(ctx, req)
		return err
	})
	ex.Upstream = time.Since(upstreamStart)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if op != bedrock.OpCountTokens { // counting is free
		if u, ok := bedrock.RawUsage(resp.Header, resp.Body); ok {
			ex.Usage = costUsage(u)
		}
	}
	for name, vs := range resp.Header {
		c.Writer.Header()[name] = vs
	}
	setOverhead(c, ex)
	c.Status(http.StatusOK)
	_, _ = c.Writer.Write(resp.Body)
}

// relayBedrockStream relays a Bedrock event stream frame by frame, each
// flushed as it arrives. Bedrock's exceptions inside the stream are frames
// too, relayed as they came; when the gateway itself must end the stream
// (shutdown, a broken upstream), it sends an exception frame of its own.
func (s *Server) relayBedrockStream(c *gin.Context, model bedrock.Model, req *bedrock.RawRequest) {
	ex := exchange(c)
	ctx := bedrockContext(c, ex)
	upstreamStart := time.Now()
	var stream *bedrock.FrameStream
	_, err := s.withFailover(c, model, model.ID, nil, func(ctx context.Context, _ bedrock.Model) (err error) {
		stream, err = s.bedrock.RawStream(ctx, req)
		return err
	})
	ex.Upstream = time.Since(upstreamStart)
	if err != nil {
		s.writeError(c, err)
		return
	}
	defer stream.Close()
	ex.Stream = true
	s.opts.Observer.StreamStarted(ex)

	h := c.Writer.Header()
	for name, vs := range stream.Header {
		h[name] = vs
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/vnd.amazon.eventstream")
	}
	setOverhead(c, ex)
	ex.TTFT = time.Since(ex.Start)
	c.Status(http.StatusOK)
	relayed := false // the last frame was Bedrock's exception
	for f := range stream.Frames() {
		if u, ok := bedrock.RawUsage(nil, f.Payload); ok && (f.EventType == "metadata" || f.EventType == "chunk") {
			ex.Usage = ex.Usage.Add(costUsage(u))
		}
		if _, err := c.Writer.Write(f.Raw); err != nil {
			return // the client went away; closing the stream ends the Bedrock call
		}
		c.Writer.Flush()
		relayed = f.Exception != ""
	}
	err = stream.Err()
	if err == nil || relayed {
		if err != nil {
			s.failure(c, err) // logged and counted; the client has the frame
		}
		return
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return // the client went away: nobody to tell
	}
	ae := s.failure(c, err)
	_, _ = c.Writer.Write(bedrock.ExceptionFrame(ae.bedrockException(), ae.Message))
	c.Writer.Flush()
}

// foundationModelSummary is one entry of GET {prefix}/foundation-models, in
// the shape of Bedrock's ListFoundationModels.
type foundationModelSummary struct {
	ModelArn                   string         `json:"modelArn"`
	ModelID                    string         `json:"modelId"`
	ModelName                  string         `json:"modelName,omitempty"`
	ProviderName               string         `json:"providerName,omitempty"`
	InputModalities            []string       `json:"inputModalities,omitempty"`
	OutputModalities           []string       `json:"outputModalities,omitempty"`
	ResponseStreamingSupported bool           `json:"responseStreamingSupported"`
	CustomizationsSupported    []string       `json:"customizationsSupported"`
	InferenceTypesSupported    []string       `json:"inferenceTypesSupported"`
	ModelLifecycle             modelLifecycle `json:"modelLifecycle"`
}

type modelLifecycle struct {
	Status string `json:"status"`
}

// inferenceProfileSummary is one entry of GET {prefix}/inference-profiles,
// in the shape of Bedrock's ListInferenceProfiles.
type inferenceProfileSummary struct {
	InferenceProfileName string                  `json:"inferenceProfileName"`
	InferenceProfileArn  string                  `json:"inferenceProfileArn"`
	InferenceProfileID   string                  `json:"inferenceProfileId"`
	Description          string                  `json:"description,omitempty"`
	Models               []inferenceProfileModel `json:"models"`
	Status               string                  `json:"status"`
	Type                 string                  `json:"type"`
	CreatedAt            *time.Time              `json:"createdAt,omitempty"`
}

type inferenceProfileModel struct {
	ModelArn string `json:"modelArn"`
}

// foundationModelArn is a foundation model's ARN in the gateway's region.
func (s *Server) foundationModelArn(id string) string {
	return "arn:aws:bedrock:" + s.region() + "::foundation-model/" + id
}

func (s *Server) region() string { return cmp.Or(s.opts.Region, "us-east-1") }

// handleFoundationModels serves GET {prefix}/foundation-models: the
// foundation models the gateway serves in place (not through a profile),
// filtered by byProvider and byOutputModality as Bedrock does.
func (s *Server) handleFoundationModels(c *gin.Context) {
	provider, modality := c.Query("byProvider"), c.Query("byOutputModality")
	out := []foundationModelSummary{}
	for _, m := range s.opts.Catalogue.List() {
		if strings.HasPrefix(m.ID, "arn:") || bedrock.FoundationModelOf(m.ID) != m.ID ||
			provider != "" && !strings.EqualFold(provider, m.Provider) ||
			modality != "" && !containsFold(m.OutputModalities, modality) {
			continue
		}
		status := "ACTIVE"
		if m.Legacy {
			status = "LEGACY"
		}
		out = append(out, foundationModelSummary{ModelArn: s.foundationModelArn(m.ID), ModelID: m.ID, ModelName: m.Name,
			ProviderName: m.Provider, InputModalities: m.InputModalities, OutputModalities: m.OutputModalities,
			ResponseStreamingSupported: m.Streaming, CustomizationsSupported: []string{}, InferenceTypesSupported: []string{"ON_DEMAND"},
			ModelLifecycle: modelLifecycle{status}})
	}
	c.JSON(http.StatusOK, gin.H{"modelSummaries": out})
}

// handleInferenceProfiles serves GET {prefix}/inference-profiles: the
// system profiles (us., eu., global. ...) and application profiles the
// gateway serves, filtered by type (SYSTEM_DEFINED or APPLICATION), in one
// page.
func (s *Server) handleInferenceProfiles(c *gin.Context) {
	want := c.Query("type")
	out := []inferenceProfileSummary{}
	for _, m := range s.opts.Catalogue.List() {
		fm := m.FoundationModelID
		if fm == "" {
			fm = bedrock.FoundationModelOf(m.ID)
		}
		p := inferenceProfileSummary{InferenceProfileID: m.ID, InferenceProfileName: m.Name, Status: "ACTIVE",
			Models: []inferenceProfileModel{{ModelArn: s.foundationModelArn(fm)}}}
		switch {
		case strings.HasPrefix(m.ID, "arn:") && strings.Contains(m.ID, ":application-inference-profile/"):
			p.Type, p.InferenceProfileArn = "APPLICATION", m.ID
			p.InferenceProfileID = m.ID[strings.LastIndexByte(m.ID, '/')+1:]
		case !strings.HasPrefix(m.ID, "arn:") && fm != m.ID:
			p.Type, p.InferenceProfileArn = "SYSTEM_DEFINED", "arn:aws:bedrock:"+s.region()+"::inference-profile/"+m.ID
		default:
			continue
		}
		if want != "" && want != p.Type {
			continue
		}
		if p.InferenceProfileName == "" {
			p.InferenceProfileName = m.ID
		}
		if m.Created > 0 {
			t := time.Unix(m.Created, 0).UTC()
			p.CreatedAt = &t
		}
		out = append(out, p)
	}
	c.JSON(http.StatusOK, gin.H{"inferenceProfileSummaries": out})
}

// costUsage is the tokens of a Bedrock API answer, for its price.
func costUsage(u bedrock.TokenUsage) cost.Usage {
	return cost.Usage{Input: u.Input, Output: u.Output, CacheRead: u.CacheRead, CacheWrite: u.CacheWrite}
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
