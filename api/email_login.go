package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// Email and password sign-in: the account's switch (admin_account.go), each
// user's switch (one user in admin_users.go, a file in admin_import.go, a
// selection here), and the welcome link that turning a user's switch on
// sends (credential_links.go starts its delivery, welcome.go serves it).
// What a change of a user means for the switch and its links is
// admin.PasswordLoginPlan, shared by all three.
//
// A user's switch can be turned on only while the account's is on, and
// only for a user with an email address, where the welcome link goes.
// Turning it off voids the user's welcome links. Turning the account's
// switch off (admin_account.go) deletes the users' passwords and second
// factors but leaves their switches: none can be turned on and no link
// works until it is on again, which sends them welcome links. A user who
// has a password is sent a reset link instead of a welcome link when an
// administrator resends (forgot.go serves users who ask themselves).

// passwordLoginError maps the store's refusal of a switch to its 409.
func passwordLoginError(err error) (*requestError, bool) {
	if errors.Is(err, store.ErrPasswordLoginOff) {
		return &requestError{status: http.StatusConflict, msg: admin.MsgAccountSwitchOff}, true
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
			fail(c, http.StatusConflict, admin.MsgAccountSwitchOff)
			return
		case !acc.EmailDelivery:
			fail(c, http.StatusConflict, admin.MsgEmailDeliveryOff)
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
		switch res.Result {
		case resultError:
			out.Summary.Errors++
		case resultUnchanged:
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
	var p admin.PasswordLoginPlan
	switch action {
	case emailLoginEnable, emailLoginDisable:
		after.EmailPasswordLogin = action == emailLoginEnable
		if after.EmailPasswordLogin == before.EmailPasswordLogin {
			res.Result = resultUnchanged
			return res, store.UserChange{}, nil
		}
		change.User, change.SaveProfile = after, true
		p = admin.PlanPasswordLogin(&before, after, acc)
		res.Result = resultDisabled
		if after.EmailPasswordLogin {
			res.Result = resultEnabled
		}
	case emailLoginResend:
		if !before.EmailPasswordLogin {
			return refuse(http.StatusConflict, admin.MsgResendNeedsSwitch)
		}
		p = admin.ResendPlan(before)
		res.Result, res.Link = resultResent, p.LinkPurpose()
	}
	if msg := p.Refusal(after, acc); msg != "" {
		return refuse(http.StatusConflict, msg)
	}
	if change.SaveProfile {
		detail := admin.ProfileDetail(after)
		detail["changes"] = []string{"email_password_login"}
		detail["source"] = source
		*events = append(*events, s.auditEvent(c, "user.updated", "", authid, detail))
	}
	p.Apply(&change, events, s.eventFor(c), source)
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
		fail(c, http.StatusConflict, admin.MsgAccountSwitchOff)
		return
	case !acc.EmailDelivery:
		fail(c, http.StatusConflict, admin.MsgEmailDeliveryOff)
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
