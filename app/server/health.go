package server

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openbedrock/gateway/app/bedrock"
)

// healthResponse is the body of GET /health. The canary reads instance_id,
// started_at and first_request to tell a cold instance from a warm one.
type healthResponse struct {
	Status        string  `json:"status"`
	Version       string  `json:"version"`
	Runtime       string  `json:"runtime"`
	InstanceID    string  `json:"instance_id"`
	StartedAt     string  `json:"started_at"`
	UptimeSeconds float64 `json:"uptime_seconds"`
	FirstRequest  bool    `json:"first_request"`
	ColdStart     bool    `json:"cold_start"`
	Requests      int64   `json:"requests"`
	Ready         bool    `json:"ready"`
	// Models says where the model list came from (bedrock or static), the
	// last refresh error and the model count.
	Models *bedrock.CatalogueStatus `json:"models,omitempty"`
}

// handleHealth is the liveness probe: 200 while the process runs.
func (s *Server) handleHealth(c *gin.Context) {
	n := c.GetInt64("request_number")
	c.JSON(http.StatusOK, healthResponse{
		Status:        "ok",
		Version:       s.opts.Version,
		Runtime:       s.opts.Runtime,
		InstanceID:    s.instance,
		StartedAt:     s.started.UTC().Format(time.RFC3339Nano),
		UptimeSeconds: time.Since(s.started).Seconds(),
		FirstRequest:  n == 1,
		ColdStart:     n == 1,
		Requests:      n,
		Ready:         s.ready(),
		Models:        s.catalogueStatus(),
	})
}

// handleReady is the readiness probe: 503 while the instance should get no traffic.
func (s *Server) handleReady(c *gin.Context) {
	if !s.ready() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (s *Server) catalogueStatus() *bedrock.CatalogueStatus {
	if s.opts.Catalogue == nil {
		return nil
	}
	st := s.opts.Catalogue.Status()
	return &st
}

func (s *Server) ready() bool { return s.opts.Ready == nil || s.opts.Ready() }
