package admin

import (
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// Email and password sign-in: what a change of a user means for it, for
// every way of changing a user (one user, a file, a selection in the
// console). A user's switch can be turned on only while the account's is
// on, and only for a user with an email address, where the welcome link
// goes. Turning it off voids the user's welcome links.

// Refusals of a user's switch, shared by every way of changing it.
const (
	MsgAccountSwitchOff  = "email and password sign-in is off for the account; an organisation administrator turns it on first"
	MsgEmailDeliveryOff  = "email delivery is off for the account, and the welcome link goes by email; turn email delivery on first"
	MsgSwitchNeedsEmail  = "email and password sign-in needs the user's email address: the welcome link goes there"
	MsgResendNeedsSwitch = "email and password sign-in is off for this user; enable it first"
)

// Why a link is requested, as its audit event says.
const (
	WelcomeEnabled      = "email and password sign-in turned on"
	WelcomeEmailChanged = "email address changed before a password was set"
	WelcomeResent       = "sent again by an administrator"
	WelcomeAccountOn    = "email and password sign-in turned on again for the account: the user sets a password and enrols again"
	ResetByAdmin        = "password reset sent by an administrator"
)

// PasswordLoginPlan is what a change of a user means for email and
// password sign-in.
type PasswordLoginPlan struct {
	Enables bool   // the switch goes on
	Issue   string // why a link is requested ("" for none)
	Purpose string // the link requested: store.LinkWelcome when "", or store.LinkReset
	Void    bool   // the user's unused welcome links are voided
}

// ResendPlan sends a user whose switch is on the link they need: a reset
// link when they have a password, else a new welcome link.
func ResendPlan(u store.User) PasswordLoginPlan {
	if u.PasswordHash != "" {
		return PasswordLoginPlan{Issue: ResetByAdmin, Purpose: store.LinkReset}
	}
	return PasswordLoginPlan{Issue: WelcomeResent, Purpose: store.LinkWelcome}
}

// LinkPurpose is the purpose of the link the plan requests.
func (p PasswordLoginPlan) LinkPurpose() string {
	if p.Purpose == "" {
		return store.LinkWelcome
	}
	return p.Purpose
}

// PlanPasswordLogin compares a user before (nil for a new user) and after
// a change. Turning the switch on sends a welcome link; off voids the
// links. A changed email voids the links sent to the old address and, for
// a user who has no password yet, sends a new one to the new address when
// the account can send it.
func PlanPasswordLogin(before *store.User, after store.User, acc store.Account) PasswordLoginPlan {
	wasOn := before != nil && before.EmailPasswordLogin
	switch {
	case after.EmailPasswordLogin && !wasOn:
		return PasswordLoginPlan{Enables: true, Issue: WelcomeEnabled}
	case !after.EmailPasswordLogin && wasOn:
		return PasswordLoginPlan{Void: true}
	case after.EmailPasswordLogin && before.Email != after.Email:
		p := PasswordLoginPlan{Void: true}
		if after.PasswordHash == "" && after.Email != "" && acc.EmailPasswordLogin && acc.EmailDelivery {
			p.Issue = WelcomeEmailChanged
		}
		return p
	}
	return PasswordLoginPlan{}
}

// Refusal says why the change cannot be made ("" when it can): the switch
// turned on while the account's is off or email delivery is off, or left
// on for a user without an email address.
func (p PasswordLoginPlan) Refusal(after store.User, acc store.Account) string {
	switch {
	case p.Enables && !acc.EmailPasswordLogin:
		return MsgAccountSwitchOff
	case after.EmailPasswordLogin && after.Email == "":
		return MsgSwitchNeedsEmail
	case p.Enables && !acc.EmailDelivery:
		return MsgEmailDeliveryOff
	}
	return ""
}

// Apply adds the plan to the store's change of the user, with the audit
// event of a requested link (its detail says source when set).
func (p PasswordLoginPlan) Apply(change *store.UserChange, events *[]store.AuditEvent, event EventFunc, source string) {
	change.EnablesPasswordLogin = p.Enables
	if p.Void {
		change.VoidLinks = []string{store.LinkWelcome}
	}
	if p.Issue == "" {
		return
	}
	u := change.User
	purpose := p.LinkPurpose()
	change.IssueLink = &store.CredentialLink{
		ID: uuid.NewString(), AccountID: u.AccountID, UserID: u.ID, Purpose: purpose, CreatedAt: u.UpdatedAt,
	}
	detail := map[string]any{"link": change.IssueLink.ID, "to": u.Email}
	if source != "" {
		detail["source"] = source
	}
	ev := event(attempt.LinkEvent(purpose, "requested"), "", u.AuthID, detail)
	ev.Reasons = []string{p.Issue}
	*events = append(*events, ev)
}
