package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/messages"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// Credential links are one-time links sent by email that let a user create
// a password (welcome), and later reset one or prove an email address. The
// API requests a link (a row without a token) with the change that calls
// for it and starts the CredentialLink workflow; these activities draw the
// token, deliver it and record the outcome. Only the link's ID crosses the
// workflow: the token is drawn, sealed and sent here.

// credentialPurpose is what differs between link purposes: where the link
// leads and how long it works. A new purpose (reset, verify_email) adds a
// case to purposeOf, a page at its path and a message in linkMessage.
type credentialPurpose struct {
	path string
	ttl  time.Duration
}

// purposeOf describes purpose, or reports false for one no page serves yet.
func (c Config) purposeOf(purpose string) (credentialPurpose, bool) {
	switch purpose {
	case store.LinkWelcome:
		return credentialPurpose{path: attempt.WelcomePath, ttl: c.WelcomeLinkTTL}, true
	case store.LinkReset:
		return credentialPurpose{path: attempt.ResetPath, ttl: c.ResetLinkTTL}, true
	case store.LinkVerifyEmail:
		return credentialPurpose{path: attempt.VerifyPath, ttl: attempt.VerifyLinkTTL}, true
	case store.LinkRecover:
		return credentialPurpose{path: attempt.RecoverPath, ttl: attempt.RecoverLinkTTL}, true
	}
	return credentialPurpose{}, false
}

// CredentialLinkInput names the link a workflow delivers. Only its ID and
// account: the user and the token stay out of the workflow's history.
type CredentialLinkInput struct {
	LinkID    string
	AccountID string
}

// States of a credential link delivery.
const (
	LinkSent   = "sent"   // the message went out (now or on an earlier try)
	LinkClosed = "closed" // nothing to send: the link was used, voided or its user deleted
)

// CredentialLinkResult says how a delivery ended.
type CredentialLinkResult struct {
	State string
}

// ErrTypeLinkClosed is not retried: the link was used or voided while its
// delivery ran.
const ErrTypeLinkClosed = "CredentialLinkClosed"

// DeliverCredentialLink draws the link's token with crypto/rand, keeps it
// sealed on the link's row so that a retry resends the same link, and
// sends it to the user's email through the account's email channel. The
// conditions are checked again here, as they may have changed since the
// link was requested: a refusal is a non-retryable DeliveryFailed error,
// which the workflow records on the link.
func (a *Activities) DeliverCredentialLink(ctx context.Context, in CredentialLinkInput) (CredentialLinkResult, error) {
	closed := CredentialLinkResult{State: LinkClosed}
	link, err := a.store.GetCredentialLink(ctx, in.LinkID)
	if errors.Is(err, store.ErrNotFound) {
		return closed, nil // its user was deleted, and the link with them
	}
	if err != nil {
		return CredentialLinkResult{}, err
	}
	if link.AccountID != in.AccountID {
		return CredentialLinkResult{}, temporal.NewNonRetryableApplicationError("link of another account", ErrTypeBadInput, nil)
	}
	switch {
	case link.SentAt != nil:
		return CredentialLinkResult{State: LinkSent}, nil
	case link.Closed():
		return closed, nil
	}
	user, err := a.store.UserByID(ctx, link.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return closed, nil
	}
	if err != nil {
		return CredentialLinkResult{}, err
	}
	acc, err := a.store.GetAccount(ctx, link.AccountID)
	if err != nil {
		return CredentialLinkResult{}, err
	}
	if link.Purpose == store.LinkNotice {
		return a.deliverNotice(ctx, link, acc, user)
	}
	purpose, ok := a.cfg.purposeOf(link.Purpose)
	if !ok {
		return refuseDelivery("no page serves links of purpose " + link.Purpose)
	}
	switch {
	case !acc.EmailPasswordLogin:
		return refuseDelivery("email and password sign-in is off for the account")
	case !user.EmailPasswordLogin:
		return refuseDelivery("email and password sign-in is off for the user")
	case !acc.EmailDelivery:
		return refuseDelivery("email delivery is off for the account, and the link goes by email")
	case user.Email == "":
		return refuseDelivery("the user has no email address")
	case link.Purpose == store.LinkRecover && user.EmailVerifiedAt == nil:
		// The address proved itself once and can stand in once.
		return refuseDelivery("the user's email address is not verified")
	}
	plugin, ok, err := a.plugin(ctx, acc.ID, "email")
	if err != nil {
		return CredentialLinkResult{}, err
	}
	if !ok {
		return refuseDelivery("no delivery plugin for channel email")
	}
	drawn, plain, err := a.linkToken(ctx, link, purpose.ttl)
	if err != nil {
		return CredentialLinkResult{}, err
	}
	switch {
	case drawn.SentAt != nil:
		return CredentialLinkResult{State: LinkSent}, nil
	case drawn.Closed():
		return closed, nil
	}

	now := a.now().UTC()
	url := strings.TrimRight(a.cfg.PublicURL, "/") + purpose.path + plain
	req, err := a.linkMessage(ctx, link, acc, user, url, *drawn.ExpiresAt, now)
	if err != nil {
		return CredentialLinkResult{}, err
	}
	if _, err := a.plugins.Send(ctx, plugin, req); err != nil {
		if errors.Is(err, sdk.ErrPermanent) {
			return refuseDelivery("deliver link: " + err.Error())
		}
		return CredentialLinkResult{}, fmt.Errorf("deliver link: %w", err)
	}
	ev := store.AuditEvent{
		AccountID: acc.ID, Time: now, Type: attempt.LinkEvent(link.Purpose, "sent"), AuthID: user.AuthID,
		Reasons: []string{"sent by email through " + plugin},
		Detail: map[string]any{
			"actor": "flexauth", "link": link.ID, "channel": "email", "plugin": plugin, "to": user.Email,
			"expires_at": drawn.ExpiresAt.UTC().Format(time.RFC3339),
		},
	}
	if _, err := a.store.CredentialLinkSent(ctx, link.ID, now, ev); err != nil {
		// Retried: the sealed token is still there, the same link goes
		// again (a plugin delivers an ID once).
		return CredentialLinkResult{}, err
	}
	return CredentialLinkResult{State: LinkSent}, nil
}

// organisation is how messages name an account.
func organisation(acc store.Account) string {
	if acc.Name != "" {
		return acc.Name
	}
	return acc.ID
}

// linkToken returns the link's token, drawing it on the first call: the
// row as stored (Closed or sent when that happened meanwhile) and, while
// it awaits delivery, the token in clear.
func (a *Activities) linkToken(ctx context.Context, link store.CredentialLink, ttl time.Duration) (store.CredentialLink, string, error) {
	fresh, err := secret.NewToken()
	if err != nil {
		return store.CredentialLink{}, "", fmt.Errorf("draw link token: %w", err)
	}
	sealed, err := a.keys.Seal([]byte(fresh), link.ID)
	if err != nil {
		return store.CredentialLink{}, "", fmt.Errorf("seal link token: %w", err)
	}
	drawn, err := a.store.DrawCredentialLink(ctx, link.ID, attempt.CredentialLinkDigest(a.keys, fresh), sealed, a.now().UTC().Add(ttl))
	if err != nil {
		return store.CredentialLink{}, "", err
	}
	if drawn.SentAt != nil || drawn.Closed() {
		return drawn, "", nil
	}
	if drawn.Sealed == nil || drawn.ExpiresAt == nil {
		return store.CredentialLink{}, "", temporal.NewNonRetryableApplicationError("link token is gone before delivery", ErrTypeNoSecret, nil)
	}
	plain, err := a.keys.Open(drawn.Sealed, link.ID)
	if err != nil {
		return store.CredentialLink{}, "", temporal.NewNonRetryableApplicationError("open stored link token: "+err.Error(), ErrTypeNoSecret, nil)
	}
	return drawn, string(plain), nil
}

// linkMessage is the message that carries a link to its user, rendered
// from the account's message templates (package messages), or false for
// a purpose no message is written for.
func (a *Activities) linkMessage(ctx context.Context, link store.CredentialLink, acc store.Account, user store.User, url string, expires, now time.Time) (sdk.SendRequest, error) {
	switch link.Purpose {
	case store.LinkWelcome, store.LinkReset, store.LinkVerifyEmail, store.LinkRecover:
	default:
		return sdk.SendRequest{}, temporal.NewNonRetryableApplicationError("no message for links of purpose "+link.Purpose, ErrTypeDelivery, nil)
	}
	d := messages.Data{Account: acc.ID, Organisation: organisation(acc), Purpose: link.Purpose, To: user.Email, Name: user.Name, Link: url}
	d.SetExpiry(expires, now)
	req := sdk.SendRequest{
		ID: link.ID, Channel: "email", To: user.Email, Link: url,
		Metadata: map[string]string{
			"account": acc.ID, "purpose": link.Purpose, "expires_minutes": fmt.Sprint(d.ExpiresMinutes),
		},
	}
	levels, err := a.store.MessageLevels(ctx, acc.ID, "")
	if err != nil {
		return sdk.SendRequest{}, err
	}
	// The purposes are the messages' names (messages.Welcome...).
	out, err := messages.Render(link.Purpose, "email", d, levels...)
	if err != nil {
		return sdk.SendRequest{}, temporal.NewNonRetryableApplicationError("render link: "+err.Error(), ErrTypeDelivery, nil)
	}
	req.Subject, req.Text, req.HTML = out.Subject, out.Text, out.HTML
	return req, nil
}

// FailLinkInput records why a link's delivery failed for good.
type FailLinkInput struct {
	LinkID    string
	AccountID string
	Reason    string
}

// FailCredentialLink voids a link whose delivery failed for good, so that
// nothing can send or use it any more, and audits why (<purpose>.failed).
// A link used or voided meanwhile is left alone and nothing is recorded.
func (a *Activities) FailCredentialLink(ctx context.Context, in FailLinkInput) error {
	link, err := a.store.GetCredentialLink(ctx, in.LinkID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if link.AccountID != in.AccountID {
		return temporal.NewNonRetryableApplicationError("link of another account", ErrTypeBadInput, nil)
	}
	authid := ""
	if u, err := a.store.UserByID(ctx, link.UserID); err == nil {
		authid = u.AuthID
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	now := a.now().UTC()
	ev := store.AuditEvent{
		AccountID: link.AccountID, Time: now, Type: attempt.LinkEvent(link.Purpose, "failed"), AuthID: authid,
		Reasons: []string{in.Reason}, Detail: map[string]any{"actor": "flexauth", "link": link.ID},
	}
	_, err = a.store.VoidCredentialLink(ctx, link.ID, now, ev)
	return err
}
