package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/store"
)

// Admin API: how a user signs in, one "way" per method — single sign-on
// (told apart as Microsoft Entra ID, Google or another provider), email
// and password, a link, a PIN, a TOTP code — each with its sign-ins (how
// many, the last and its address, from the attempts), plus what is
// particular to it: the directory profile an Entra ID sign-on read, and
// for email and password the two-factor settings an administrator
// manages. The console's user page shows one card per way.

// Kinds of way (signInWayJSON.Kind): the method's name, except that
// single sign-on is told apart by provider.
const (
	wayEntra  = sdk.ProviderEntra
	wayGoogle = sdk.ProviderGoogle
	waySSO    = "sso"
)

// wayOrder is the order of the ways in the answer: single sign-on first,
// then email and password, then the codes and links; another method
// (recorded by a later version) comes last.
var wayOrder = []string{"sso", "password", "passwordless", "pin", "totp"}

// Actions of the password card (passwordSecurityJSON.Actions), each an
// admin API call: POST .../totp then .../totp/verify, DELETE .../totp,
// POST .../recovery-codes.
const (
	actionEnrolTOTP        = "enrol_totp"
	actionResetTwoFactor   = "reset_two_factor"
	actionGenerateRecovery = "generate_recovery_codes"
)

// signInMethodsStore is what this handler reads besides the user, their
// assignments and recovery codes.
type signInMethodsStore interface {
	LoginsByMethod(ctx context.Context, accountID, authid string) ([]store.MethodLogins, error)
	LatestAuditTimes(ctx context.Context, accountID, authid string, since time.Time, types []string) (map[string]time.Time, error)
}

type signInMethodsJSON struct {
	AuthID string `json:"authid"`
	// NeverSignedIn is true when the user has not signed in by any way.
	NeverSignedIn bool            `json:"never_signed_in"`
	Ways          []signInWayJSON `json:"ways"`
}

type signInWayJSON struct {
	Kind string `json:"kind"`
	// Method is the attempts' method the way counts (sso for every
	// provider).
	Method string `json:"method"`
	// Systems are the systems assigned to the user with this method.
	Systems   []string   `json:"systems"`
	Count     int        `json:"count"`
	LastLogin *time.Time `json:"last_login"`
	LastIP    string     `json:"last_ip"`
	// Single sign-on only.
	SSO *ssoWayJSON `json:"sso,omitempty"`
	// Email and password only.
	Security *passwordSecurityJSON `json:"security,omitempty"`
}

// ssoWayJSON is the provider identity of a single sign-on way and, for
// Entra ID, the user's profile in the directory as last read.
type ssoWayJSON struct {
	Bound  bool   `json:"bound"`
	Issuer string `json:"issuer"`
	// Position, Phone and ProfileReadAt are Entra ID's (Microsoft Graph
	// /me at sign-on); absent for other providers.
	Position      *string    `json:"position,omitempty"`
	Phone         *string    `json:"phone,omitempty"`
	ProfileReadAt *time.Time `json:"profile_read_at,omitempty"`
}

// passwordSecurityJSON is the state of the user's password and second
// factor, and the administrator's actions that apply to it now.
type passwordSecurityJSON struct {
	EmailPasswordLogin       bool       `json:"email_password_login"`
	PasswordSetAt            *time.Time `json:"password_set_at"`
	PasswordChangedAt        *time.Time `json:"password_changed_at"`
	TOTPEnabled              bool       `json:"totp_enabled"`
	TOTPPending              bool       `json:"totp_pending"`
	TOTPEnrolledAt           *time.Time `json:"totp_enrolled_at"`
	TwoFactorResetAt         *time.Time `json:"two_factor_reset_at"`
	RecoveryCodesLeft        int        `json:"recovery_codes_left"`
	RecoveryCodesGeneratedAt *time.Time `json:"recovery_codes_generated_at"`
	Actions                  []string   `json:"actions"`
}

// getSignInMethods answers the user's ways of signing in.
func (s *Server) getSignInMethods(c *gin.Context) {
	u, ok := s.loadUser(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	as, err := s.store.ListAssignments(ctx, u.ID)
	if err != nil {
		s.internalError(c, "list assignments", err)
		return
	}
	logins, err := s.store.LoginsByMethod(ctx, u.AccountID, u.AuthID)
	if err != nil {
		s.internalError(c, "count logins by method", err)
		return
	}
	ways := collectWays(u, as, logins)
	for i := range ways {
		if ways[i].Method != "password" {
			continue
		}
		if ways[i].Security, err = s.passwordSecurity(ctx, u); err != nil {
			s.internalError(c, "load two-factor state", err)
			return
		}
	}
	signedIn := u.LastLoginAt != nil
	for _, w := range ways {
		signedIn = signedIn || w.Count > 0
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, signInMethodsJSON{AuthID: u.AuthID, NeverSignedIn: !signedIn, Ways: ways})
}

// collectWays makes a way of every method the user is assigned, has signed
// in with, or is set up for (a bound provider identity, the email and
// password switch), in wayOrder.
func collectWays(u store.User, as []store.AssignedSystem, logins []store.MethodLogins) []signInWayJSON {
	byMethod := map[string]*signInWayJSON{}
	way := func(method string) *signInWayJSON {
		if w, ok := byMethod[method]; ok {
			return w
		}
		w := &signInWayJSON{Kind: method, Method: method, Systems: []string{}}
		byMethod[method] = w
		return w
	}
	for _, a := range as {
		w := way(a.Method)
		w.Systems = append(w.Systems, a.System)
	}
	for _, l := range logins {
		w := way(l.Method)
		w.Count, w.LastLogin, w.LastIP = l.Logins, utcPtr(l.LastLoginAt), l.LastIP
	}
	if u.SSOSubject != "" {
		way("sso")
	}
	if u.EmailPasswordLogin {
		way("password")
	}
	if w, ok := byMethod["sso"]; ok {
		w.Kind = ssoKind(u)
		w.SSO = &ssoWayJSON{Bound: u.SSOSubject != "", Issuer: u.SSOIssuer}
		if w.Kind == wayEntra {
			w.SSO.Position, w.SSO.Phone, w.SSO.ProfileReadAt = &u.SSOPosition, &u.SSOPhone, utcPtr(u.SSOProfileAt)
		}
	}
	out := make([]signInWayJSON, 0, len(byMethod))
	for _, w := range byMethod {
		slices.Sort(w.Systems)
		out = append(out, *w)
	}
	rank := func(m string) int {
		if i := slices.Index(wayOrder, m); i >= 0 {
			return i
		}
		return len(wayOrder)
	}
	slices.SortFunc(out, func(a, b signInWayJSON) int {
		if d := rank(a.Method) - rank(b.Method); d != 0 {
			return d
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// ssoKind tells which provider the user signs on at: the kind the sign-on
// plugin reported, else the bound identity's issuer, else "sso".
func ssoKind(u store.User) string {
	switch u.SSOProvider {
	case wayEntra, wayGoogle:
		return u.SSOProvider
	}
	return issuerKind(u.SSOIssuer)
}

// entraHosts are the issuers' hosts of Entra ID, global and national
// clouds, v2.0 and v1.0 (sts).
var entraHosts = []string{
	"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn", "login.chinacloudapi.cn",
	"sts.windows.net", "sts.chinacloudapi.cn", "login.windows.net",
}

// issuerKind classifies an OpenID Connect issuer: Entra ID's and Google's
// are recognised by host.
func issuerKind(issuer string) string {
	host := issuer
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		host = u.Hostname()
	}
	host = strings.ToLower(host)
	switch {
	case slices.Contains(entraHosts, host):
		return wayEntra
	case host == "accounts.google.com":
		return wayGoogle
	}
	return waySSO
}

// passwordSecurity is the password card's state: the password's dates,
// the second factor's state and dates (from the audit trail), the recovery
// codes left, and the actions the admin API offers now.
func (s *Server) passwordSecurity(ctx context.Context, u store.User) (*passwordSecurityJSON, error) {
	left, err := s.store.CountUnusedRecoveryCodes(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	times, err := s.store.LatestAuditTimes(ctx, u.AccountID, u.AuthID, u.CreatedAt,
		[]string{attempt.EventTOTPEnrolled, attempt.EventTwoFactorReset, attempt.EventRecoveryCodes})
	if err != nil {
		return nil, err
	}
	at := func(typ string) *time.Time {
		if t, ok := times[typ]; ok {
			return &t
		}
		return nil
	}
	sec := &passwordSecurityJSON{
		EmailPasswordLogin: u.EmailPasswordLogin,
		PasswordSetAt:      utcPtr(u.PasswordSetAt), PasswordChangedAt: utcPtr(u.PasswordChangedAt),
		TOTPEnabled: u.TOTPEnabled, TOTPPending: u.TOTPPending != nil,
		TwoFactorResetAt:  at(attempt.EventTwoFactorReset),
		RecoveryCodesLeft: left, RecoveryCodesGeneratedAt: at(attempt.EventRecoveryCodes),
		Actions: []string{},
	}
	// An enrolment before the last reset is over.
	if u.TOTPEnabled {
		if e := at(attempt.EventTOTPEnrolled); e != nil && (sec.TwoFactorResetAt == nil || !e.Before(*sec.TwoFactorResetAt)) {
			sec.TOTPEnrolledAt = e
		}
	}
	// The actions mirror the admin API's: an active authenticator is never
	// replaced (reset first); recovery codes stand in for one, so they
	// come once one is enrolled; a reset needs something to remove.
	if !u.TOTPEnabled {
		sec.Actions = append(sec.Actions, actionEnrolTOTP)
	} else {
		sec.Actions = append(sec.Actions, actionGenerateRecovery)
	}
	if u.TOTPEnabled || u.TOTPPending != nil || left > 0 {
		sec.Actions = append(sec.Actions, actionResetTwoFactor)
	}
	return sec, nil
}
