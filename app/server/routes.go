package server

import "github.com/gin-gonic/gin"

// routes lists the whole API surface.
func (s *Server) routes(e *gin.Engine) {
	// allowClients (ALLOWED_CIDRS) runs before auth on every route but
	// /health and /ready, unknown URLs included.
	e.Use(s.guardConn(), s.recoverPanics(), s.requestID(), s.clientAddress(), s.accessLog(), s.countRequests(), s.allowClients(), s.cors())
	e.GET("/health", s.handleHealth)
	e.GET("/ready", s.handleReady)

	api := e.Group(s.opts.RoutePrefix, s.limitBody(), s.deadline(), s.authenticate(), s.readBody())
	api.POST("/chat/completions", s.limitConcurrency(), s.handleChat)
	api.POST("/embeddings", s.limitConcurrency(), s.handleEmbeddings)
	api.GET("/models", s.handleListModels)
	api.GET("/models/*id", s.handleGetModel)

	e.NoRoute(s.handleNotFound)
	e.NoMethod(s.handleMethodNotAllowed)
}
