package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// Admin API: the audit trail, and the audit events every admin change
// appends.

// maxAuditExport bounds a CSV export; narrower filters get the rest.
const maxAuditExport = 10_000

// auditPage is how many events one store call returns while exporting.
const auditPage = 1000

func (s *Server) listAudit(c *gin.Context) {
	csvOut := false
	switch c.Query("format") {
	case "", "json":
	case "csv":
		csvOut = true
	default:
		fail(c, http.StatusBadRequest, `format must be "json" or "csv"`)
		return
	}
	limit, rerr := intParam(c, "limit", defaultPageSize, 1, maxPageSize)
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	branch, ok := branchParam(c)
	if !ok {
		return
	}
	f := store.AuditFilter{
		AccountID: caller(c).AccountID,
		Branch:    branch,
		AuthID:    c.Query("authid"),
		System:    c.Query("system"),
		Type:      c.Query("type"),
		AttemptID: c.Query("attempt"),
		Limit:     limit,
	}
	if raw := c.Query("before"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 1 {
			fail(c, http.StatusBadRequest, "before must be a positive event id")
			return
		}
		f.BeforeID = n
	}
	if f.Since, ok = timeParam(c, "since"); !ok {
		return
	}
	if f.Until, ok = timeParam(c, "until"); !ok {
		return
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		fail(c, http.StatusBadRequest, "since must be before until")
		return
	}
	if csvOut {
		s.exportAudit(c, f)
		return
	}
	events, err := s.store.ListAudit(c.Request.Context(), f)
	if err != nil {
		s.internalError(c, "list audit events", err)
		return
	}
	next := ""
	if len(events) == limit {
		next = strconv.FormatInt(events[len(events)-1].ID, 10)
	}
	c.JSON(http.StatusOK, gin.H{"events": events, "next": next})
}

// timeParam reads an optional RFC 3339 query parameter; ok is false when
// it was malformed and the answer is written.
func timeParam(c *gin.Context, name string) (time.Time, bool) {
	raw := c.Query(name)
	if raw == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		failf(c, http.StatusBadRequest, "%s must be an RFC 3339 time such as 2026-11-23T08:00:00Z", name)
		return time.Time{}, false
	}
	return t.UTC(), true
}

// exportAudit writes the matching events, newest first, as a CSV
// attachment of at most maxAuditExport rows. The organisation column is
// the last: it came after the others, and spreadsheets built on the
// columns before keep working.
func (s *Server) exportAudit(c *gin.Context, f store.AuditFilter) {
	var all []store.AuditEvent
	for len(all) < maxAuditExport {
		f.Limit = min(auditPage, maxAuditExport-len(all))
		events, err := s.store.ListAudit(c.Request.Context(), f)
		if err != nil {
			s.internalError(c, "list audit events", err)
			return
		}
		all = append(all, events...)
		if len(events) < f.Limit {
			break
		}
		f.BeforeID = events[len(events)-1].ID
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="audit.csv"`)
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	_ = w.Write([]string{"id", "time", "type", "system", "authid", "attempt", "ip", "reasons", "detail", "organisation"})
	for _, e := range all {
		detail := ""
		if len(e.Detail) > 0 {
			raw, err := json.Marshal(e.Detail)
			if err != nil {
				s.log.ErrorContext(c.Request.Context(), "encode audit detail", "event", e.ID, "error", err)
			}
			detail = string(raw)
		}
		row := []string{
			strconv.FormatInt(e.ID, 10), e.Time.UTC().Format(time.RFC3339Nano), e.Type, e.System, e.AuthID,
			e.AttemptID, e.IP, strings.Join(e.Reasons, "; "), detail, e.AccountID,
		}
		// Authids, systems, reasons and details come from outside: every
		// cell is defused as the user export's are.
		for i := range row {
			row[i] = userio.EscapeCell(row[i])
		}
		if err := w.Write(row); err != nil {
			return // the client went away
		}
	}
	w.Flush()
}

// auditedIn copies ev into the trail of each organisation named (empty
// names are skipped): a change that touches several organisations is
// audited in each, so that the administrators of every side, and of their
// ancestors through ?branch=true, see it. The copies share ev's detail,
// which nothing changes once built.
func auditedIn(ev store.AuditEvent, organisations ...string) []store.AuditEvent {
	out := make([]store.AuditEvent, 0, len(organisations))
	for _, id := range organisations {
		if id != "" {
			ev.AccountID = id
			out = append(out, ev)
		}
	}
	return out
}

// auditEvent is an admin change's audit event, naming who made it:
// detail.actor is "key:<id>" or "console:<authid>"; detail.by is the key's
// name or the administrator's authid.
func (s *Server) auditEvent(c *gin.Context, typ, system, authid string, detail map[string]any) store.AuditEvent {
	who := caller(c)
	if detail == nil {
		detail = map[string]any{}
	}
	detail["actor"] = who.Actor
	if who.Home != "" {
		// An administrator of an ancestor acting here (?organisation=).
		detail["actor_organisation"] = who.Home
	}
	switch {
	case who.Key != nil:
		detail["by"] = who.Key.Name
		detail["key_id"] = who.Key.ID
	case who.Session != nil:
		detail["by"] = who.Session.AuthID
	}
	return store.AuditEvent{
		AccountID: who.AccountID, Time: s.now().UTC(), Type: typ,
		System: system, AuthID: authid, IP: c.ClientIP(), Detail: detail,
	}
}

// eventFor builds c's audit events for the administration rules (package
// admin), which know what happened but not who asked.
func (s *Server) eventFor(c *gin.Context) admin.EventFunc {
	return func(typ, system, authid string, detail map[string]any) store.AuditEvent {
		return s.auditEvent(c, typ, system, authid, detail)
	}
}
