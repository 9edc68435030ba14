package api

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// The console: a static single-page app embedded in the binary. Everything
// it does goes through the admin API; these routes only serve its files,
// under a strict content security policy (no inline script or style, no
// framing, no third-party origins).

//go:embed console
var consoleFiles embed.FS

const consoleCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func (s *Server) consoleRoutes(e *gin.Engine) {
	e.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/console/") })
	e.GET("/console/", s.consoleHeaders, s.consoleIndex)
	e.GET("/console/assets/*path", s.consoleHeaders, s.consoleAsset)
}

func (s *Server) consoleHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.Next()
}

// loopbackPeer says whether the request's connection comes from this
// machine. The connection's own address, not a forwarded one: no header
// makes a remote client local.
func loopbackPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// consoleIndexPage is the console's index.html; in dev (devToken set) it
// carries the dev outbox token in a <meta name="flexauth-dev-token"> tag,
// which the sign-in page sends back to read the outbox.
func consoleIndexPage(devToken string) ([]byte, error) {
	page, err := consoleFiles.ReadFile("console/index.html")
	if err != nil {
		return nil, fmt.Errorf("read console index: %w", err)
	}
	if devToken == "" {
		return page, nil
	}
	const head = "</head>"
	i := bytes.Index(page, []byte(head))
	if i < 0 {
		return nil, errors.New("console index has no </head>")
	}
	// The token is base64url: nothing in it needs escaping.
	meta := `<meta name="` + devTokenMeta + `" content="` + devToken + `">` + "\n"
	return slices.Concat(page[:i], []byte(meta), page[i:]), nil
}

func (s *Server) consoleIndex(c *gin.Context) {
	if s.consolePage == nil {
		s.internalError(c, "serve console index", errors.New("console index missing"))
		return
	}
	page := s.consolePage
	if s.devToken != "" && !loopbackPeer(c.Request) {
		// The dev outbox is for the person at this machine: a client on
		// another one (dev listening on a public address) could send any
		// Host, so the Host check does not keep it out.
		page = s.consolePublic
	}
	if s.devToken != "" {
		// The page may hold a secret: never stored by a cache.
		c.Header("Cache-Control", "no-store")
	} else {
		// Always revalidated, so that a new binary's console loads at once.
		c.Header("Cache-Control", "no-cache")
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", page)
}

func (s *Server) consoleAsset(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("path"), "/")
	if !fs.ValidPath(name) || name == "." {
		fail(c, http.StatusNotFound, "not found")
		return
	}
	body, err := consoleFiles.ReadFile(path.Join("console/assets", name))
	if err != nil {
		fail(c, http.StatusNotFound, "not found")
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, ctype, body)
}
