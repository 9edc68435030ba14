package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDocument describes every route; a test checks that each route the
// engine registers appears in it, and that it documents nothing else.
//
//go:embed openapi.json
var openAPIDocument string

// openAPIFor returns the document with its servers set to publicURL, so
// that tools reading it call this deployment.
func openAPIFor(publicURL string) ([]byte, error) {
	if publicURL == "" {
		return []byte(openAPIDocument), nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(openAPIDocument), &doc); err != nil {
		return nil, fmt.Errorf("parse openapi document: %w", err)
	}
	servers, err := json.Marshal([]map[string]string{{"url": publicURL}})
	if err != nil {
		return nil, fmt.Errorf("encode openapi servers: %w", err)
	}
	doc["servers"] = servers
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode openapi document: %w", err)
	}
	return out, nil
}

func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json; charset=utf-8", s.openapi)
}
