package api

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/userio"
)

// Admin API: users exported to and imported from CSV or XLSX files. The
// file format and its checks are userio's; comparing a file with the
// organisations it names, planning and applying the import are
// admin.Importer's. This file decodes the request and answers it.

const (
	importUsersPath = "/v1/admin/users/import"
	// maxImportBytes replaces MaxBodyBytes for an import: a file of 10 000
	// users is megabytes, not kilobytes.
	maxImportBytes = userio.DefaultMaxBytes
	maxImportRows  = userio.DefaultMaxRows
)

// Content types of the two file formats.
const (
	csvContentType  = "text/csv"
	xlsxContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// usersImporter is the administration service behind export and import
// (admin.Importer).
type usersImporter interface {
	Export(ctx context.Context, scope string, branch bool) ([]userio.Record, error)
	Import(ctx context.Context, req admin.ImportRequest) (admin.ImportResult, error)
}

var _ usersImporter = (*admin.Importer)(nil)

func (s *Server) exportUsers(c *gin.Context) {
	format := c.DefaultQuery("format", userio.FormatCSV)
	contentType, ok := map[string]string{userio.FormatCSV: csvContentType + "; charset=utf-8", userio.FormatXLSX: xlsxContentType}[format]
	if !ok {
		failf(c, http.StatusBadRequest, "format must be %s or %s", userio.FormatCSV, userio.FormatXLSX)
		return
	}
	branch, ok := branchParam(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	records, err := s.importer.Export(ctx, caller(c).AccountID, branch)
	if err != nil {
		s.internalError(c, "load users to export", err)
		return
	}
	// Built whole before answering, so that a failure is a clean 500
	// rather than half a file.
	var buf bytes.Buffer
	if err := userio.Write(&buf, format, records); err != nil {
		s.internalError(c, "write users file", err)
		return
	}
	// Every user's contact data leaves with the file: that is recorded.
	ev := s.auditEvent(c, "users.exported", "", "", map[string]any{"format": format, "users": len(records), "branch": branch})
	if err := s.store.AppendAudit(ctx, ev); err != nil {
		s.internalError(c, "audit users export", err)
		return
	}
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "users." + format}))
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, contentType, buf.Bytes())
}

type importSummaryJSON struct {
	Create    int `json:"create"`
	Update    int `json:"update"`
	Unchanged int `json:"unchanged"`
	Errors    int `json:"errors"` // rows with errors, counted in none of the others
}

type importRowJSON struct {
	Line   int    `json:"line"`
	AuthID string `json:"authid"`
	// Organisation is the organisation the row's user belongs to: the
	// row's Organisation cell, else the one imported into.
	Organisation string   `json:"organisation"`
	Action       string   `json:"action"`
	Changes      []string `json:"changes"`
	Errors       []string `json:"errors"`
}

type importJSON struct {
	Applied bool              `json:"applied"`
	Valid   bool              `json:"valid"`
	Summary importSummaryJSON `json:"summary"`
	Rows    []importRowJSON   `json:"rows"`
}

// importFormat is the query's format, else the one the Content-Type names.
func importFormat(c *gin.Context) (string, *requestError) {
	if f, ok := c.GetQuery("format"); ok {
		if f != userio.FormatCSV && f != userio.FormatXLSX {
			return "", badRequest("format must be %s or %s", userio.FormatCSV, userio.FormatXLSX)
		}
		return f, nil
	}
	mt, _, _ := mime.ParseMediaType(c.ContentType())
	switch mt {
	case csvContentType:
		return userio.FormatCSV, nil
	case xlsxContentType:
		return userio.FormatXLSX, nil
	}
	return "", badRequest("say which file this is: format=%s or %s, or Content-Type %s or %s",
		userio.FormatCSV, userio.FormatXLSX, csvContentType, xlsxContentType)
}

// freshWhenApplying asks a console session for a fresh sign-in before an
// import is applied; a preview changes nothing and needs none.
func (s *Server) freshWhenApplying(c *gin.Context) {
	if c.Query("apply") == "true" {
		s.requireFresh(c)
		return
	}
	c.Next()
}

// importUsers previews an import (apply=false) or applies it: every row,
// whichever organisation of the branch it names, in one transaction, or
// none anywhere when any row has an error.
func (s *Server) importUsers(c *gin.Context) {
	format, rerr := importFormat(c)
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	var apply bool
	switch c.Query("apply") {
	case "", "false":
	case "true":
		apply = true
	default:
		fail(c, http.StatusBadRequest, "apply must be true or false")
		return
	}
	rows, err := userio.Read(c.Request.Body, format, userio.Limits{MaxBytes: maxImportBytes, MaxRows: maxImportRows})
	if err != nil {
		if rerr := bodyTooLarge(err); rerr != nil {
			respondError(c, rerr)
			return
		}
		if errors.Is(err, userio.ErrTooLarge) {
			failf(c, http.StatusRequestEntityTooLarge, "%v; the limits are %d bytes and %d rows", err, maxImportBytes, maxImportRows)
			return
		}
		fail(c, http.StatusBadRequest, err.Error())
		return
	}

	who := caller(c)
	res, err := s.importer.Import(c.Request.Context(), admin.ImportRequest{
		Scope: who.AccountID, Home: who.Home, Rows: rows, Apply: apply, Event: s.eventFor(c)})
	if errors.Is(err, admin.ErrImportRaced) {
		fail(c, http.StatusConflict, "users, systems or the account's settings changed while the file was imported; nothing was applied, preview it again")
		return
	}
	if err != nil {
		s.internalError(c, "import users", err)
		return
	}
	out := importJSON{Applied: res.Applied, Valid: res.Valid, Rows: make([]importRowJSON, len(res.Changes)),
		Summary: importSummaryJSON{Create: res.Summary.Create, Update: res.Summary.Update,
			Unchanged: res.Summary.Unchanged, Errors: res.Summary.Errors}}
	for i, ch := range res.Changes {
		row := importRowJSON{Line: ch.Line, AuthID: ch.AuthID, Organisation: ch.Organisation, Action: ch.Action,
			Changes: ch.Changes, Errors: ch.Errors}
		if row.Changes == nil {
			row.Changes = []string{}
		}
		if row.Errors == nil {
			row.Errors = []string{}
		}
		out.Rows[i] = row
	}
	if apply && !res.Valid {
		c.JSON(http.StatusUnprocessableEntity, out)
		return
	}
	if res.IssuedLinks {
		// The welcome links of users whose email login the import turned
		// on go out now that it is applied.
		s.wakeLinkDispatcher()
	}
	c.JSON(http.StatusOK, out)
}
