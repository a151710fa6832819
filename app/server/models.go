package server

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai"
)

// modelKind is what an endpoint needs a model to produce.
type modelKind int

const (
	kindChat modelKind = iota
	kindEmbedding
	kindAny // Bedrock's own API: InvokeModel serves every model
)

// maxSuggestions bounds the "did you mean" list of an unknown-model error.
const maxSuggestions = 3

// resolveModelFor applies the default model and the aliases, resolves the
// id in the catalogue (a map read, no I/O) and checks that the model serves
// the endpoint.
func (s *Server) resolveModelFor(id string, kind modelKind) (bedrock.Model, error) {
	chatDef, embDef := s.defaults()
	def, endpoint := chatDef, "DEFAULT_MODEL"
	if kind == kindEmbedding {
		def, endpoint = embDef, "DEFAULT_EMBEDDING_MODEL"
	}
	if id == "" {
		id = def
	}
	if id == "" {
		return bedrock.Model{}, invalidRequest("model", "missing_model", "model is required (no "+endpoint+" is configured)")
	}
	requested := id
	id = s.alias(id)
	if r, ok := bedrock.Retired(id); ok {
		return bedrock.Model{}, s.retiredModel(requested, id, r)
	}
	m, ok := s.opts.Catalogue.Lookup(id)
	if !ok {
		keep := func(m bedrock.Model) bool { return kind == kindAny || m.IsEmbedding() == (kind == kindEmbedding) }
		return bedrock.Model{}, s.unknownModel(requested, keep)
	}
	switch {
	case kind == kindChat && m.IsEmbedding():
		return bedrock.Model{}, invalidRequest("model", "model_not_supported",
			"The model '"+requested+"' is an embedding model; use it with POST "+s.opts.RoutePrefix+"/embeddings, not chat completions.")
	case kind == kindEmbedding && !m.IsEmbedding():
		return bedrock.Model{}, invalidRequest("model", "model_not_supported",
			"The model '"+requested+"' is not an embedding model; use it with POST "+s.opts.RoutePrefix+"/chat/completions.")
	}
	return m, nil
}

// alias maps a name through MODEL_ALIASES, then, when enabled, the
// reference gateway's gpt-* and text-embedding-* aliases (no Bedrock id
// starts with either).
func (s *Server) alias(id string) string {
	if target, ok := s.opts.ModelAliases[id]; ok {
		return target
	}
	if s.opts.AliasGPTModels {
		chat, emb := s.defaults()
		switch {
		case strings.HasPrefix(id, "gpt-") && chat != "":
			return chat
		case strings.HasPrefix(id, "text-embedding-") && emb != "":
			return emb
		}
	}
	return id
}

// defaults returns the chat and embedding models used when a request names none.
func (s *Server) defaults() (chat, embedding string) {
	if s.opts.Defaults != nil {
		return s.opts.Defaults()
	}
	return s.opts.DefaultModel, s.opts.DefaultEmbeddingModel
}

// retiredModel is the 404 for a model Bedrock has retired, naming its
// successor as this gateway serves it (through the same geography's
// profile when there is one), instead of Bedrock's "This model version has
// reached the end of its life", which names neither.
func (s *Server) retiredModel(requested, id string, r bedrock.Retirement) *apiError {
	geo := "" // "us." for us.<retired id>: the successor through the same geography
	if fm := bedrock.FoundationModelOf(id); !strings.HasPrefix(id, "arn:") {
		geo = strings.TrimSuffix(id, fm)
	}
	successor := geo + r.Successor
	for _, cand := range []string{successor, "global." + r.Successor, r.Successor} {
		if listed(s.opts.Catalogue.List(), cand) {
			successor = cand
			break
		}
	}
	msg := "The model '" + requested + "' has been retired by Amazon Bedrock"
	if r.EndOfLife != "" {
		msg += " (end of life " + r.EndOfLife + ")"
	}
	msg += "; use '" + successor + "' instead. GET " + s.opts.RoutePrefix + "/models lists the models."
	e := newError(kindNotFound, "model_retired", msg)
	e.Param = "model"
	return e
}

// unknownModel is the 404 for an id the catalogue does not know, with the
// closest known ids among those keep accepts (nil: all).
func (s *Server) unknownModel(id string, keep func(bedrock.Model) bool) *apiError {
	msg := "The model '" + id + "' does not exist or is not served by this gateway."
	if near := s.opts.Catalogue.Suggest(id, maxSuggestions, keep); len(near) > 0 {
		msg += " Did you mean " + strings.Join(near, ", ") + "?"
	}
	msg += " GET " + s.opts.RoutePrefix + "/models lists the models."
	e := newError(kindNotFound, "model_not_found", msg)
	e.Param = "model"
	return e
}

func modelObject(m bedrock.Model) openai.Model {
	owner := strings.ToLower(m.Provider)
	if owner == "" {
		owner = "bedrock"
	}
	out := openai.Model{ID: m.ListedID(), Object: "model", Created: m.Created, OwnedBy: owner}
	if m.Legacy {
		out.Lifecycle = "LEGACY"
	}
	return out
}

// handleListModels serves GET {prefix}/models: chat and embedding models,
// as OpenAI lists both. Application profiles appear under their name.
// Anthropic clients (anthropic-version) get Anthropic's format.
func (s *Server) handleListModels(c *gin.Context) {
	if anthropicAPI(c) {
		s.listAnthropicModels(c)
		return
	}
	models := s.opts.Catalogue.List()
	out := openai.ModelList{Object: "list", Data: make([]openai.Model, 0, len(models))}
	seen := make(map[string]bool, len(models))
	for _, m := range models {
		obj := modelObject(m)
		if seen[obj.ID] || m.Legacy && s.opts.HideLegacy {
			continue
		}
		seen[obj.ID] = true
		out.Data = append(out.Data, obj)
	}
	c.JSON(http.StatusOK, out)
}

// handleGetModel serves GET {prefix}/models/{id}; id may hold ':' '.' and,
// URL-encoded or not, the '/' of an ARN. The answer carries the id as asked.
func (s *Server) handleGetModel(c *gin.Context) {
	id := strings.TrimPrefix(c.Param("id"), "/")
	if anthropicAPI(c) {
		s.getAnthropicModel(c, id)
		return
	}
	m, ok := s.opts.Catalogue.Lookup(id)
	if ok && s.opts.Catalogue.Status().Source == bedrock.SourceStatic {
		ok = listed(s.opts.Catalogue.List(), id) // a static catalogue passes any id through; only listed ones exist here
	}
	if !ok {
		s.writeError(c, s.unknownModel(id, nil))
		return
	}
	obj := modelObject(m)
	obj.ID = id
	c.JSON(http.StatusOK, obj)
}

func listed(models []bedrock.Model, id string) bool {
	for _, m := range models {
		if m.ID == id || m.ListedID() == id {
			return true
		}
	}
	return false
}
