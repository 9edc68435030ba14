package attempt

import (
	"encoding/json"
	"fmt"

	"github.com/flexauth/flexauth/secret"
)

// Single sign-on (method sso) is one round trip between the API, the
// attempt's workflow and the attempt row, and this file holds what the
// three share:
//
//  1. The user opens the delivered link (or the page start answered) and
//     confirms it. The API (api/sso.go startSSO) sends the workflow the
//     update authorize-sso with the link's digest.
//  2. The workflow (workflows/attempt.go authorizeSSO) runs the
//     AuthorizeSSO activity, which draws a state, a nonce and a PKCE
//     verifier with crypto/rand, asks the account's sign-on plugin for the
//     authorization URL, and stores on the row (store.SetSSOAuthorization)
//     SSOStateDigest(state) as sso_state_digest and the SSOSession sealed
//     with SealSSO as sso_sealed. Only the state's digest goes back to the
//     workflow, which keeps it as the one callback it accepts; a new
//     request replaces the previous one.
//  3. The API opens sso_sealed (OpenSSO), sets the SSOBrowserCookie of the
//     URL's state and sends the browser to SSOSession.URL. The provider
//     sends it back to SSOCallbackPath with a code and the state.
//  4. The API (ssoCallback) finds the row by SSOStateDigest(state), refuses
//     a browser without the state's SSOBrowserCookie, opens
//     the session, adds the code, seals it again and consumes the state
//     (store.ConsumeSSOState: sso_state_digest is cleared, so a replayed
//     callback finds nothing), then sends the workflow the update
//     confirm-sso with the state's digest.
//  5. The workflow (confirmSSO) accepts only the digest it kept, and runs
//     the ExchangeSSO activity, which opens the session, redeems the code
//     through the plugin that issued the request, clears sso_sealed
//     (store.ClearSSOSealed: the code is never tried twice) and checks the
//     verified identity against the user's.
//
// The state, nonce, PKCE verifier and code never reach the workflow's
// history: it sees only the state's keyed digest.

// SSOStateDigest is the digest the attempt row is found by from a callback
// (sso_state_digest), and the one the workflow accepts.
func SSOStateDigest(keys *secret.Keyring, state string) string {
	return keys.Digest(PurposeSSOState, state)
}

// SSOBrowserCookie is the name and value of the cookie that ties a
// sign-on request's callback to the browser the request was handed to (the
// one that confirmed the link). Without it, whoever started an sso attempt
// for someone else's authid could send that person's browser to the
// provider with the attempt's state: a browser already signed in there
// comes straight back to the callback, signed in as its owner, and the
// attempt the stranger's application polls is authenticated. The name
// carries part of the state's digest, so that sign-ons in two tabs of one
// browser keep a cookie each; the value is a keyed digest of the state,
// which nobody but this server can compute and no other browser holds.
func SSOBrowserCookie(keys *secret.Keyring, state string) (name, value string) {
	return "flexauth_sso_" + SSOStateDigest(keys, state)[:16], keys.Digest(PurposeSSOBrowser, state)
}

// SSOSession is what an attempt keeps, sealed (sso_sealed), between the
// sign-on request and the code's redemption.
type SSOSession struct {
	Plugin   string `json:"plugin"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	URL      string `json:"url"`            // the provider's authorization URL
	Code     string `json:"code,omitempty"` // set by the callback
}

// ssoAAD binds a sealed session to its attempt.
func ssoAAD(attemptID string) string { return "sso:" + attemptID }

// SealSSO seals s for attemptID's row.
func SealSSO(keys *secret.Keyring, attemptID string, s SSOSession) ([]byte, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode sign-on: %w", err)
	}
	return keys.Seal(raw, ssoAAD(attemptID))
}

// OpenSSO opens attemptID's sealed session.
func OpenSSO(keys *secret.Keyring, attemptID string, sealed []byte) (SSOSession, error) {
	raw, err := keys.Open(sealed, ssoAAD(attemptID))
	if err != nil {
		return SSOSession{}, fmt.Errorf("open sign-on of attempt %s: %w", attemptID, err)
	}
	var s SSOSession
	if err := json.Unmarshal(raw, &s); err != nil {
		return SSOSession{}, fmt.Errorf("decode sign-on of attempt %s: %w", attemptID, err)
	}
	return s, nil
}
