package api

import (
	"bytes"
	"context"
	"errors"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// Admin API: users exported to and imported from CSV or XLSX files. The
// file format and its checks are userio's; this file loads the account,
// answers the preview and applies an import in one transaction.

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

// importStore is the persistence import and export need beyond the user
// and system stores.
type importStore interface {
	ListAccountAssignments(ctx context.Context, accountID string) ([]store.UserAssignment, error)
	ApplyUserChanges(ctx context.Context, accountID string, changes []store.UserChange, events ...store.AuditEvent) error
}

var _ importStore = (*store.Store)(nil)

// accountUsers is an account's users as a file holds them.
type accountUsers struct {
	users   []store.User
	records []userio.Record // users[i] is records[i]
}

func (s *Server) loadAccountUsers(ctx context.Context, accountID string) (accountUsers, error) {
	users, err := s.store.ListUsers(ctx, store.UserFilter{AccountID: accountID})
	if err != nil {
		return accountUsers{}, err
	}
	assigned, err := s.store.ListAccountAssignments(ctx, accountID)
	if err != nil {
		return accountUsers{}, err
	}
	byUser := map[string][]userio.Assignment{}
	for _, a := range assigned {
		byUser[a.UserID] = append(byUser[a.UserID], userio.Assignment{System: a.System, Method: a.Method})
	}
	out := accountUsers{users: users, records: make([]userio.Record, len(users))}
	for i, u := range users {
		out.records[i] = userio.Record{AuthID: u.AuthID, Name: u.Name, Email: u.Email, Phone: u.Phone,
			Status: u.Status, Systems: byUser[u.ID], EmailLogin: u.EmailPasswordLogin}
	}
	return out, nil
}

func (s *Server) exportUsers(c *gin.Context) {
	format := c.DefaultQuery("format", userio.FormatCSV)
	contentType, ok := map[string]string{userio.FormatCSV: csvContentType + "; charset=utf-8", userio.FormatXLSX: xlsxContentType}[format]
	if !ok {
		failf(c, http.StatusBadRequest, "format must be %s or %s", userio.FormatCSV, userio.FormatXLSX)
		return
	}
	ctx := c.Request.Context()
	who := caller(c)
	account, err := s.loadAccountUsers(ctx, who.AccountID)
	if err != nil {
		s.internalError(c, "load users to export", err)
		return
	}
	// Built whole before answering, so that a failure is a clean 500
	// rather than half a file.
	var buf bytes.Buffer
	if err := userio.Write(&buf, format, account.records); err != nil {
		s.internalError(c, "write users file", err)
		return
	}
	// Every user's contact data leaves with the file: that is recorded.
	ev := s.auditEvent(c, "users.exported", "", "", map[string]any{"format": format, "users": len(account.records)})
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
	Line    int      `json:"line"`
	AuthID  string   `json:"authid"`
	Action  string   `json:"action"`
	Changes []string `json:"changes"`
	Errors  []string `json:"errors"`
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

// importUsers previews an import (apply=false) or applies it: every row
// in one transaction, or none when any row has an error.
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

	ctx := c.Request.Context()
	who := caller(c)
	account, err := s.loadAccountUsers(ctx, who.AccountID)
	if err != nil {
		s.internalError(c, "load users to import into", err)
		return
	}
	systems, err := s.store.ListSystems(ctx, who.AccountID)
	if err != nil {
		s.internalError(c, "load systems to import into", err)
		return
	}
	current := make(map[string]userio.Record, len(account.records))
	users := make(map[string]store.User, len(account.users))
	for i, r := range account.records {
		current[r.AuthID] = r
		users[r.AuthID] = account.users[i]
	}
	methods := make(map[string][]string, len(systems))
	systemIDs := make(map[string]string, len(systems))
	for _, sys := range systems {
		methods[sys.Name] = sys.Methods
		systemIDs[sys.Name] = sys.ID
	}
	acc, err := s.store.GetAccount(ctx, who.AccountID)
	if err != nil {
		s.internalError(c, "load account to import into", err)
		return
	}
	changes := userio.Diff(rows, current, methods)
	userio.KeepHolders(changes, current, consoleSystem)
	refuseEmailLogin(changes, current, acc)

	out := importJSON{Valid: true, Rows: make([]importRowJSON, len(changes))}
	for i, ch := range changes {
		row := importRowJSON{Line: ch.Line, AuthID: ch.AuthID, Action: ch.Action, Changes: ch.Changes, Errors: ch.Errors}
		if row.Changes == nil {
			row.Changes = []string{}
		}
		if row.Errors == nil {
			row.Errors = []string{}
		}
		out.Rows[i] = row
		switch {
		case !ch.OK():
			out.Valid = false
			out.Summary.Errors++
		case ch.Action == userio.ActionCreate:
			out.Summary.Create++
		case ch.Action == userio.ActionUpdate:
			out.Summary.Update++
		default:
			out.Summary.Unchanged++
		}
	}
	if !apply {
		c.JSON(http.StatusOK, out)
		return
	}
	if !out.Valid {
		c.JSON(http.StatusUnprocessableEntity, out)
		return
	}

	imported, events := s.importPlan(c, changes, users, systemIDs, acc)
	if len(imported) > 0 {
		err := s.store.ApplyUserChanges(ctx, who.AccountID, imported, events...)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPasswordLoginOff) {
			fail(c, http.StatusConflict, "users, systems or the account's settings changed while the file was imported; nothing was applied, preview it again")
			return
		}
		if err != nil {
			s.internalError(c, "apply import", err)
			return
		}
		// The welcome links of users whose email login the import turned
		// on go out now that it is applied.
		s.wakeLinkDispatcher()
	}
	out.Applied = true
	c.JSON(http.StatusOK, out)
}

// refuseEmailLogin adds an error to the rows that turn a user's email login
// on while the account cannot have it: its own switch is off, or email
// delivery (the welcome link's way) is.
func refuseEmailLogin(changes []userio.Change, current map[string]userio.Record, acc store.Account) {
	for i, ch := range changes {
		if !ch.Result.EmailLogin || current[ch.AuthID].EmailLogin {
			continue
		}
		switch {
		case !acc.EmailPasswordLogin:
			changes[i].Errors = append(changes[i].Errors, msgAccountSwitchOff)
		case !acc.EmailDelivery:
			changes[i].Errors = append(changes[i].Errors, msgEmailDeliveryOff)
		}
	}
}

// importPlan turns the changed rows into the store's changes and their
// audit events: user.created, user.updated, assignments.updated and, for
// users whose email login it turns on, welcome.requested.
func (s *Server) importPlan(c *gin.Context, changes []userio.Change, users map[string]store.User,
	systemIDs map[string]string, acc store.Account) ([]store.UserChange, []store.AuditEvent) {
	now := s.now().UTC()
	accountID := caller(c).AccountID
	var imported []store.UserChange
	var events []store.AuditEvent
	for _, ch := range changes {
		if ch.Action == userio.ActionUnchanged {
			continue
		}
		r := ch.Result
		iu := store.UserChange{}
		var before *store.User
		if ch.Action == userio.ActionCreate {
			iu.Create = true
			iu.User = store.User{ID: uuid.NewString(), AccountID: accountID, AuthID: r.AuthID, CreatedAt: now}
		} else {
			iu.User = users[r.AuthID]
			was := iu.User
			before = &was
		}
		iu.User.Name, iu.User.Email, iu.User.Phone, iu.User.Status = r.Name, r.Email, r.Phone, r.Status
		iu.User.EmailPasswordLogin = r.EmailLogin
		iu.User.UpdatedAt = now
		profileChanged, systemsChanged := false, false
		for _, col := range ch.Changes {
			if col == userio.ColSystems {
				systemsChanged = true
			} else {
				profileChanged = true
			}
		}
		detail := profileDetail(iu.User)
		detail["source"] = "import"
		switch {
		case iu.Create:
			events = append(events, s.auditEvent(c, "user.created", "", r.AuthID, detail))
		case profileChanged:
			iu.SaveProfile = true
			detail["changes"] = ch.Changes
			events = append(events, s.auditEvent(c, "user.updated", "", r.AuthID, detail))
		}
		s.applyPlan(c, planPasswordLogin(before, iu.User, acc), &iu, &events, "import")
		if systemsChanged {
			iu.ReplaceAssignments = true
			listed := make([]store.AssignedSystem, len(r.Systems))
			for i, a := range r.Systems {
				iu.Assignments = append(iu.Assignments, store.Assignment{UserID: iu.User.ID, SystemID: systemIDs[a.System], Method: a.Method})
				listed[i] = store.AssignedSystem{System: a.System, Method: a.Method}
			}
			events = append(events, s.auditEvent(c, "assignments.updated", "", r.AuthID,
				map[string]any{"assignments": listed, "source": "import"}))
		}
		imported = append(imported, iu)
	}
	return imported, events
}
