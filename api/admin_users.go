package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// Admin API: users and their assignments.

// User limits.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
	maxSearchLength = 256
)

type userJSON struct {
	AuthID string `json:"authid"`
	// Organisation is the ID of the organisation the user belongs to: the
	// one acted on, or a descendant in a branch list.
	Organisation string `json:"organisation"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	Status       string `json:"status"`
	// EmailPasswordLogin is the user's switch for sign-in with email and
	// password; PasswordSetAt and PasswordChangedAt say when the user set
	// a password (the password and its hash are never shown).
	EmailPasswordLogin bool       `json:"email_password_login"`
	PasswordSetAt      *time.Time `json:"password_set_at"`
	PasswordChangedAt  *time.Time `json:"password_changed_at"`
	TOTPEnabled        bool       `json:"totp_enabled"`
	// TOTPEnabledAt, TwoFactorResetAt and EmailVerifiedAt say when the
	// authenticator was enrolled, the second factor last reset and the
	// email address proved (null for never, or before it was recorded).
	TOTPEnabledAt    *time.Time             `json:"totp_enabled_at"`
	TwoFactorResetAt *time.Time             `json:"two_factor_reset_at"`
	EmailVerifiedAt  *time.Time             `json:"email_verified_at"`
	LastLoginAt      *time.Time             `json:"last_login_at"`
	LoginCount       int                    `json:"login_count"`
	LastIP           string                 `json:"last_ip"`
	CreatedAt        time.Time              `json:"created_at"`
	UpdatedAt        time.Time              `json:"updated_at"`
	Assignments      []store.AssignedSystem `json:"assignments"`
	// RecoveryCodesLeft is filled in by withRecoveryCodes.
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
	SSOBound          bool `json:"sso_bound"`
	// Lockouts is filled in for one user (not in lists): the runs of wrong
	// codes per factor and whether they locked it.
	Lockouts []lockoutJSON `json:"lockouts,omitempty"`
}

func toUserJSON(u store.User, as []store.AssignedSystem) userJSON {
	if as == nil {
		as = []store.AssignedSystem{}
	}
	return userJSON{
		AuthID: u.AuthID, Organisation: u.AccountID, Name: u.Name, Email: u.Email, Phone: u.Phone, Status: u.Status,
		EmailPasswordLogin: u.EmailPasswordLogin, PasswordSetAt: u.PasswordSetAt, PasswordChangedAt: u.PasswordChangedAt,
		TOTPEnabled: u.TOTPEnabled, TOTPEnabledAt: u.TOTPEnabledAt, TwoFactorResetAt: u.TwoFactorResetAt, EmailVerifiedAt: u.EmailVerifiedAt,
		LastLoginAt: u.LastLoginAt, LoginCount: u.LoginCount, LastIP: u.LastIP,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Assignments: as,
		SSOBound: u.SSOSubject != "",
	}
}

// withRecoveryCodes fills in how many recovery codes the user has left.
func (s *Server) withRecoveryCodes(ctx context.Context, u store.User, out userJSON) (userJSON, error) {
	n, err := s.store.CountUnusedRecoveryCodes(ctx, u.ID)
	if err != nil {
		return userJSON{}, err
	}
	out.RecoveryCodesLeft = n
	return out, nil
}

type createUserRequest struct {
	AuthID             string `json:"authid"`
	Name               string `json:"name"`
	Email              string `json:"email"`
	Phone              string `json:"phone"`
	Status             string `json:"status"`
	EmailPasswordLogin bool   `json:"email_password_login"`
}

// updateUserRequest is a partial update; the authid cannot change, since
// applications know their users by it.
type updateUserRequest struct {
	Name               *string `json:"name"`
	Email              *string `json:"email"`
	Phone              *string `json:"phone"`
	Status             *string `json:"status"`
	EmailPasswordLogin *bool   `json:"email_password_login"`
}

func (s *Server) createUser(c *gin.Context) {
	var req createUserRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if req.Status == "" {
		req.Status = store.UserActive
	}
	rerr := firstError(validAuthID(req.AuthID), validName(req.Name), validEmail(req.Email), validPhone(req.Phone), validStatus(req.Status))
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	ctx := c.Request.Context()
	acc, err := s.store.GetAccount(ctx, caller(c).AccountID)
	if err != nil {
		s.internalError(c, "load account", err)
		return
	}
	now := s.now().UTC()
	u := store.User{
		ID: uuid.NewString(), AccountID: acc.ID, AuthID: req.AuthID, Name: req.Name,
		Email: req.Email, Phone: req.Phone, Status: req.Status, EmailPasswordLogin: req.EmailPasswordLogin,
		CreatedAt: now, UpdatedAt: now,
	}
	plan := admin.PlanPasswordLogin(nil, u, acc)
	if msg := plan.Refusal(u, acc); msg != "" {
		fail(c, http.StatusConflict, msg)
		return
	}
	change := store.UserChange{User: u, Create: true}
	events := []store.AuditEvent{s.auditEvent(c, "user.created", "", u.AuthID, admin.ProfileDetail(u))}
	plan.Apply(&change, &events, s.eventFor(c), "")
	err = s.store.ApplyUserChanges(ctx, acc.ID, []store.UserChange{change}, events...)
	if rerr, ok := passwordLoginError(err); ok {
		respondError(c, rerr)
		return
	}
	if errors.Is(err, store.ErrConflict) {
		failf(c, http.StatusConflict, "user %q already exists", req.AuthID)
		return
	}
	if err != nil {
		s.internalError(c, "create user", err)
		return
	}
	if change.IssueLink != nil {
		s.wakeLinkDispatcher()
	}
	c.JSON(http.StatusCreated, toUserJSON(u, nil))
}

func (s *Server) listUsers(c *gin.Context) {
	q := c.Query("q")
	if utf8.RuneCountInString(q) > maxSearchLength {
		failf(c, http.StatusBadRequest, "q must be at most %d characters", maxSearchLength)
		return
	}
	limit, rerr := intParam(c, "limit", defaultPageSize, 1, maxPageSize)
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	offset, rerr := intParam(c, "offset", 0, 0, 1<<31-1)
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	branch, ok := branchParam(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	filter := store.UserFilter{AccountID: caller(c).AccountID, Branch: branch, Search: q, Limit: limit, Offset: offset}
	users, err := s.store.ListUsers(ctx, filter)
	if err != nil {
		s.internalError(c, "list users", err)
		return
	}
	total, err := s.store.CountUsers(ctx, filter)
	if err != nil {
		s.internalError(c, "count users", err)
		return
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		as, err := s.store.ListAssignments(ctx, u.ID)
		if err != nil {
			s.internalError(c, "list assignments", err)
			return
		}
		if out[i], err = s.withRecoveryCodes(ctx, u, toUserJSON(u, as)); err != nil {
			s.internalError(c, "count recovery codes", err)
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"users": out, "total": total})
}

// loadUser loads the :authid user or answers 404.
func (s *Server) loadUser(c *gin.Context) (store.User, bool) {
	authid := c.Param("authid")
	u, err := s.store.GetUser(c.Request.Context(), caller(c).AccountID, authid)
	if errors.Is(err, store.ErrNotFound) {
		failf(c, http.StatusNotFound, "user %q not found", authid)
		return store.User{}, false
	}
	if err != nil {
		s.internalError(c, "load user", err)
		return store.User{}, false
	}
	return u, true
}

// respondUser answers with u as the admin API shows a user: with its
// assignments and recovery codes left.
func (s *Server) respondUser(c *gin.Context, u store.User) {
	ctx := c.Request.Context()
	as, err := s.store.ListAssignments(ctx, u.ID)
	if err != nil {
		s.internalError(c, "list assignments", err)
		return
	}
	out, err := s.withRecoveryCodes(ctx, u, toUserJSON(u, as))
	if err != nil {
		s.internalError(c, "count recovery codes", err)
		return
	}
	if out.Lockouts, err = s.lockouts(ctx, u.ID); err != nil {
		s.internalError(c, "load lock-outs", err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getUser(c *gin.Context) {
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	s.respondUser(c, u)
}

func (s *Server) updateUser(c *gin.Context) {
	var req updateUserRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	before := u
	// Email and phone are where sign-in links and codes go; status is
	// whether the user may sign in at all.
	changesSignIn := req.Email != nil && *req.Email != u.Email || req.Phone != nil && *req.Phone != u.Phone ||
		req.Status != nil && *req.Status != u.Status
	if changesSignIn && !s.freshForConsoleUser(c, u) {
		return
	}
	if req.Status != nil && *req.Status == store.UserDisabled && !s.keepsConsoleAdmin(c, u) {
		return
	}
	var rerrs []*requestError
	if req.Name != nil {
		rerrs = append(rerrs, validName(*req.Name))
		u.Name = *req.Name
	}
	if req.Email != nil {
		rerrs = append(rerrs, validEmail(*req.Email))
		u.Email = *req.Email
	}
	if req.Phone != nil {
		rerrs = append(rerrs, validPhone(*req.Phone))
		u.Phone = *req.Phone
	}
	if req.Status != nil {
		rerrs = append(rerrs, validStatus(*req.Status))
		u.Status = *req.Status
	}
	if req.EmailPasswordLogin != nil {
		u.EmailPasswordLogin = *req.EmailPasswordLogin
	}
	if rerr := firstError(rerrs...); rerr != nil {
		respondError(c, rerr)
		return
	}
	ctx := c.Request.Context()
	acc, err := s.store.GetAccount(ctx, caller(c).AccountID)
	if err != nil {
		s.internalError(c, "load account", err)
		return
	}
	u.UpdatedAt = s.now().UTC()
	plan := admin.PlanPasswordLogin(&before, u, acc)
	if msg := plan.Refusal(u, acc); msg != "" {
		fail(c, http.StatusConflict, msg)
		return
	}
	change := store.UserChange{User: u, SaveProfile: true}
	events := []store.AuditEvent{s.auditEvent(c, "user.updated", "", u.AuthID, admin.ProfileDetail(u))}
	plan.Apply(&change, &events, s.eventFor(c), "")
	err = s.store.ApplyUserChanges(ctx, acc.ID, []store.UserChange{change}, events...)
	if rerr, ok := passwordLoginError(err); ok {
		respondError(c, rerr)
		return
	}
	if rerr, ok := lastConsoleAdminError(err, u.AuthID); ok {
		respondError(c, rerr)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		failf(c, http.StatusNotFound, "user %q not found", u.AuthID)
		return
	}
	if err != nil {
		s.internalError(c, "update user", err)
		return
	}
	if change.IssueLink != nil {
		s.wakeLinkDispatcher()
	}
	s.respondUser(c, u)
}

func (s *Server) deleteUser(c *gin.Context) {
	authid := c.Param("authid")
	u, ok := s.loadUser(c)
	// Deleting an administrator takes their console assignment away, as
	// disabling them does.
	if !ok || !s.freshForConsoleUser(c, u) || !s.keepsConsoleAdmin(c, u) {
		return
	}
	err := s.store.DeleteUser(c.Request.Context(), caller(c).AccountID, authid, s.auditEvent(c, "user.deleted", "", authid, nil))
	if rerr, ok := lastConsoleAdminError(err, authid); ok {
		respondError(c, rerr)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		failf(c, http.StatusNotFound, "user %q not found", authid)
		return
	}
	if err != nil {
		s.internalError(c, "delete user", err)
		return
	}
	c.Status(http.StatusNoContent)
}

type assignmentsRequest struct {
	Assignments *[]store.AssignedSystem `json:"assignments"`
}

func (s *Server) getAssignments(c *gin.Context) {
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	as, err := s.store.ListAssignments(c.Request.Context(), u.ID)
	if err != nil {
		s.internalError(c, "list assignments", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"assignments": as})
}

// setAssignments replaces all of a user's assignments at once: the body is
// the complete list.
func (s *Server) setAssignments(c *gin.Context) {
	var req assignmentsRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if req.Assignments == nil {
		fail(c, http.StatusBadRequest, "assignments is required (an empty array removes them all)")
		return
	}
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	// Who may sign in to the console, and how, is who administers the
	// account: a stale session must not grant it (or take it away).
	current, err := s.store.ListAssignments(ctx, u.ID)
	if err != nil {
		s.internalError(c, "list assignments", err)
		return
	}
	if consoleAssignment(current) != consoleAssignment(*req.Assignments) && !s.fresh(c) {
		return
	}
	if !slices.ContainsFunc(*req.Assignments, func(a store.AssignedSystem) bool { return a.System == consoleSystem }) && !s.keepsConsoleAdmin(c, u) {
		return
	}
	rows, rerr, err := s.resolveAssignments(ctx, caller(c).AccountID, u.ID, *req.Assignments)
	if err != nil {
		s.internalError(c, "resolve assignments", err)
		return
	}
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	ev := s.auditEvent(c, "assignments.updated", "", u.AuthID, map[string]any{"assignments": *req.Assignments})
	err = s.store.SetAssignments(ctx, u.ID, rows, ev)
	if rerr, ok := lastConsoleAdminError(err, u.AuthID); ok {
		respondError(c, rerr)
		return
	}
	if err != nil {
		s.internalError(c, "set assignments", err)
		return
	}
	as, err := s.store.ListAssignments(ctx, u.ID)
	if err != nil {
		s.internalError(c, "list assignments", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"assignments": as})
}

// consoleAssignment is the console assignment among as, or the zero value
// when there is none.
func consoleAssignment(as []store.AssignedSystem) store.AssignedSystem {
	for _, a := range as {
		if a.System == consoleSystem {
			return a
		}
	}
	return store.AssignedSystem{}
}

// freshForConsoleUser asks for a fresh sign-in (see fresh) when u is
// assigned the console system, whatever its status (enabling a disabled
// administrator again is as sensitive as disabling one). It reports
// whether the change may go ahead.
func (s *Server) freshForConsoleUser(c *gin.Context, u store.User) bool {
	as, err := s.store.ListAssignments(c.Request.Context(), u.ID)
	if err != nil {
		s.internalError(c, "list assignments", err)
		return false
	}
	if consoleAssignment(as) == (store.AssignedSystem{}) {
		return true
	}
	return s.fresh(c)
}

// resolveAssignments checks every requested assignment against its system
// and returns the rows to store, or what is wrong with the request.
func (s *Server) resolveAssignments(ctx context.Context, accountID, userID string, req []store.AssignedSystem) ([]store.Assignment, *requestError, error) {
	rows := make([]store.Assignment, 0, len(req))
	seen := map[string]bool{}
	for i, a := range req {
		if a.System == "" || a.Method == "" {
			return nil, badRequest("assignments[%d] needs both system and method", i), nil
		}
		if seen[a.System] {
			return nil, badRequest("system %q is listed twice; a user has one method per system", a.System), nil
		}
		seen[a.System] = true
		sys, err := s.store.GetSystem(ctx, accountID, a.System)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &requestError{status: http.StatusNotFound, msg: fmt.Sprintf("system %q not found", a.System)}, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if !slices.Contains(sys.Methods, a.Method) {
			return nil, badRequest("system %q does not enable method %q (it enables %s)",
				a.System, a.Method, strings.Join(sys.Methods, ", ")), nil
		}
		rows = append(rows, store.Assignment{UserID: userID, SystemID: sys.ID, Method: a.Method})
	}
	return rows, nil, nil
}

// The field checks are userio's, so that a user created here and one
// imported from a file obey the same rules.

func validAuthID(authid string) *requestError { return checked(userio.CheckAuthID(authid)) }
func validName(name string) *requestError     { return checked(userio.CheckName(name)) }
func validEmail(email string) *requestError   { return checked(userio.CheckEmail(email)) }
func validPhone(phone string) *requestError   { return checked(userio.CheckPhone(phone)) }
func validStatus(status string) *requestError { return checked(userio.CheckStatus(status)) }

// checked turns a field check's error into a 400.
func checked(err error) *requestError {
	if err != nil {
		return badRequest("%s", err)
	}
	return nil
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(c *gin.Context, name string, def, lo, hi int) (int, *requestError) {
	raw, ok := c.GetQuery(name)
	if !ok || raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s must be an integer between %d and %d", name, lo, hi)
	}
	return n, nil
}
