package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/secret"
)

// GET /v1/admin/dev/outbox: in `flexauth dev` only, the last messages the
// outbox plugin wrote, so that the console's sign-in page can show the
// link or code without a mail server. The person signing in has no
// credentials yet, so the server draws a token at each start and puts it
// in the console page it serves (see consoleIndexPage); the outbox answers
// only requests carrying it in devTokenHeader. Another site's page cannot
// read the console page (same-origin policy, and the Host check stops a
// rebound name), so it cannot learn the token. Outside dev the route
// answers 404.

const (
	devTokenHeader = "X-Flexauth-Dev-Token"
	devTokenMeta   = "flexauth-dev-token"
)

const (
	outboxMessages = 20
	// outboxTailBytes bounds how much of the file is read: the last
	// messages, never the whole history.
	outboxTailBytes = 1 << 20
)

// outboxLine is the part of an outbox line (plugins/delivery/outbox) the
// console shows.
type outboxLine struct {
	ID       string            `json:"id"`
	Time     time.Time         `json:"time"`
	Channel  string            `json:"channel"`
	To       string            `json:"to"`
	Subject  string            `json:"subject"`
	Link     string            `json:"link"`
	Code     string            `json:"code"`
	Metadata map[string]string `json:"metadata"`
}

type outboxMessage struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Channel string    `json:"channel"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Link    string    `json:"link"`
	Code    string    `json:"code"`
	System  string    `json:"system"`
	// Purpose names a link that is not a sign-in ("welcome": create a
	// password); empty for sign-in messages.
	Purpose string `json:"purpose,omitempty"`
}

func (s *Server) devOutbox(c *gin.Context) {
	if s.cfg.DevOutbox == "" {
		fail(c, http.StatusNotFound, "not found")
		return
	}
	if !loopbackPeer(c.Request) {
		fail(c, http.StatusForbidden, "the dev outbox is served only to this machine")
		return
	}
	if s.devToken == "" || !secret.Equal(c.GetHeader(devTokenHeader), s.devToken) {
		fail(c, http.StatusForbidden, "the dev outbox needs the token of the console page ("+devTokenHeader+")")
		return
	}
	lines, err := tailLines(s.cfg.DevOutbox, outboxMessages, outboxTailBytes)
	if err != nil {
		s.internalError(c, "read dev outbox", err)
		return
	}
	msgs := make([]outboxMessage, 0, len(lines))
	for i := len(lines) - 1; i >= 0; i-- {
		var l outboxLine
		if err := json.Unmarshal(lines[i], &l); err != nil {
			continue // a line cut by the bound, or being written
		}
		msgs = append(msgs, outboxMessage{
			ID: l.ID, Time: l.Time, Channel: l.Channel, To: l.To, Subject: l.Subject,
			Link: l.Link, Code: l.Code, System: l.Metadata["system"], Purpose: l.Metadata["purpose"],
		})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"messages": msgs})
}

// tailLines returns the last n complete lines of the file at path, oldest
// first, reading at most limit bytes from its end. A missing file has no
// lines.
func tailLines(path string, n int, limit int64) ([][]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	start := max(info.Size()-limit, 0)
	buf := make([]byte, info.Size()-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	// Only whole lines: drop a partial last line (being written) and, when
	// the read began mid-file, the partial first one.
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i]
	} else {
		return nil, nil
	}
	if start > 0 {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return nil, nil
		}
		buf = buf[i+1:]
	}
	lines := bytes.Split(buf, []byte("\n"))
	out := make([][]byte, 0, n)
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if len(bytes.TrimSpace(lines[i])) > 0 {
			out = append(out, lines[i])
		}
	}
	// out is newest first; callers want file order.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
