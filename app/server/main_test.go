package server_test

import (
	"os"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestMain puts gin in release mode, as the gateway command does: in debug
// mode it prints every route and a warning per handler.
func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}
