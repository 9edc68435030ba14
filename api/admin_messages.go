package api

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/messages"
	"github.com/flexauth/flexauth/store"
)

// Admin API: the wording of messages (package messages). An account sets
// templates and its brand over the built-in ones at /v1/admin/messages; a
// system sets its own over the account's at
// /v1/admin/systems/{name}/messages. The store keeps what package messages
// validated; the worker renders with them when it sends.

// messagesStore is what these handlers read and write.
type messagesStore interface {
	MessageLevels(ctx context.Context, accountID, system string) ([]messages.Level, error)
	SetMessageTemplates(ctx context.Context, rows []store.MessageTemplate, events ...store.AuditEvent) error
	DeleteMessageTemplate(ctx context.Context, accountID, system, message, part string, events ...store.AuditEvent) (bool, error)
}

// Audit event types of message settings.
const (
	eventMessagesUpdated = "messages.updated"
	eventMessagesReset   = "messages.reset"
)

// brandPath is the {message} of DELETE .../messages/{message}/{part} that
// names the brand's fields (name, color).
const brandPath = "brand"

type messagePartJSON struct {
	Template string `json:"template"`
	Source   string `json:"source"`
}

type brandJSON struct {
	Name   string            `json:"name"`
	Color  string            `json:"color"`
	Source map[string]string `json:"source"`
}

// messagesJSON is the effective set of a level: every message and part,
// with its template and where it comes from.
type messagesJSON struct {
	System   string                                `json:"system,omitempty"`
	Brand    brandJSON                             `json:"brand"`
	Messages map[string]map[string]messagePartJSON `json:"messages"`
}

// putMessagesRequest is a partial set: what it names is stored, the rest
// stays as it is.
type putMessagesRequest struct {
	Messages map[string]map[string]string `json:"messages"`
	Brand    *struct {
		Name  *string `json:"name"`
		Color *string `json:"color"`
	} `json:"brand"`
}

type previewRequest struct {
	System  string `json:"system"`
	Message string `json:"message"`
	Channel string `json:"channel"`
}

type previewJSON struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// messageLevel is the level a request reads or writes: the account's
// (system "") or one of its systems'. It answers 404 for a system the
// account does not have.
func (s *Server) messageLevel(c *gin.Context) (string, bool) {
	if c.Param("name") == "" {
		return "", true
	}
	sys, ok := s.loadSystem(c)
	return sys.Name, ok
}

// effectiveMessages answers the level's effective set.
func (s *Server) effectiveMessages(c *gin.Context, status int, system string) {
	levels, err := s.store.MessageLevels(c.Request.Context(), caller(c).AccountID, system)
	if err != nil {
		s.internalError(c, "load message templates", err)
		return
	}
	e, err := messages.Resolve(levels...)
	if err != nil {
		s.internalError(c, "resolve message templates", err)
		return
	}
	out := messagesJSON{System: system, Messages: map[string]map[string]messagePartJSON{}, Brand: brandJSON{
		Name: e.Brand.Name, Color: e.Brand.Color, Source: map[string]string{},
	}}
	for field, from := range e.BrandSource {
		out.Brand.Source[field] = string(from)
	}
	for name, parts := range e.Messages {
		out.Messages[name] = map[string]messagePartJSON{}
		for part, p := range parts {
			out.Messages[name][part] = messagePartJSON{Template: p.Template, Source: string(p.Source)}
		}
	}
	c.JSON(status, out)
}

func (s *Server) getMessages(c *gin.Context) {
	if system, ok := s.messageLevel(c); ok {
		s.effectiveMessages(c, http.StatusOK, system)
	}
}

func (s *Server) putMessages(c *gin.Context) {
	system, ok := s.messageLevel(c)
	if !ok {
		return
	}
	var req putMessagesRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	set := messages.Layer{}
	for message, parts := range req.Messages {
		for part, src := range parts {
			set[messages.Key{Message: message, Part: part}] = src
		}
	}
	if req.Brand != nil {
		if req.Brand.Name != nil {
			set[messages.BrandKey(messages.BrandName)] = *req.Brand.Name
		}
		if req.Brand.Color != nil {
			set[messages.BrandKey(messages.BrandColor)] = *req.Brand.Color
		}
	}
	if len(set) == 0 {
		failf(c, http.StatusBadRequest, "nothing to set: give messages (message, part, template) or brand (name, color)")
		return
	}
	// Sorted, so that of two bad templates the same one is reported.
	keys := slices.SortedFunc(maps.Keys(set), func(a, b messages.Key) int {
		return cmp.Or(cmp.Compare(a.Message, b.Message), cmp.Compare(a.Part, b.Part))
	})
	now := s.now().UTC()
	accountID := caller(c).AccountID
	var rows []store.MessageTemplate
	var changed []string
	for _, k := range keys {
		if err := messages.Validate(k, set[k]); err != nil {
			failf(c, http.StatusBadRequest, "%v", err)
			return
		}
		rows = append(rows, store.MessageTemplate{AccountID: accountID, System: system, Message: k.Message, Part: k.Part, Source: set[k], UpdatedAt: now})
		changed = append(changed, k.Message+"."+k.Part)
	}
	ev := s.auditEvent(c, eventMessagesUpdated, system, "", map[string]any{"parts": changed})
	if err := s.store.SetMessageTemplates(c.Request.Context(), rows, ev); err != nil {
		s.internalError(c, "store message templates", err)
		return
	}
	s.effectiveMessages(c, http.StatusOK, system)
}

func (s *Server) deleteMessagePart(c *gin.Context) {
	system, ok := s.messageLevel(c)
	if !ok {
		return
	}
	message, part := c.Param("message"), c.Param("part")
	known := messages.Known(message, part) ||
		message == brandPath && (part == messages.BrandName || part == messages.BrandColor)
	if !known {
		failf(c, http.StatusNotFound, "no part %q in message %q", part, message)
		return
	}
	ev := s.auditEvent(c, eventMessagesReset, system, "", map[string]any{"parts": []string{message + "." + part}})
	if _, err := s.store.DeleteMessageTemplate(c.Request.Context(), caller(c).AccountID, system, message, part, ev); err != nil {
		s.internalError(c, "delete message template", err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) previewMessage(c *gin.Context) {
	var req previewRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if req.Channel == "" {
		req.Channel = "email"
	}
	switch {
	case messages.Parts(req.Message) == nil:
		failf(c, http.StatusBadRequest, "unknown message %q", req.Message)
		return
	case req.Channel != "email" && req.Channel != "sms":
		failf(c, http.StatusBadRequest, "unknown channel %q; want email or sms", req.Channel)
		return
	case req.Channel == "sms" && !messages.Known(req.Message, messages.PartSMS):
		failf(c, http.StatusBadRequest, "message %q is not sent by sms", req.Message)
		return
	}
	if req.System != "" {
		_, err := s.store.GetSystem(c.Request.Context(), caller(c).AccountID, req.System)
		if errors.Is(err, store.ErrNotFound) {
			failf(c, http.StatusNotFound, "system %q not found", req.System)
			return
		}
		if err != nil {
			s.internalError(c, "load system", err)
			return
		}
	}
	levels, err := s.store.MessageLevels(c.Request.Context(), caller(c).AccountID, req.System)
	if err != nil {
		s.internalError(c, "load message templates", err)
		return
	}
	// Sample data only: a preview never holds a real link or code.
	out, err := messages.Preview(req.Message, req.Channel, levels...)
	var pe *messages.PartError
	if errors.As(err, &pe) {
		failf(c, http.StatusBadRequest, "%v", err)
		return
	}
	if err != nil {
		s.internalError(c, "preview message", err)
		return
	}
	c.JSON(http.StatusOK, previewJSON{Subject: out.Subject, Text: out.Text, HTML: out.HTML})
}
