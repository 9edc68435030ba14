package activities

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// Single sign-on (method sso): AuthorizeSSO draws the sign-on request and
// ExchangeSSO redeems the code the callback brought and checks who signed
// on. The whole round trip (API, workflow, attempt row) and what the three
// share (the sealed request, the state's digest, the callback path) are in
// package attempt, sso.go.

// SSOInput names the attempt and its user.
type SSOInput struct {
	Subject
	UserID string
}

// AuthorizeSSOResult carries the digest of the new state: the workflow
// accepts only the callback that brings it.
type AuthorizeSSOResult struct {
	StateDigest string
}

// AuthorizeSSO draws a state, nonce and PKCE verifier with crypto/rand,
// asks the account's sign-on plugin for the authorization URL and seals it
// all on the attempt row, where the link page reads the URL from.
func (a *Activities) AuthorizeSSO(ctx context.Context, in SSOInput) (AuthorizeSSOResult, error) {
	plugin, ok, err := a.signOn(ctx, in.AccountID)
	if err != nil {
		return AuthorizeSSOResult{}, err
	}
	if !ok {
		return AuthorizeSSOResult{}, temporal.NewNonRetryableApplicationError("no sign-on plugin configured for the account", ErrTypeSignOn, nil)
	}
	user, err := a.store.GetUser(ctx, in.AccountID, in.AuthID)
	if err != nil {
		return AuthorizeSSOResult{}, fmt.Errorf("load user for sign-on: %w", err)
	}
	var draws [3]string
	for i := range draws {
		if draws[i], err = secret.NewToken(); err != nil {
			return AuthorizeSSOResult{}, err
		}
	}
	state, nonce, verifier := draws[0], draws[1], draws[2]
	sum := sha256.Sum256([]byte(verifier))
	resp, err := a.plugins.Authorize(ctx, plugin, sdk.AuthorizeRequest{
		Account: in.AccountID, AuthID: in.AuthID, State: state, Nonce: nonce,
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
		RedirectURI:   a.redirectURI(), LoginHint: user.Email,
	})
	if err != nil {
		if errors.Is(err, sdk.ErrPermanent) {
			return AuthorizeSSOResult{}, temporal.NewNonRetryableApplicationError("sign-on request refused: "+err.Error(), ErrTypeSignOn, nil)
		}
		return AuthorizeSSOResult{}, fmt.Errorf("sign-on request: %w", err)
	}
	sealed, err := attempt.SealSSO(a.keys, in.AttemptID, attempt.SSOSession{Plugin: plugin, Nonce: nonce, Verifier: verifier, URL: resp.URL})
	if err != nil {
		return AuthorizeSSOResult{}, err
	}
	digest := attempt.SSOStateDigest(a.keys, state)
	pending, err := a.store.SetSSOAuthorization(ctx, in.AttemptID, digest, sealed)
	if err != nil {
		return AuthorizeSSOResult{}, err
	}
	if !pending {
		return AuthorizeSSOResult{}, temporal.NewNonRetryableApplicationError("attempt is no longer pending", ErrTypeNoSecret, nil)
	}
	ev := in.event(a.now().UTC(), attempt.EventSSORedirected, "sent to the identity provider through "+plugin)
	ev.Detail = map[string]any{"plugin": plugin}
	if err := a.store.AppendAudit(ctx, ev); err != nil {
		return AuthorizeSSOResult{}, err
	}
	return AuthorizeSSOResult{StateDigest: digest}, nil
}

func (a *Activities) redirectURI() string {
	return strings.TrimRight(a.cfg.PublicURL, "/") + attempt.SSOCallbackPath
}

// SignOnResult says whether the provider's answer signs the user in.
type SignOnResult struct {
	Valid bool
	// Refused is set when the answer is genuine (its token verified) but
	// does not sign this user in: no proof that its email is the user's,
	// another email, an identity bound to another user or not the one
	// bound to this user, a user the plugin does not admit. That is not a
	// guess, so it is not counted as one: the workflow ends the attempt.
	// A failed verification (signature, issuer, audience, nonce, a spent
	// code) is neither Valid nor Refused, and counts.
	Refused bool
	Reason  string
}

// ExchangeSSO redeems the code the callback stored, through the plugin that
// issued the request, and checks that the verified identity is the user's:
// the one bound at their first sign-on or by an administrator or, for a
// first sign-on, one whose email the provider vouches for and is the
// user's. A refusal is a result, not an error; only temporary failures
// (the provider unreachable) are retried.
func (a *Activities) ExchangeSSO(ctx context.Context, in SSOInput) (SignOnResult, error) {
	att, err := a.store.GetAttempt(ctx, in.AttemptID)
	if err != nil {
		return SignOnResult{}, fmt.Errorf("load attempt for sign-on: %w", err)
	}
	if att.SSOSealed == nil {
		return SignOnResult{Reason: "sso refused: no authorization code to redeem"}, nil
	}
	sess, err := attempt.OpenSSO(a.keys, in.AttemptID, att.SSOSealed)
	if err != nil {
		return SignOnResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeSignOn, nil)
	}
	if sess.Code == "" {
		return SignOnResult{Reason: "sso refused: the provider sent no code"}, nil
	}
	claims, err := a.plugins.Exchange(ctx, sess.Plugin, sdk.ExchangeRequest{
		Code: sess.Code, CodeVerifier: sess.Verifier, Nonce: sess.Nonce, RedirectURI: a.redirectURI(),
	})
	if err != nil && !errors.Is(err, sdk.ErrPermanent) {
		return SignOnResult{}, fmt.Errorf("redeem sign-on code: %w", err)
	}
	// Redeemed or refused, the code is spent.
	if cerr := a.store.ClearSSOSealed(ctx, in.AttemptID); cerr != nil {
		return SignOnResult{}, cerr
	}
	if err != nil {
		return SignOnResult{Refused: errors.Is(err, sdk.ErrRefused), Reason: "sso refused: " + err.Error()}, nil
	}
	res, err := a.bindSSO(ctx, in, claims)
	if err == nil && res.Valid {
		a.recordSSOProfile(ctx, in, claims)
	}
	return res, err
}

// recordSSOProfile keeps what a valid sign-on reported beyond who signed
// in (the provider kind, the directory's position and phone) on the user,
// for administrators to see. Best effort: the sign-in is decided, the code
// is spent, and a retry of the activity would refuse it; a failure is
// logged and the next sign-on refreshes the profile. The profile never
// enters the workflow's history: the result carries none of it.
func (a *Activities) recordSSOProfile(ctx context.Context, in SSOInput, claims sdk.Claims) {
	p := store.SSOProfile{Provider: claims.Provider, Read: claims.ProfileRead, Position: claims.Position, Phone: claims.Phone}
	_, err := a.store.RecordSSOProfile(ctx, in.UserID, claims.Issuer, claims.Subject, p, a.now().UTC())
	if err != nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn("record sign-on profile", "attempt", in.AttemptID, "error", err)
	}
}

// bindSSO checks claims against the user's bound identity, binding it on a
// first sign-on. A first sign-on binds only on an email the provider
// vouches for (EmailVerified: Google's and other providers' email_verified;
// for Entra ID, which sends none, the tenant's verified domains or
// xms_edov, as the plugin found) that is the user's; any other identity
// needs an administrator's approval.
func (a *Activities) bindSSO(ctx context.Context, in SSOInput, claims sdk.Claims) (SignOnResult, error) {
	user, err := a.store.GetUser(ctx, in.AccountID, in.AuthID)
	if err != nil {
		return SignOnResult{}, fmt.Errorf("load user for sign-on: %w", err)
	}
	if user.SSOSubject != "" {
		if secret.Equal(user.SSOIssuer, claims.Issuer) && secret.Equal(user.SSOSubject, claims.Subject) {
			return SignOnResult{Valid: true, Reason: "signed on at " + claims.Issuer}, nil
		}
		return a.refuseSSO(ctx, in, claims, "sso refused: the provider identity is not the one bound to this user"), nil
	}
	switch {
	case user.Email == "" || !strings.EqualFold(user.Email, claims.Email):
		return a.refuseSSO(ctx, in, claims, "sso refused: first sign-on needs the provider's email to be the user's"), nil
	case !claims.EmailVerified:
		return a.refuseSSO(ctx, in, claims, "sso refused: first sign-on needs an email the provider vouches for "+
			"(email_verified; for Entra ID a verified domain or xms_edov) or an administrator's approval"), nil
	}
	proof := claims.EmailProof
	if proof == "" {
		proof = sdk.EmailProofClaim // a plugin that predates EmailProof
	}
	ev := in.event(a.now().UTC(), attempt.EventSSOBound, "provider identity bound to the user at first sign-on")
	ev.Detail = map[string]any{"issuer": claims.Issuer, "subject": claims.Subject, "proof": proof}
	bound, err := a.store.BindSSO(ctx, user.ID, claims.Issuer, claims.Subject, ev)
	if errors.Is(err, store.ErrConflict) {
		return a.refuseSSO(ctx, in, claims, "sso refused: the provider identity is bound to another user"), nil
	}
	if err != nil {
		return SignOnResult{}, err
	}
	if !bound {
		// Bound meanwhile (a concurrent first sign-on): check against it.
		return a.bindSSO(ctx, in, claims)
	}
	return SignOnResult{Valid: true, Reason: "signed on at " + claims.Issuer + " (identity bound)"}, nil
}

// refuseSSO records a genuine identity that does not sign the user in, with
// the identity an administrator would approve, and returns the refusal.
// The audit event is best effort: failing here would retry the activity,
// whose code is spent, and turn the refusal into a counted failure; the
// attempt's denial records the reason anyway.
func (a *Activities) refuseSSO(ctx context.Context, in SSOInput, claims sdk.Claims, reason string) SignOnResult {
	ev := in.event(a.now().UTC(), attempt.EventSSORefused, reason)
	ev.Detail = map[string]any{"issuer": claims.Issuer, "subject": claims.Subject, "email_verified": claims.EmailVerified}
	if claims.EmailProof != "" {
		ev.Detail["proof"] = claims.EmailProof
	}
	if err := a.store.AppendAudit(ctx, ev); err != nil && activity.IsActivity(ctx) {
		activity.GetLogger(ctx).Warn("record refused sign-on", "attempt", in.AttemptID, "error", err)
	}
	return SignOnResult{Refused: true, Reason: reason}
}
