package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/store"
)

// Admin API: the audit trail, and the audit events every admin change
// appends.

func (s *Server) listAudit(c *gin.Context) {
	limit, rerr := intParam(c, "limit", defaultPageSize, 1, maxPageSize)
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	var before int64
	if raw := c.Query("before"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 {
			fail(c, http.StatusBadRequest, "before must be a positive event id")
			return
		}
		before = n
	}
	events, err := s.store.ListAudit(c.Request.Context(), store.AuditFilter{
		AccountID: caller(c).AccountID,
		AuthID:    c.Query("authid"),
		System:    c.Query("system"),
		Type:      c.Query("type"),
		AttemptID: c.Query("attempt"),
		BeforeID:  before,
		Limit:     limit,
	})
	if err != nil {
		s.internalError(c, "list audit events", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": events})
}

// audit appends an admin change to the audit trail, naming the admin key
// that made it. The change is already saved: a failure to record it is
// logged loudly rather than reported as a failed change, which a client
// would retry into a conflict.
func (s *Server) auditEvent(c *gin.Context, typ, system, authid string, detail map[string]any) store.AuditEvent {
	key := caller(c)
	if detail == nil {
		detail = map[string]any{}
	}
	detail["by"] = key.Name
	detail["key_id"] = key.ID
	return store.AuditEvent{
		AccountID: key.AccountID, Time: s.now().UTC(), Type: typ,
		System: system, AuthID: authid, IP: c.ClientIP(), Detail: detail,
	}
}
