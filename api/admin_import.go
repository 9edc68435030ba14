package api

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// Admin API: users exported to and imported from CSV or XLSX files. The
// file format and its checks are userio's; this file loads the
// organisations a file names (any of the caller's branch, none outside
// it), answers the preview and applies an import in one transaction.

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
	ApplyUserChangeBatches(ctx context.Context, batches []store.UserChangeBatch, events ...store.AuditEvent) error
	Branch(ctx context.Context, rootID string) ([]store.Organisation, error)
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
			Status: u.Status, Systems: byUser[u.ID], EmailLogin: u.EmailPasswordLogin, Organisation: accountID}
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
	branch, ok := branchParam(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	who := caller(c)
	organisations := []string{who.AccountID}
	if branch {
		orgs, err := s.store.Branch(ctx, who.AccountID)
		if err != nil {
			s.internalError(c, "load organisations to export", err)
			return
		}
		organisations = organisations[:0]
		for _, o := range orgs {
			organisations = append(organisations, o.ID)
		}
	}
	var records []userio.Record
	for _, id := range organisations {
		account, err := s.loadAccountUsers(ctx, id)
		if err != nil {
			s.internalError(c, "load users to export", err)
			return
		}
		records = append(records, account.records...)
	}
	slices.SortFunc(records, func(a, b userio.Record) int {
		return cmp.Or(cmp.Compare(a.Organisation, b.Organisation), cmp.Compare(a.AuthID, b.AuthID))
	})
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

	ctx := c.Request.Context()
	who := caller(c)
	targets, changes, err := s.compareImport(ctx, who.AccountID, rows)
	if err != nil {
		s.internalError(c, "compare the file with the users", err)
		return
	}

	out := importJSON{Valid: true, Rows: make([]importRowJSON, len(changes))}
	for i, ch := range changes {
		row := importRowJSON{Line: ch.Line, AuthID: ch.AuthID, Organisation: ch.Organisation, Action: ch.Action,
			Changes: ch.Changes, Errors: ch.Errors}
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

	batches, events := s.importPlan(c, changes, targets)
	if len(batches) > 0 {
		err := s.store.ApplyUserChangeBatches(ctx, batches, events...)
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

// importTarget is one organisation a file imports into, as it is before
// the import.
type importTarget struct {
	account   store.Account
	current   map[string]userio.Record // by authid
	users     map[string]store.User    // by authid
	methods   map[string][]string      // system name -> methods
	systemIDs map[string]string        // system name -> id
}

func (s *Server) loadImportTarget(ctx context.Context, id string) (importTarget, error) {
	account, err := s.loadAccountUsers(ctx, id)
	if err != nil {
		return importTarget{}, err
	}
	systems, err := s.store.ListSystems(ctx, id)
	if err != nil {
		return importTarget{}, err
	}
	// For a sub-organisation, the top organisation's email and password
	// switch: the one that applies.
	acc, err := s.store.GetAccount(ctx, id)
	if err != nil {
		return importTarget{}, err
	}
	t := importTarget{account: acc, current: make(map[string]userio.Record, len(account.records)),
		users:   make(map[string]store.User, len(account.users)),
		methods: make(map[string][]string, len(systems)), systemIDs: make(map[string]string, len(systems))}
	for i, r := range account.records {
		t.current[r.AuthID] = r
		t.users[r.AuthID] = account.users[i]
	}
	for _, sys := range systems {
		t.methods[sys.Name] = sys.Methods
		t.systemIDs[sys.Name] = sys.ID
	}
	return t, nil
}

// compareImport compares each row with the organisation it names (its
// Organisation cell, else scope) and returns what importing it does, in
// file order, with the organisations named by id. A row naming an
// organisation outside the branch of scope is an error, in the same
// words whether or not that organisation exists; only the organisations
// the file names are loaded.
func (s *Server) compareImport(ctx context.Context, scope string, rows []userio.Row) (map[string]importTarget, []userio.Change, error) {
	branch, err := s.store.Branch(ctx, scope)
	if err != nil {
		return nil, nil, err
	}
	inBranch := make(map[string]bool, len(branch))
	for _, o := range branch {
		inBranch[o.ID] = true
	}
	type user struct{ organisation, authid string }
	type seen struct {
		line int
		cell string // the Organisation cell that named it
	}
	first := map[user]seen{}
	resolved := make([]userio.Row, len(rows))
	byOrganisation := map[string][]int{} // organisation -> indexes of its rows
	changes := make([]userio.Change, len(rows))
	for i, row := range rows {
		cell := row.Organisation
		if cell == "" {
			row.Organisation = scope
		}
		row.Errors = slices.Clone(row.Errors)
		if !inBranch[row.Organisation] {
			// The same answer whether or not it exists elsewhere.
			row.Errors = append(row.Errors, fmt.Sprintf("organisation %q not found", row.Organisation))
			changes[i] = userio.Change{Row: row, Action: userio.ActionCreate, Result: row.Record}
			continue
		}
		// userio found the same authid under the same cell; an empty
		// cell and the scope's id name the same organisation too.
		if row.AuthID != "" {
			k := user{row.Organisation, row.AuthID}
			if was, dup := first[k]; !dup {
				first[k] = seen{row.Line, cell}
			} else if was.cell != cell {
				row.Errors = append(row.Errors, fmt.Sprintf("authid %q of organisation %q is already on line %d", row.AuthID, row.Organisation, was.line))
			}
		}
		resolved[i] = row
		byOrganisation[row.Organisation] = append(byOrganisation[row.Organisation], i)
	}
	targets := make(map[string]importTarget, len(byOrganisation))
	for id, indexes := range byOrganisation {
		t, err := s.loadImportTarget(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("load organisation %s: %w", id, err)
		}
		targets[id] = t
		own := make([]userio.Row, len(indexes))
		for j, i := range indexes {
			own[j] = resolved[i]
		}
		diffed := userio.Diff(own, t.current, t.methods)
		userio.KeepHolders(diffed, t.current, consoleSystem)
		refuseEmailLogin(diffed, t.current, t.account)
		for j, i := range indexes {
			changes[i] = diffed[j]
		}
	}
	return targets, changes, nil
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

// importPlan turns the changed rows into the store's changes, a batch per
// organisation, and their audit events, each recorded in its user's
// organisation: user.created, user.updated, assignments.updated and, for
// users whose email login it turns on, welcome.requested.
func (s *Server) importPlan(c *gin.Context, changes []userio.Change, targets map[string]importTarget) ([]store.UserChangeBatch, []store.AuditEvent) {
	now := s.now().UTC()
	who := caller(c)
	home := cmp.Or(who.Home, who.AccountID)
	var batches []store.UserChangeBatch
	batchOf := map[string]int{} // organisation -> index in batches
	var events []store.AuditEvent
	for _, ch := range changes {
		if ch.Action == userio.ActionUnchanged {
			continue
		}
		org := ch.Organisation
		t := targets[org]
		r := ch.Result
		iu := store.UserChange{}
		var before *store.User
		if ch.Action == userio.ActionCreate {
			iu.Create = true
			iu.User = store.User{ID: uuid.NewString(), AccountID: org, AuthID: r.AuthID, CreatedAt: now}
		} else {
			iu.User = t.users[r.AuthID]
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
		userEvents := len(events)
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
		s.applyPlan(c, planPasswordLogin(before, iu.User, t.account), &iu, &events, "import")
		if systemsChanged {
			iu.ReplaceAssignments = true
			listed := make([]store.AssignedSystem, len(r.Systems))
			for i, a := range r.Systems {
				iu.Assignments = append(iu.Assignments, store.Assignment{UserID: iu.User.ID, SystemID: t.systemIDs[a.System], Method: a.Method})
				listed[i] = store.AssignedSystem{System: a.System, Method: a.Method}
			}
			events = append(events, s.auditEvent(c, "assignments.updated", "", r.AuthID,
				map[string]any{"assignments": listed, "source": "import"}))
		}
		// The user's events belong to the user's organisation; when that
		// is not the administrator's own, they say whose it is.
		for i := userEvents; i < len(events); i++ {
			events[i].AccountID = org
			if org != home {
				events[i].Detail["actor_organisation"] = home
			}
		}
		b, ok := batchOf[org]
		if !ok {
			b = len(batches)
			batchOf[org] = b
			batches = append(batches, store.UserChangeBatch{AccountID: org})
		}
		batches[b].Changes = append(batches[b].Changes, iu)
	}
	return batches, events
}
