package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// Digest purposes, shared with the API that digests what users submit.
const (
	PurposeLink = "link"
	PurposeCode = "code"
)

// CodeDigest is the digest of a PIN or TOTP code submitted for an attempt.
func CodeDigest(keys *secret.Keyring, attemptID, code string) string {
	return keys.Digest(PurposeCode, attemptID, code)
}

// LinkDigest is the digest of a link token; the attempt row is found by it.
func LinkDigest(keys *secret.Keyring, token string) string {
	return keys.Digest(PurposeLink, token)
}

// LinkPath is where a link token is served.
const LinkPath = "/l/"

// IssueInput asks for a challenge to be drawn and delivered.
type IssueInput struct {
	Subject
	UserID    string
	Method    string
	Channel   string // the policy's choice; "" for the contact data's
	ExpiresAt time.Time
}

// IssueResult carries the digest the workflow compares submissions with.
type IssueResult struct {
	Digest  string
	Channel string
}

// IssueChallenge draws a link token or PIN with crypto/rand, keeps it
// sealed on the attempt row so that a retry resends the same secret, and
// delivers it through the delivery plugin. Only the digest leaves.
func (a *Activities) IssueChallenge(ctx context.Context, in IssueInput) (IssueResult, error) {
	// The user and the account's email switch, in one query.
	found, err := a.store.GetSignInUser(ctx, in.AccountID, in.AuthID, "", "")
	if err != nil {
		return IssueResult{}, fmt.Errorf("load user for delivery: %w", err)
	}
	user := found.User
	if user.Email == "" || user.Phone == "" {
		person, reason, err := a.lookup(ctx, in.AccountID, in.AuthID)
		if err != nil {
			return IssueResult{}, err
		}
		if reason != "" {
			return IssueResult{}, temporal.NewNonRetryableApplicationError(reason, ErrTypeDelivery, nil)
		}
		user = withContacts(user, person)
	}
	// The policy should not pick email when the account has turned it off,
	// but an uploaded policy may: nothing goes by email whatever it chose.
	if !found.EmailDelivery {
		if in.Channel == "email" {
			return IssueResult{}, temporal.NewNonRetryableApplicationError(
				"email delivery is off for the account, but the policy chose email", ErrTypeDelivery, nil)
		}
		user.Email = ""
	}
	channel, to := contact(user, in.Channel)
	if to == "" && !found.EmailDelivery {
		return IssueResult{}, temporal.NewNonRetryableApplicationError(
			"email delivery is off for the account and the user has no phone", ErrTypeDelivery, nil)
	}
	if to == "" {
		return IssueResult{}, temporal.NewNonRetryableApplicationError("user has no email or phone", ErrTypeDelivery, nil)
	}
	plugin, ok, err := a.plugin(ctx, in.AccountID, channel)
	if err != nil {
		return IssueResult{}, err
	}
	if !ok {
		return IssueResult{}, temporal.NewNonRetryableApplicationError("no delivery plugin for channel "+channel, ErrTypeDelivery, nil)
	}
	plain, err := a.challenge(ctx, in)
	if err != nil {
		return IssueResult{}, err
	}

	minutes := max(1, int(in.ExpiresAt.Sub(a.now()).Round(time.Minute)/time.Minute))
	// Metadata lets a plugin render its own templates (per account and
	// system) instead of the default text.
	req := sdk.SendRequest{ID: in.AttemptID, Channel: channel, To: to, Attempt: in.AttemptID, Metadata: map[string]string{
		"account": in.AccountID, "system": in.System, "method": in.Method, "expires_minutes": fmt.Sprint(minutes),
	}}
	var res IssueResult
	switch in.Method {
	case policies.MethodPasswordless, policies.MethodSSO:
		link := strings.TrimRight(a.cfg.PublicURL, "/") + LinkPath + plain
		req.Subject = "Your sign-in link for " + in.System
		req.Text = fmt.Sprintf("Open this link to sign in to %s:\n\n%s\n\nIt works once and expires in %d minutes. If you did not try to sign in, ignore this message.", in.System, link, minutes)
		if in.Method == policies.MethodSSO {
			req.Text = fmt.Sprintf("Open this link to sign in to %s with your organisation's account:\n\n%s\n\nIt expires in %d minutes. If you did not try to sign in, ignore this message.", in.System, link, minutes)
		}
		req.Link = link
		res.Digest = LinkDigest(a.keys, plain)
		// The row must know the link before the user can open it.
		if _, err := a.store.PublishAttempt(ctx, in.AttemptID, store.AttemptUpdate{LinkDigest: res.Digest, At: a.now().UTC()}); err != nil {
			return IssueResult{}, err
		}
	case policies.MethodPIN:
		req.Subject = "Your sign-in code for " + in.System
		req.Text = fmt.Sprintf("Your code to sign in to %s is %s.\n\nIt expires in %d minutes. Never share it.", in.System, plain, minutes)
		req.Code = plain
		res.Digest = CodeDigest(a.keys, in.AttemptID, plain)
	default:
		return IssueResult{}, temporal.NewNonRetryableApplicationError("method "+in.Method+" has nothing to deliver", ErrTypeDelivery, nil)
	}

	if _, err := a.plugins.Send(ctx, plugin, req); err != nil {
		if errors.Is(err, sdk.ErrPermanent) {
			return IssueResult{}, temporal.NewNonRetryableApplicationError("deliver challenge: "+err.Error(), ErrTypeDelivery, nil)
		}
		return IssueResult{}, fmt.Errorf("deliver challenge: %w", err)
	}
	res.Channel = channel
	ev := in.event(a.now().UTC(), EventDelivered, "sent by "+channel+" through "+plugin)
	ev.Detail = map[string]any{"channel": channel, "method": in.Method, "plugin": plugin}
	if err := a.store.AppendAudit(ctx, ev); err != nil {
		return IssueResult{}, err
	}
	return res, nil
}

// challenge returns the attempt's secret, drawing it on the first call.
func (a *Activities) challenge(ctx context.Context, in IssueInput) (string, error) {
	var fresh string
	var err error
	if in.Method == policies.MethodPIN {
		fresh, err = secret.NewPIN(a.cfg.PINDigits)
	} else {
		fresh, err = secret.NewToken()
	}
	if err != nil {
		return "", err
	}
	sealed, err := a.keys.Seal([]byte(fresh), in.AttemptID)
	if err != nil {
		return "", fmt.Errorf("seal challenge: %w", err)
	}
	stored, err := a.store.SetChallenge(ctx, in.AttemptID, sealed)
	if err != nil {
		return "", err
	}
	if stored == nil {
		// The attempt left pending (superseded, expired) before delivery.
		return "", temporal.NewNonRetryableApplicationError("attempt is no longer pending", ErrTypeNoSecret, nil)
	}
	plain, err := a.keys.Open(stored, in.AttemptID)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError("open stored challenge: "+err.Error(), ErrTypeNoSecret, nil)
	}
	return string(plain), nil
}

// contact returns the address for the channel the policy chose or, when it
// chose none, picks from the user's contact data: email first, as links are
// meant to be opened where mail is read.
func contact(u store.User, chosen string) (channel, to string) {
	switch {
	case chosen == "email" && u.Email != "":
		return "email", u.Email
	case chosen == "sms" && u.Phone != "":
		return "sms", u.Phone
	case u.Email != "":
		return "email", u.Email
	case u.Phone != "":
		return "sms", u.Phone
	}
	return "", ""
}
