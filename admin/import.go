package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// ImportStore is the persistence an import and an export need.
type ImportStore interface {
	ListUsers(ctx context.Context, f store.UserFilter) ([]store.User, error)
	ListAccountAssignments(ctx context.Context, accountID string) ([]store.UserAssignment, error)
	ListSystems(ctx context.Context, accountID string) ([]store.System, error)
	GetAccount(ctx context.Context, id string) (store.Account, error)
	Branch(ctx context.Context, rootID string) ([]store.Organisation, error)
	ApplyUserChangeBatches(ctx context.Context, batches []store.UserChangeBatch, events ...store.AuditEvent) error
}

var _ ImportStore = (*store.Store)(nil)

// ErrImportRaced refuses an import whose users, systems or account
// settings changed between the comparison and the transaction (or that the
// store refused for a rule a concurrent change broke): nothing was
// applied, and a new preview shows why.
var ErrImportRaced = errors.New("users, systems or the account's settings changed while the file was imported")

// Importer exports an organisation's users to a users file and imports one:
// it compares each row with the organisation it names, plans the store's
// changes with their audit events and applies them in one transaction.
type Importer struct {
	store ImportStore
	now   func() time.Time
}

// NewImporter returns an importer over st; now dates the changes (time.Now
// when nil).
func NewImporter(st ImportStore, now func() time.Time) *Importer {
	if now == nil {
		now = time.Now
	}
	return &Importer{store: st, now: now}
}

// ImportRequest is a users file to preview or apply.
type ImportRequest struct {
	// Scope is the organisation imported into: a row without an
	// Organisation cell is its, and a row may name only an organisation
	// of its branch.
	Scope string
	// Home is the administrator's own organisation; events recorded in
	// another say it.
	Home  string
	Rows  []userio.Row
	Apply bool
	// Event builds the import's audit events.
	Event EventFunc
}

// ImportSummary counts the rows by what importing them does.
type ImportSummary struct {
	Create, Update, Unchanged int
	Errors                    int // rows with errors, counted in none of the others
}

// ImportResult is what importing the file does (or did).
type ImportResult struct {
	// Changes are the rows, in file order, with what importing each does
	// and its errors; Organisation is filled in with the one it goes to.
	Changes []userio.Change
	Summary ImportSummary
	// Valid: no row has an error. An invalid file is never applied.
	Valid   bool
	Applied bool
	// IssuedLinks: the import requested credential links (welcome links of
	// users whose email login it turned on), to be delivered now.
	IssuedLinks bool
}

// Import previews the file, or applies it when req.Apply is set and no row
// has an error: every row, whichever organisation of the branch it names,
// in one transaction, or none anywhere. ErrImportRaced when the store
// refuses the transaction because something changed since the comparison.
func (im *Importer) Import(ctx context.Context, req ImportRequest) (ImportResult, error) {
	targets, changes, err := im.compare(ctx, req.Scope, req.Rows)
	if err != nil {
		return ImportResult{}, fmt.Errorf("compare the file with the users: %w", err)
	}
	out := ImportResult{Changes: changes, Valid: true}
	for _, ch := range changes {
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
	if !req.Apply || !out.Valid {
		return out, nil
	}
	batches, events := im.plan(req, changes, targets)
	if len(batches) > 0 {
		err := im.store.ApplyUserChangeBatches(ctx, batches, events...)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrPasswordLoginOff) ||
			errors.Is(err, store.ErrLastConsoleAdmin) {
			return ImportResult{}, fmt.Errorf("%w: %w", ErrImportRaced, err)
		}
		if err != nil {
			return ImportResult{}, fmt.Errorf("apply import: %w", err)
		}
		for _, b := range batches {
			out.IssuedLinks = out.IssuedLinks || slices.ContainsFunc(b.Changes, func(c store.UserChange) bool { return c.IssueLink != nil })
		}
	}
	out.Applied = true
	return out, nil
}

// Export returns the users of scope, or of every organisation of its branch,
// as a users file holds them, sorted by organisation and authid.
func (im *Importer) Export(ctx context.Context, scope string, branch bool) ([]userio.Record, error) {
	organisations := []string{scope}
	if branch {
		orgs, err := im.store.Branch(ctx, scope)
		if err != nil {
			return nil, fmt.Errorf("load organisations to export: %w", err)
		}
		organisations = organisations[:0]
		for _, o := range orgs {
			organisations = append(organisations, o.ID)
		}
	}
	var records []userio.Record
	for _, id := range organisations {
		account, err := im.accountUsers(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("load users of %s to export: %w", id, err)
		}
		records = append(records, account.records...)
	}
	slices.SortFunc(records, func(a, b userio.Record) int {
		return cmp.Or(cmp.Compare(a.Organisation, b.Organisation), cmp.Compare(a.AuthID, b.AuthID))
	})
	return records, nil
}

// accountUsers is an account's users as a file holds them.
type accountUsers struct {
	users   []store.User
	records []userio.Record // users[i] is records[i]
}

func (im *Importer) accountUsers(ctx context.Context, accountID string) (accountUsers, error) {
	users, err := im.store.ListUsers(ctx, store.UserFilter{AccountID: accountID})
	if err != nil {
		return accountUsers{}, err
	}
	assigned, err := im.store.ListAccountAssignments(ctx, accountID)
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

// importTarget is one organisation a file imports into, as it is before
// the import.
type importTarget struct {
	account   store.Account
	current   map[string]userio.Record // by authid
	users     map[string]store.User    // by authid
	methods   map[string][]string      // system name -> methods
	systemIDs map[string]string        // system name -> id
}

func (im *Importer) loadTarget(ctx context.Context, id string) (importTarget, error) {
	account, err := im.accountUsers(ctx, id)
	if err != nil {
		return importTarget{}, err
	}
	systems, err := im.store.ListSystems(ctx, id)
	if err != nil {
		return importTarget{}, err
	}
	// For a sub-organisation, the top organisation's email and password
	// switch: the one that applies.
	acc, err := im.store.GetAccount(ctx, id)
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

// compare compares each row with the organisation it names (its
// Organisation cell, else scope) and returns what importing it does, in
// file order, with the organisations named by id. A row naming an
// organisation outside the branch of scope is an error, in the same
// words whether or not that organisation exists; only the organisations
// the file names are loaded.
func (im *Importer) compare(ctx context.Context, scope string, rows []userio.Row) (map[string]importTarget, []userio.Change, error) {
	branch, err := im.store.Branch(ctx, scope)
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
		t, err := im.loadTarget(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("load organisation %s: %w", id, err)
		}
		targets[id] = t
		own := make([]userio.Row, len(indexes))
		for j, i := range indexes {
			own[j] = resolved[i]
		}
		diffed := userio.Diff(own, t.current, t.methods)
		KeepConsoleAdmins(diffed, t.current)
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
			changes[i].Errors = append(changes[i].Errors, MsgAccountSwitchOff)
		case !acc.EmailDelivery:
			changes[i].Errors = append(changes[i].Errors, MsgEmailDeliveryOff)
		}
	}
}

// plan turns the changed rows into the store's changes, a batch per
// organisation, and their audit events, each recorded in its user's
// organisation: user.created, user.updated, assignments.updated and, for
// users whose email login it turns on, welcome.requested.
func (im *Importer) plan(req ImportRequest, changes []userio.Change, targets map[string]importTarget) ([]store.UserChangeBatch, []store.AuditEvent) {
	now := im.now().UTC()
	home := cmp.Or(req.Home, req.Scope)
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
		detail := ProfileDetail(iu.User)
		detail["source"] = "import"
		switch {
		case iu.Create:
			events = append(events, req.Event("user.created", "", r.AuthID, detail))
		case profileChanged:
			iu.SaveProfile = true
			detail["changes"] = ch.Changes
			events = append(events, req.Event("user.updated", "", r.AuthID, detail))
		}
		PlanPasswordLogin(before, iu.User, t.account).Apply(&iu, &events, req.Event, "import")
		if systemsChanged {
			iu.ReplaceAssignments = true
			listed := make([]store.AssignedSystem, len(r.Systems))
			for i, a := range r.Systems {
				iu.Assignments = append(iu.Assignments, store.Assignment{UserID: iu.User.ID, SystemID: t.systemIDs[a.System], Method: a.Method})
				listed[i] = store.AssignedSystem{System: a.System, Method: a.Method}
			}
			events = append(events, req.Event("assignments.updated", "", r.AuthID,
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

// ProfileDetail is what the audit trail keeps of a profile change. The
// contact data is recorded because a changed address is how an account is
// taken over.
func ProfileDetail(u store.User) map[string]any {
	return map[string]any{"name": u.Name, "email": u.Email, "phone": u.Phone, "status": u.Status,
		"email_password_login": u.EmailPasswordLogin}
}
