package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/anthropic"
	"github.com/openbedrock/gateway/app/bedrock"
)

// resolveAnthropicModel resolves the model of an Anthropic Messages request:
// MODEL_ALIASES first, then an Anthropic name ("claude-sonnet-4-5", with or
// without its date) to the region's inference profile of that model in the
// catalogue, then any Bedrock id as on the OpenAI routes. An unknown
// Anthropic name is a 404 naming the closest Claude models.
func (s *Server) resolveAnthropicModel(name string) (bedrock.Model, error) {
	if name == "" {
		return bedrock.Model{}, invalidRequest("model", "missing_model", "model: Field required")
	}
	if id := s.alias(name); id != name || !bedrock.IsAnthropicName(name) {
		return s.resolveModelFor(id, kindChat)
	}
	models := s.opts.Catalogue.List()
	if m, ok := bedrock.ResolveAnthropicName(name, models, s.opts.Region); ok {
		return m, nil
	}
	for _, v := range []string{"-v1:0", "-v2:0"} {
		if r, ok := bedrock.Retired("anthropic." + name + v); ok {
			return bedrock.Model{}, s.retiredModel(name, "anthropic."+name+v, r)
		}
	}
	msg := "model: " + name + " is not a model this gateway serves."
	if near := bedrock.SuggestAnthropicNames(name, models, maxSuggestions); len(near) > 0 {
		msg += " Did you mean " + strings.Join(near, ", ") + "?"
	}
	e := newError(kindNotFound, "model_not_found", msg+" GET "+s.opts.RoutePrefix+"/models lists the models.")
	e.Param = "model"
	return bedrock.Model{}, e
}

// anthropicModel is a catalogue model as Anthropic's model list shows it:
// Claude under its Anthropic name (which requests may use), others under
// their id.
func anthropicModel(m bedrock.Model) anthropic.ModelInfo {
	id := m.ListedID()
	if n := bedrock.AnthropicName(m); n != "" && !strings.HasPrefix(m.ID, "arn:") {
		id = n
	}
	name := m.Name
	if name == "" {
		name = id
	}
	created := time.Unix(m.Created, 0).UTC().Format(time.RFC3339)
	return anthropic.ModelInfo{Type: "model", ID: id, DisplayName: name, CreatedAt: created}
}

// listAnthropicModels answers GET {prefix}/models in Anthropic's format
// (Claude Code and the Anthropic SDKs send anthropic-version): the chat
// models, each Claude model once.
func (s *Server) listAnthropicModels(c *gin.Context) {
	out := anthropic.ModelList{Data: []anthropic.ModelInfo{}}
	seen := map[string]bool{}
	for _, m := range s.opts.Catalogue.List() {
		if m.IsEmbedding() || m.Legacy && s.opts.HideLegacy {
			continue
		}
		info := anthropicModel(m)
		if seen[info.ID] {
			continue
		}
		seen[info.ID] = true
		out.Data = append(out.Data, info)
	}
	if n := len(out.Data); n > 0 {
		out.FirstID, out.LastID = &out.Data[0].ID, &out.Data[n-1].ID
	}
	c.JSON(http.StatusOK, out)
}

// getAnthropicModel answers GET {prefix}/models/{id} in Anthropic's format.
func (s *Server) getAnthropicModel(c *gin.Context, id string) {
	m, err := s.resolveAnthropicModel(id)
	if err == nil && !bedrock.IsAnthropicName(id) && s.opts.Catalogue.Status().Source == bedrock.SourceStatic && !listed(s.opts.Catalogue.List(), id) {
		err = s.unknownModel(id, nil) // a static catalogue passes any id through; only listed ones exist here
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	info := anthropicModel(m)
	info.ID = id
	c.JSON(http.StatusOK, info)
}
