package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/messages"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

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
	r, refusal, err := a.recipient(ctx, a.store, in.AccountID, user, found.EmailDelivery, in.Channel)
	if err != nil {
		return IssueResult{}, err
	}
	if refusal != "" {
		return IssueResult{}, temporal.NewNonRetryableApplicationError(refusal, ErrTypeDelivery, nil)
	}
	plain, err := a.challenge(ctx, in)
	if err != nil {
		return IssueResult{}, err
	}
	req, digest, err := a.message(ctx, in, user, r, plain)
	if err != nil {
		return IssueResult{}, err
	}
	if in.Method != attempt.MethodPIN {
		// The row must know the link before the user can open it.
		if _, err := a.store.PublishAttempt(ctx, in.AttemptID, store.AttemptUpdate{LinkDigest: digest, At: a.now().UTC()}); err != nil {
			return IssueResult{}, err
		}
	}
	if err := a.send(ctx, in, r, req); err != nil {
		return IssueResult{}, err
	}
	return IssueResult{Digest: digest, Channel: r.channel}, nil
}

// recipientOf is where a challenge goes: the channel, the address and
// the delivery plugin.
type recipientOf struct {
	channel, to, plugin string
}

// recipient picks the channel, the address and the plugin for a challenge
// to user, whose contact data is complete (flexauth's and the
// directory's). A refusal says why nothing can be delivered, which no
// retry mends; an error is an outage. The plugin is read through st, the
// transaction a caller may be in.
func (a *Activities) recipient(ctx context.Context, st ancestry, accountID string, user store.User, emailDelivery bool, chosen string) (recipientOf, string, error) {
	// The policy should not pick email when the account has turned it off,
	// but an uploaded policy may: nothing goes by email whatever it chose.
	if !emailDelivery {
		if chosen == "email" {
			return recipientOf{}, "email delivery is off for the account, but the policy chose email", nil
		}
		user.Email = ""
	}
	channel, to := contact(user, chosen)
	if to == "" && !emailDelivery {
		return recipientOf{}, "email delivery is off for the account and the user has no phone", nil
	}
	if to == "" {
		return recipientOf{}, "user has no email or phone", nil
	}
	plugin, ok, err := a.pluginOf(ctx, st, accountID, channel)
	if err != nil {
		return recipientOf{}, "", err
	}
	if !ok {
		return recipientOf{}, "no delivery plugin for channel " + channel, nil
	}
	return recipientOf{channel: channel, to: to, plugin: plugin}, "", nil
}

// message builds the delivery of secret plain to r, rendered from the
// account's and the system's message templates (package messages), and
// the digest the workflow compares submissions with. The rendered text
// holds the secret: it goes to the plugin and nowhere else.
func (a *Activities) message(ctx context.Context, in IssueInput, user store.User, r recipientOf, plain string) (sdk.SendRequest, string, error) {
	name, ok := messages.ForMethod(in.Method)
	if !ok {
		return sdk.SendRequest{}, "", temporal.NewNonRetryableApplicationError("method "+in.Method+" has nothing to deliver", ErrTypeDelivery, nil)
	}
	levels, err := a.store.MessageLevels(ctx, in.AccountID, in.System)
	if err != nil {
		return sdk.SendRequest{}, "", err
	}
	d := messages.Data{System: in.System, Account: in.AccountID, Method: in.Method, To: r.to, Name: user.Name}
	d.SetExpiry(in.ExpiresAt, a.now())
	req := sdk.SendRequest{ID: in.AttemptID, Channel: r.channel, To: r.to, Attempt: in.AttemptID, Metadata: map[string]string{
		"account": in.AccountID, "system": in.System, "method": in.Method, "expires_minutes": strconv.Itoa(d.ExpiresMinutes),
	}}
	var digest string
	if in.Method == attempt.MethodPIN {
		d.Code, req.Code = plain, plain
		digest = attempt.CodeDigest(a.keys, in.AttemptID, plain)
	} else {
		d.Link = strings.TrimRight(a.cfg.PublicURL, "/") + attempt.LinkPath + plain
		req.Link = d.Link
		digest = attempt.LinkDigest(a.keys, plain)
	}
	out, err := messages.Render(name, r.channel, d, levels...)
	if err != nil {
		// The tenant's template fails the same way on every retry.
		return sdk.SendRequest{}, "", temporal.NewNonRetryableApplicationError("render challenge: "+err.Error(), ErrTypeDelivery, nil)
	}
	req.Subject, req.Text, req.HTML = out.Subject, out.Text, out.HTML
	return req, digest, nil
}

// send hands req to r's plugin and audits the delivery. A permanent
// failure is a non-retryable ErrTypeDelivery error.
func (a *Activities) send(ctx context.Context, in IssueInput, r recipientOf, req sdk.SendRequest) error {
	if _, err := a.plugins.Send(ctx, r.plugin, req); err != nil {
		if errors.Is(err, sdk.ErrPermanent) {
			return temporal.NewNonRetryableApplicationError("deliver challenge: "+err.Error(), ErrTypeDelivery, nil)
		}
		return fmt.Errorf("deliver challenge: %w", err)
	}
	ev := in.event(a.now().UTC(), attempt.EventDelivered, "sent by "+r.channel+" through "+r.plugin)
	ev.Detail = map[string]any{"channel": r.channel, "method": in.Method, "plugin": r.plugin}
	return a.store.AppendAudit(ctx, ev)
}

// challenge returns the attempt's secret, drawing it on the first call.
func (a *Activities) challenge(ctx context.Context, in IssueInput) (string, error) {
	_, sealed, err := a.draw(in.AttemptID, in.Method)
	if err != nil {
		return "", err
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

// draw makes a new secret for an attempt of method with crypto/rand: a
// PIN or a link token, in clear and sealed to the attempt.
func (a *Activities) draw(attemptID, method string) (string, []byte, error) {
	var fresh string
	var err error
	if method == attempt.MethodPIN {
		fresh, err = secret.NewPIN(a.cfg.PINDigits)
	} else {
		fresh, err = secret.NewToken()
	}
	if err != nil {
		return "", nil, fmt.Errorf("draw challenge: %w", err)
	}
	sealed, err := a.keys.Seal([]byte(fresh), attemptID)
	if err != nil {
		return "", nil, fmt.Errorf("seal challenge: %w", err)
	}
	return fresh, sealed, nil
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
