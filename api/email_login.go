package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// Email and password sign-in: the account's switch (admin_account.go), each
// user's switch (one user in admin_users.go, a file in admin_import.go, a
// selection here), and the welcome link that turning a user's switch on
// sends (credential_links.go starts its delivery, welcome.go serves it).
//
// A user's switch can be turned on only while the account's is on, and
// only for a user with an email address, where the welcome link goes.
// Turning it off voids the user's welcome links. Turning the account's
// switch off (admin_account.go) deletes the users' passwords and second
// factors but leaves their switches: none can be turned on and no link
// works until it is on again, which sends them welcome links. A user who
// has a password is sent a reset link instead of a welcome link when an
// administrator resends (forgot.go serves users who ask themselves).

// Refusals of a user's switch, shared by every way of changing it.
const (
	msgAccountSwitchOff  = "email and password sign-in is off for the account; an organisation administrator turns it on first"
	msgEmailDeliveryOff  = "email delivery is off for the account, and the welcome link goes by email; turn email delivery on first"
	msgSwitchNeedsEmail  = "email and password sign-in needs the user's email address: the welcome link goes there"
	msgResendNeedsSwitch = "email and password sign-in is off for this user; enable it first"
)

// passwordLoginPlan is what a change of a user means for email and
// password sign-in.
type passwordLoginPlan struct {
	enables bool   // the switch goes on
	issue   string // why a link is requested ("" for none)
	purpose string // the link requested: store.LinkWelcome when "", or store.LinkReset
	void    bool   // the user's unused welcome links are voided
}

// Why a link is requested, as its audit event says.
const (
	welcomeEnabled      = "email and password sign-in turned on"
	welcomeEmailChanged = "email address changed before a password was set"
	welcomeResent       = "sent again by an administrator"
	welcomeAccountOn    = "email and password sign-in turned on again for the account: the user sets a password and enrols again"
	resetByAdmin        = "password reset sent by an administrator"
)

// resendPlan sends a user whose switch is on the link they need: a reset
// link when they have a password, else a new welcome link.
func resendPlan(u store.User) passwordLoginPlan {
	if u.PasswordHash != "" {
		return passwordLoginPlan{issue: resetByAdmin, purpose: store.LinkReset}
	}
	return passwordLoginPlan{issue: welcomeResent, purpose: store.LinkWelcome}
}

// linkPurpose is the purpose of the link the plan requests.
func (p passwordLoginPlan) linkPurpose() string {
	if p.purpose == "" {
		return store.LinkWelcome
	}
	return p.purpose
}

// planPasswordLogin compares a user before (nil for a new user) and after
// a change. Turning the switch on sends a welcome link; off voids the
// links. A changed email voids the links sent to the old address and, for
// a user who has no password yet, sends a new one to the new address when
// the account can send it.
func planPasswordLogin(before *store.User, after store.User, acc store.Account) passwordLoginPlan {
	wasOn := before != nil && before.EmailPasswordLogin
	switch {
	case after.EmailPasswordLogin && !wasOn:
		return passwordLoginPlan{enables: true, issue: welcomeEnabled}
	case !after.EmailPasswordLogin && wasOn:
		return passwordLoginPlan{void: true}
	case after.EmailPasswordLogin && before.Email != after.Email:
		p := passwordLoginPlan{void: true}
		if after.PasswordHash == "" && after.Email != "" && acc.EmailPasswordLogin && acc.EmailDelivery {
			p.issue = welcomeEmailChanged
		}
		return p
	}
	return passwordLoginPlan{}
}

// refusal says why the change cannot be made ("" when it can): the switch
// turned on while the account's is off or email delivery is off, or left
// on for a user without an email address.
func (p passwordLoginPlan) refusal(after store.User, acc store.Account) string {
	switch {
	case p.enables && !acc.EmailPasswordLogin:
		return msgAccountSwitchOff
	case after.EmailPasswordLogin && after.Email == "":
		return msgSwitchNeedsEmail
	case p.enables && !acc.EmailDelivery:
		return msgEmailDeliveryOff
	}
	return ""
}

// applyPlan adds the plan to the store's change of the user, with the audit
// event of a requested link.
func (s *Server) applyPlan(c *gin.Context, p passwordLoginPlan, change *store.UserChange, events *[]store.AuditEvent, source string) {
	change.EnablesPasswordLogin = p.enables
	if p.void {
		change.VoidLinks = []string{store.LinkWelcome}
	}
	if p.issue == "" {
		return
	}
	u := change.User
	purpose := p.linkPurpose()
	change.IssueLink = &store.CredentialLink{
		ID: uuid.NewString(), AccountID: u.AccountID, UserID: u.ID, Purpose: purpose, CreatedAt: u.UpdatedAt,
	}
	detail := map[string]any{"link": change.IssueLink.ID, "to": u.Email}
	if source != "" {
		detail["source"] = source
	}
	ev := s.auditEvent(c, attempt.LinkEvent(purpose, "requested"), "", u.AuthID, detail)
	ev.Reasons = []string{p.issue}
	*events = append(*events, ev)
}

// passwordLoginError maps the store's refusal of a switch to its 409.
func passwordLoginError(err error) (*requestError, bool) {
	if errors.Is(err, store.ErrPasswordLoginOff) {
		return &requestError{status: http.StatusConflict, msg: msgAccountSwitchOff}, true
	}
	return nil, false
}

// Bulk actions on a selection of users (the console's "Email login
// actions").
const (
	emailLoginEnable  = "enable"
	emailLoginDisable = "disable"
	emailLoginResend  = "resend"
	// maxEmailLoginUsers bounds a selection: a page of the users list.
	maxEmailLoginUsers = maxPageSize
)

// What an action did to one user.
const (
	resultEnabled   = "enabled"
	resultDisabled  = "disabled"
	resultResent    = "resent"
	resultUnchanged = "unchanged"
	resultError     = "error"
)

type emailLoginRequest struct {
	AuthIDs []string `json:"authids"`
	Action  string   `json:"action"`
}

// emailLoginResultJSON is what an action did to one user: result enabled,
// disabled, resent, unchanged or error (with the error and the status the
// user's own call would have answered: 404 or 409). Link names the link
// resent: reset for a user who has a password, welcome for one who has
// none yet.
type emailLoginResultJSON struct {
	AuthID string `json:"authid"`
	Result string `json:"result"`
	Link   string `json:"link,omitempty"`
	Error  string `json:"error,omitempty"`
	Status int    `json:"status,omitempty"`
}

type emailLoginSummaryJSON struct {
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	Errors    int `json:"errors"`
}

type emailLoginJSON struct {
	Action  string                 `json:"action"`
	Results []emailLoginResultJSON `json:"results"`
	Summary emailLoginSummaryJSON  `json:"summary"`
}

// emailLoginActions enables, disables or resends the welcome email (the
// password reset email, to users who have a password) of a selection of
// users. Each user is judged alone (an unknown user, or one
// without an email, is an error in its result and does not stop the
// others); the changes of every user that can be changed are applied in
// one transaction, audited per user. An action the account does not allow
// at all (enable or resend while its switch or email delivery is off) is
// refused whole with 409.
func (s *Server) emailLoginActions(c *gin.Context) {
	var req emailLoginRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	switch {
	case req.Action != emailLoginEnable && req.Action != emailLoginDisable && req.Action != emailLoginResend:
		failf(c, http.StatusBadRequest, "action must be %s, %s or %s", emailLoginEnable, emailLoginDisable, emailLoginResend)
		return
	case len(req.AuthIDs) == 0:
		fail(c, http.StatusBadRequest, "authids must list at least one user")
		return
	case len(req.AuthIDs) > maxEmailLoginUsers:
		failf(c, http.StatusBadRequest, "authids may list at most %d users", maxEmailLoginUsers)
		return
	}
	ctx := c.Request.Context()
	who := caller(c)
	acc, err := s.store.GetAccount(ctx, who.AccountID)
	if err != nil {
		s.internalError(c, "load account", err)
		return
	}
	if req.Action != emailLoginDisable {
		switch {
		case !acc.EmailPasswordLogin:
			fail(c, http.StatusConflict, msgAccountSwitchOff)
			return
		case !acc.EmailDelivery:
			fail(c, http.StatusConflict, msgEmailDeliveryOff)
			return
		}
	}

	out := emailLoginJSON{Action: req.Action, Results: []emailLoginResultJSON{}}
	var changes []store.UserChange
	var events []store.AuditEvent
	seen := map[string]bool{}
	now := s.now().UTC()
	for _, authid := range req.AuthIDs {
		if seen[authid] {
			continue
		}
		seen[authid] = true
		res, change, err := s.emailLoginAction(c, acc, req.Action, authid, now, "selection", &events)
		if err != nil {
			s.internalError(c, "load user", err)
			return
		}
		out.Results = append(out.Results, res)
		switch {
		case res.Result == resultError:
			out.Summary.Errors++
		case res.Result == resultUnchanged:
			out.Summary.Unchanged++
		default:
			out.Summary.Changed++
			changes = append(changes, change)
		}
	}
	if len(changes) > 0 {
		err := s.store.ApplyUserChanges(ctx, who.AccountID, changes, events...)
		if rerr, ok := passwordLoginError(err); ok {
			respondError(c, rerr)
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			fail(c, http.StatusConflict, "users changed meanwhile; nothing was applied, try again")
			return
		}
		if err != nil {
			s.internalError(c, "apply email login action", err)
			return
		}
		s.wakeLinkDispatcher()
	}
	c.JSON(http.StatusOK, out)
}

// emailLoginAction judges one user of a bulk action (source "selection")
// or of a single user's call (source ""): its result and, when it
// changes, the store's change (its events appended to events).
func (s *Server) emailLoginAction(c *gin.Context, acc store.Account, action, authid string, now time.Time, source string,
	events *[]store.AuditEvent) (emailLoginResultJSON, store.UserChange, error) {
	res := emailLoginResultJSON{AuthID: authid}
	refuse := func(status int, msg string) (emailLoginResultJSON, store.UserChange, error) {
		res.Result, res.Status, res.Error = resultError, status, msg
		return res, store.UserChange{}, nil
	}
	if err := userio.CheckAuthID(authid); err != nil {
		return refuse(http.StatusBadRequest, err.Error())
	}
	before, err := s.store.GetUser(c.Request.Context(), acc.ID, authid)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(http.StatusNotFound, fmt.Sprintf("user %q not found", authid))
	}
	if err != nil {
		return res, store.UserChange{}, err
	}
	after := before
	after.UpdatedAt = now
	change := store.UserChange{User: after}
	var p passwordLoginPlan
	switch action {
	case emailLoginEnable, emailLoginDisable:
		after.EmailPasswordLogin = action == emailLoginEnable
		if after.EmailPasswordLogin == before.EmailPasswordLogin {
			res.Result = resultUnchanged
			return res, store.UserChange{}, nil
		}
		change.User, change.SaveProfile = after, true
		p = planPasswordLogin(&before, after, acc)
		res.Result = resultDisabled
		if after.EmailPasswordLogin {
			res.Result = resultEnabled
		}
	case emailLoginResend:
		if !before.EmailPasswordLogin {
			return refuse(http.StatusConflict, msgResendNeedsSwitch)
		}
		p = resendPlan(before)
		res.Result, res.Link = resultResent, p.linkPurpose()
	}
	if msg := p.refusal(after, acc); msg != "" {
		return refuse(http.StatusConflict, msg)
	}
	if change.SaveProfile {
		detail := profileDetail(after)
		detail["changes"] = []string{"email_password_login"}
		detail["source"] = source
		*events = append(*events, s.auditEvent(c, "user.updated", "", authid, detail))
	}
	s.applyPlan(c, p, &change, events, source)
	return res, change, nil
}

// passwordResetJSON answers a single user's password reset: which link
// went.
type passwordResetJSON struct {
	Link string `json:"link"`
}

// sendPasswordReset sends one user a password reset link, or a new
// welcome link when they have no password yet (POST
// /v1/admin/users/{authid}/password-reset): the bulk action resend for one
// user, answered 202 once the link's row is committed (the message goes
// after). 404 for an unknown user, 409 when the account's or the user's
// switch, or email delivery, is off, or the user has no email address.
func (s *Server) sendPasswordReset(c *gin.Context) {
	ctx := c.Request.Context()
	acc, err := s.store.GetAccount(ctx, caller(c).AccountID)
	if err != nil {
		s.internalError(c, "load account", err)
		return
	}
	switch {
	case !acc.EmailPasswordLogin:
		fail(c, http.StatusConflict, msgAccountSwitchOff)
		return
	case !acc.EmailDelivery:
		fail(c, http.StatusConflict, msgEmailDeliveryOff)
		return
	}
	var events []store.AuditEvent
	res, change, err := s.emailLoginAction(c, acc, emailLoginResend, c.Param("authid"), s.now().UTC(), "", &events)
	if err != nil {
		s.internalError(c, "load user", err)
		return
	}
	if res.Result == resultError {
		fail(c, res.Status, res.Error)
		return
	}
	err = s.store.ApplyUserChanges(ctx, acc.ID, []store.UserChange{change}, events...)
	if rerr, ok := passwordLoginError(err); ok {
		respondError(c, rerr)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		fail(c, http.StatusNotFound, fmt.Sprintf("user %q not found", c.Param("authid")))
		return
	}
	if err != nil {
		s.internalError(c, "send password reset", err)
		return
	}
	s.wakeLinkDispatcher()
	c.JSON(http.StatusAccepted, passwordResetJSON{Link: res.Link})
}
