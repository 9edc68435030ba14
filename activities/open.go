package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/store"
)

// The parts of BeginAndIssue are bounded as the activities they replace:
// a begin as its local activity, a delivery as the IssueChallenge
// activity. A delivery is never cut shorter than that: a plugin call cut
// short may still have delivered, and what follows is a second delivery.
const (
	BeginTimeout    = 10 * time.Second
	DeliveryTimeout = 15 * time.Second
)

// OpenResult is what BeginAndIssue did: Begin's answer and, for a method
// that delivers a challenge, the delivery's outcome.
type OpenResult struct {
	BeginResult
	// Issued is the delivered challenge's digest and channel.
	Issued IssueResult
	// Undelivered says why the challenge did not go out ("" when it did
	// or when the method delivers none); Permanent when no retry mends it.
	Undelivered string `json:",omitempty"`
	Permanent   bool   `json:",omitempty"`
}

// issuing is a challenge drawn within a begin, to deliver once the begin
// committed: the request holds the secret in clear, and never leaves the
// activity.
type issuing struct {
	to      recipientOf
	req     sdk.SendRequest
	digest  string
	refusal string // why nothing can be delivered; nothing was drawn
}

// Delivers reports whether an attempt of method delivers a challenge (a
// PIN, a link): TOTP and password attempts are answered with what the user
// knows or holds.
func Delivers(method string) bool {
	return method != attempt.MethodTOTP && method != attempt.MethodPassword
}

// BeginAndIssue begins the attempt as Begin does and, when the policy
// allowed a method that delivers a challenge, draws the secret with
// crypto/rand and stores it sealed (and a link's digest) in the begin's
// own transaction, then delivers it once that committed: one local
// activity and one transaction where Begin and IssueChallenge take two
// and four. Only the digest leaves.
//
// Only a failed begin is an error (retried: a begin run again answers as
// it first did). What befalls the delivery is in the result, never an
// error, so that a delivery is retried as the IssueChallenge activity,
// which finds the secret stored here and sends it again under the same
// delivery id, and never by beginning again. A run again after the begin
// committed (the worker died) delivers as IssueChallenge does, likewise.
func (a *Activities) BeginAndIssue(ctx context.Context, in BeginInput) (OpenResult, error) {
	beginCtx, cancel := context.WithTimeout(ctx, BeginTimeout)
	res, ch, err := a.begin(beginCtx, in, true)
	cancel()
	if err != nil {
		return OpenResult{}, err
	}
	out := OpenResult{BeginResult: res}
	if !res.Allowed || !Delivers(res.Method) {
		return out, nil
	}
	issue := IssueInput{
		Subject: in.Subject, UserID: res.UserID, Method: res.Method, Channel: res.Channel,
		ExpiresAt: in.StartedAt.Add(res.TTL),
	}
	sendCtx, cancel := context.WithTimeout(ctx, DeliveryTimeout)
	defer cancel()
	switch {
	case ch == nil:
		out.Issued, err = a.IssueChallenge(sendCtx, issue)
	case ch.refusal != "":
		err = temporal.NewNonRetryableApplicationError(ch.refusal, ErrTypeDelivery, nil)
	default:
		if err = a.send(sendCtx, issue, ch.to, ch.req); err == nil {
			out.Issued = IssueResult{Digest: ch.digest, Channel: ch.to.channel}
		}
	}
	if err != nil {
		out.Undelivered, out.Permanent = errorText(err), permanentDelivery(err)
	}
	return out, nil
}

// issuing draws the challenge of an allowed attempt whose method delivers
// one and adds it, sealed, to the verdict's publication p. The recipient
// and the plugin are read through st, the begin's transaction. A refusal
// (no address, no plugin) draws nothing: the workflow denies the attempt.
func (a *Activities) issuing(ctx context.Context, st beginStore, in BeginInput, res BeginResult, p *store.Publication) (*issuing, error) {
	if !res.Allowed || !Delivers(res.Method) {
		return nil, nil
	}
	to, refusal, err := a.recipient(ctx, st, in.AccountID, res.recipient, res.emailDelivery, res.Channel)
	if err != nil || refusal != "" {
		return &issuing{refusal: refusal}, err
	}
	plain, sealed, err := a.draw(in.AttemptID, res.Method)
	if err != nil {
		return nil, err
	}
	issue := IssueInput{Subject: in.Subject, UserID: res.UserID, Method: res.Method, Channel: res.Channel, ExpiresAt: in.StartedAt.Add(res.TTL)}
	req, digest, err := a.message(issue, to, plain)
	if err != nil {
		return &issuing{refusal: errorText(err)}, nil
	}
	p.Update.Challenge = sealed
	if res.Method != attempt.MethodPIN {
		// The row must know the link before the user can open it.
		p.Update.LinkDigest = digest
	}
	return &issuing{to: to, req: req, digest: digest}, nil
}

// permanentDelivery reports a delivery failure that no retry mends.
func permanentDelivery(err error) bool {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return false
	}
	return appErr.Type() == ErrTypeDelivery || appErr.Type() == ErrTypeNoSecret || appErr.NonRetryable()
}

// errorText is an application error's message, without its type.
func errorText(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
