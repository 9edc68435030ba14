package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDocument describes every route; a test checks that each route the
// engine registers appears in it.
//
//go:embed openapi.json
var openAPIDocument string

func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json; charset=utf-8", []byte(openAPIDocument))
}
