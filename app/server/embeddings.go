package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/cost"
	"github.com/openbedrock/gateway/app/openai"
)

// handleEmbeddings serves POST {prefix}/embeddings over InvokeModel.
func (s *Server) handleEmbeddings(c *gin.Context) {
	req, err := decodeEmbeddingRequest(c.Request.Body)
	if err != nil {
		s.writeError(c, err)
		return
	}
	model, err := s.resolveModelFor(req.Model, kindEmbedding)
	if err != nil {
		s.writeError(c, err)
		return
	}
	ex := exchange(c)
	setModel(c, ex, model)
	upstreamStart := time.Now()
	var out *openai.EmbeddingResponse
	// Region failover only: another model's vectors would not compare
	// with the ones the client has.
	_, err = s.withFailover(c, model, req.Model, nil, func(ctx context.Context, m bedrock.Model) (err error) {
		out, err = s.opts.Embedder.Embed(ctx, m, req)
		return err
	})
	ex.Upstream = time.Since(upstreamStart)
	if err != nil {
		s.writeError(c, embeddingError(err))
		return
	}
	ex.Usage = cost.Usage{Input: int64(out.Usage.PromptTokens)}
	if req.Model != "" {
		out.Model = req.Model // echo what the client sent, as for chat
	}
	body, err := out.AppendJSON(nil)
	if err != nil {
		s.writeError(c, err)
		return
	}
	setOverhead(c, ex)
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// decodeEmbeddingRequest decodes the body; a badly shaped `input` gets an
// error naming the parameter.
func decodeEmbeddingRequest(r io.Reader) (*openai.EmbeddingRequest, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var req openai.EmbeddingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		if errors.Is(err, openai.ErrEmbeddingInput) {
			return nil, invalidRequest("input", "invalid_type", err.Error())
		}
		if err := decodeJSON(bytes.NewReader(body), &req); err != nil {
			return nil, err // the usual messages for everything else
		}
		return nil, invalidRequest("", "invalid_request", "Invalid request body: "+err.Error())
	}
	return &req, nil
}

// embeddingError names the inputs a Bedrock error was about.
func embeddingError(err error) error {
	var ie *bedrock.InputError
	if !errors.As(err, &ie) {
		return err
	}
	ae := *toAPIError(ie.Err)
	if ae.kind == kindClientClosed || ae.kind == kindInternal {
		return &ae
	}
	ae.Message = ie.Inputs() + ": " + ae.Message
	if ae.Param == "" {
		ae.Param = "input"
	}
	return &ae
}
