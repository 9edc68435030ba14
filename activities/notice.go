package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/messages"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/store"
)

// Security notices (store/notices.go): the change that calls for one
// queues it in its own transaction, and DeliverCredentialLink sends it by
// email like a link, without a token.

// noticeTo is the notice of kind to user about what happened in the
// attempt s, or nil when the user has no address to tell it to.
func noticeTo(user store.User, s Subject, kind, by string, at time.Time) *store.CredentialLink {
	if user.Email == "" {
		return nil
	}
	n := store.NewNotice(uuid.NewString(), user.AccountID, user.ID, store.NoticeOf{Kind: kind, At: at, IP: s.IP, By: by, System: s.System})
	return &n
}

// deliverNotice sends a security notice: by email only, and whatever the
// switches of email and password sign-in say now (it tells of something
// that happened), but only when the account sends email.
func (a *Activities) deliverNotice(ctx context.Context, link store.CredentialLink, acc store.Account, user store.User) (CredentialLinkResult, error) {
	switch {
	case !acc.EmailDelivery:
		return refuseDelivery("email delivery is off for the account, and the notice goes by email")
	case user.Email == "":
		return refuseDelivery("the user has no email address")
	}
	plugin, ok, err := a.plugin(ctx, acc.ID, "email")
	if err != nil {
		return CredentialLinkResult{}, err
	}
	if !ok {
		return refuseDelivery("no delivery plugin for channel email")
	}
	n := store.NoticeOfLink(link)
	req, ok := noticeMessage(link.ID, n, acc, user)
	if !ok {
		return refuseDelivery("no message for notices of kind " + n.Kind)
	}
	// flexauth words what happened; the account's notice template frames it.
	levels, err := a.store.MessageLevels(ctx, acc.ID, "")
	if err != nil {
		return CredentialLinkResult{}, err
	}
	d := messages.Data{Account: acc.ID, Organisation: organisation(acc), Purpose: store.LinkNotice, To: user.Email, Name: user.Name,
		Subject: req.Subject, Text: req.Text}
	out, err := messages.Render(messages.Notice, "email", d, levels...)
	if err != nil {
		return refuseDelivery("render notice: " + err.Error())
	}
	req.Subject, req.Text, req.HTML = out.Subject, out.Text, out.HTML
	if _, err := a.plugins.Send(ctx, plugin, req); err != nil {
		if errors.Is(err, sdk.ErrPermanent) {
			return refuseDelivery("deliver notice: " + err.Error())
		}
		return CredentialLinkResult{}, fmt.Errorf("deliver notice: %w", err)
	}
	now := a.now().UTC()
	ev := store.AuditEvent{
		AccountID: acc.ID, Time: now, Type: attempt.LinkEvent(link.Purpose, "sent"), AuthID: user.AuthID,
		Reasons: []string{"sent by email through " + plugin},
		Detail: map[string]any{
			"actor": "flexauth", "link": link.ID, "kind": n.Kind, "channel": "email", "plugin": plugin, "to": user.Email,
		},
	}
	if _, err := a.store.CredentialLinkSent(ctx, link.ID, now, ev); err != nil {
		return CredentialLinkResult{}, err // retried: a plugin delivers an ID once
	}
	return CredentialLinkResult{State: LinkSent}, nil
}

// refuseDelivery is a delivery refused for good: not retried, recorded by
// the workflow on the link.
func refuseDelivery(reason string) (CredentialLinkResult, error) {
	return CredentialLinkResult{}, temporal.NewNonRetryableApplicationError(reason, ErrTypeDelivery, nil)
}

// noticeMessage is the message of a notice, its subject and sentence
// before the notice template frames them (greeting, signature, HTML), or
// false for a kind it does not know.
func noticeMessage(id string, n store.NoticeOf, acc store.Account, user store.User) (sdk.SendRequest, bool) {
	org := acc.Name
	if org == "" {
		org = acc.ID
	}
	from := n.IP
	if from == "" {
		from = "an unknown address"
	}
	who := map[string]string{
		store.NoticeBySelf:          "in your security settings",
		store.NoticeByAdministrator: "by an administrator of " + org,
		store.NoticeBySignIn:        "while signing in",
	}[n.By]
	when := n.At.UTC().Format("2 January 2006, 15:04 UTC")
	req := sdk.SendRequest{
		ID: id, Channel: "email", To: user.Email,
		Metadata: map[string]string{"account": acc.ID, "purpose": store.LinkNotice, "kind": n.Kind},
	}
	// Every notice ends alike: what to do when it was not the user.
	unexpected := "If this was you, there is nothing more to do. If it was not, tell your organisation's administrator at once."
	var what string
	switch n.Kind {
	case store.NoticeTOTPEnabled:
		req.Subject = "An authenticator app was set up for " + org
		what = "An authenticator app was set up for your sign-in to " + org + " " + who
	case store.NoticeRecoveryCodes:
		req.Subject = "New recovery codes for " + org
		what = "A new set of recovery codes was made for your sign-in to " + org + " " + who + "; the codes you had before no longer work"
	case store.NoticeTwoFactorReset:
		req.Subject = "Your two-step verification for " + org + " was reset"
		what = "Your authenticator app and recovery codes for " + org + " were removed " + who +
			"; the next sign-in asks for a new authenticator app to be set up"
	case store.NoticePasswordChanged:
		req.Subject = "Your password for " + org + " was changed"
		what = "The password you sign in to " + org + " with was changed " + who
	case store.NoticePasswordReset:
		req.Subject = "Your password for " + org + " was changed"
		what = "The password you sign in to " + org + " with was changed with a password reset link sent to this address " +
			"(whoever did it still needs the code from your authenticator app to sign in)"
	case store.NoticeRecoveryCodeUsed:
		req.Subject = "A recovery code was used to sign in to " + org
		what = "One of your recovery codes was used to sign in to " + org
		switch n.System {
		case "":
		case attempt.SecuritySystem:
			what += " (your security settings)"
		default:
			what += " (" + n.System + ")"
		}
		what += "; it no longer works"
	case store.NoticeRecoveredByEmail:
		req.Subject = "Your authenticator app for " + org + " was replaced by email"
		what = "A link sent to this address was used to remove your authenticator app and recovery codes for " + org +
			" while signing in, and to set up a new authenticator app. Your email address now needs verifying again before it can be used this way"
	default:
		return sdk.SendRequest{}, false
	}
	req.Text = fmt.Sprintf("%s on %s, from the address %s.\n\n%s", what, when, from, unexpected)
	return req, true
}
