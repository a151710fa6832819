package server

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
	"github.com/openbedrock/gateway/app/openai"
)

func modelObject(m bedrock.Model) openai.Model {
	owner := strings.ToLower(m.Provider)
	if owner == "" {
		owner = "bedrock"
	}
	id := m.ID
	if m.Name != "" && strings.HasPrefix(m.ID, "arn:") {
		id = m.Name // application profiles are listed by their name
	}
	return openai.Model{ID: id, Object: "model", Created: m.Created, OwnedBy: owner}
}

// handleListModels serves GET {prefix}/models.
func (s *Server) handleListModels(c *gin.Context) {
	models := s.opts.Catalogue.List()
	out := openai.ModelList{Object: "list", Data: make([]openai.Model, 0, len(models))}
	for _, m := range models {
		out.Data = append(out.Data, modelObject(m))
	}
	c.JSON(http.StatusOK, out)
}

// handleGetModel serves GET {prefix}/models/{id}; id may hold ':' '.' and,
// URL-encoded or not, the '/' of an ARN.
func (s *Server) handleGetModel(c *gin.Context) {
	id := strings.TrimPrefix(c.Param("id"), "/")
	m, ok := s.opts.Catalogue.Lookup(id)
	if !ok {
		s.writeError(c, &apiError{Status: http.StatusNotFound, Type: openai.TypeInvalidRequest, Code: "model_not_found", Param: "model",
			Message: "The model '" + id + "' does not exist or is not served by this gateway."})
		return
	}
	obj := modelObject(m)
	if id != obj.ID {
		obj.ID = id
	}
	c.JSON(http.StatusOK, obj)
}
