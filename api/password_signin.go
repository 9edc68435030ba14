package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/skip2/go-qrcode"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// The hosted sign-in page of a password or sso attempt, at the URL start
// answered (attempt.PagePath + token). For sso it is the link page's
// "continue to your organisation" without the email round trip. For a
// password it asks, in turn, for the password, then for a code from the
// user's authenticator (or a recovery code) or, for a user without one,
// enrols one: QR code and key, confirmed by a code, then the recovery
// codes, shown once. The workflow decides every step; this page seals the
// password on the attempt and passes digests.
//
// The right password binds the attempt's later steps to the browser that
// sent it, by a cookie whose digest the workflow keeps: whoever else holds
// the URL (the application that started it) cannot see the new seed or
// finish the sign-in.

// signinStore is the persistence the hosted sign-in page needs beyond the
// attempt, user and system lookups.
type signinStore interface {
	AttemptByPageDigest(ctx context.Context, digest string) (store.Attempt, error)
	PutAttemptSecret(ctx context.Context, sec store.AttemptSecret) (bool, error)
	TakeAttemptSecret(ctx context.Context, attemptID, key string) ([]byte, error)
}

// pageCookie is the browser binding's cookie; it lives under attempt.PagePath.
const pageCookie = "flexauth_attempt"

// maskEmail shows an address's first character and its domain only
// ("a•••@example.com"), whatever the length of its local part; "" stays "".
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return email
	}
	first, _ := utf8.DecodeRuneInString(local)
	return string(first) + "•••@" + domain
}

// maxPasswordBytes bounds a password read from the form: the password
// package refuses longer ones anyway (it never truncates).
const maxPasswordBytes = 4096

// signinTemplate is the hosted sign-in page. It shares the link pages'
// style and, but for the QR code's data: image, their CSP.
const signinTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
{{if .Continue}}<meta http-equiv="refresh" content="2; url={{.Continue}}">{{end}}
<style>` + pageStyle + signinStyle + `</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Error}}<div class="refusal" id="refusal" role="alert"><p>{{.Error}}</p></div>{{end}}
{{if eq .Step "password"}}<form method="post" id="password-form">
<input type="hidden" name="step" value="password">
<label for="username">Email address</label>
<input type="text" id="username" name="username" autocomplete="username" value="{{.Username}}" readonly>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus{{if .Error}} aria-invalid="true" aria-describedby="refusal"{{end}}>
<button type="submit">Continue</button>
</form>
{{if .Forgot}}<p><a id="forgot" href="{{.Forgot}}">Forgot password?</a></p>{{end}}{{end}}
{{if eq .Step "totp"}}<form method="post" id="code-form">
<input type="hidden" name="step" value="totp">
<label for="code">Code from your authenticator app</label>
<input type="text" id="code" name="code" autocomplete="one-time-code" inputmode="text" required autofocus aria-describedby="code-help"{{if .Error}} aria-invalid="true"{{end}}>
<p id="code-help">Type the 6-digit code your authenticator app shows, or one of your recovery codes if you lost the app. A recovery code works once.</p>
<button type="submit">Sign in</button>
</form>
{{if .Recover}}<form method="post" id="email-link-form">
<input type="hidden" name="step" value="email-link">
<p>Lost your authenticator app and your recovery codes? Your email address is verified: we can email you a link that lets you set up a new app, once.</p>
<button type="submit" class="secondary">Lost your authenticator? Email me a link</button>
</form>{{end}}{{end}}
{{if eq .Step "recover"}}<form method="post" id="recover-form">
<input type="hidden" name="step" value="recover">
<button type="submit">Remove my authenticator app and set up a new one</button>
</form>{{end}}
{{if eq .Step "enrol"}}<p>Your organisation requires a second step at every sign-in. Add flexauth to an authenticator app (such as Google Authenticator, Microsoft Authenticator or 1Password): scan the QR code, or type the key.</p>
<figure><img id="qr" src="{{.QR}}" width="220" height="220" alt="QR code to scan with your authenticator app"><figcaption>Key: <code id="totp-key">{{.Key}}</code></figcaption></figure>
<form method="post" id="enrol-form">
<input type="hidden" name="step" value="enrol">
<label for="code">Code the app now shows</label>
<input type="text" id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" required aria-describedby="enrol-help"{{if .Error}} aria-invalid="true"{{end}}>
<p id="enrol-help">6 digits; this confirms the app is set up.</p>
<button type="submit">Confirm and sign in</button>
</form>{{end}}
{{if .Codes}}<h2>Your recovery codes</h2>
<p>Each code signs you in once if you lose your authenticator app. Keep them somewhere safe, apart from your password: <strong>this is the only time they are shown.</strong></p>
<ol id="recovery-codes">{{range .Codes}}<li><code>{{.}}</code></li>{{end}}</ol>{{end}}
{{if eq .Step "sso"}}<form method="post">
<input type="hidden" name="step" value="sso">
<button type="submit">Continue</button>
</form>{{end}}
{{if .Next}}<p><a id="next" href="{{.Next}}">{{.NextText}}</a></p>{{end}}
</main>
</body>
</html>
`

// signinStyle adds what the sign-in page has beyond the link pages.
const signinStyle = `figure{margin:1rem 0;text-align:center}figure img{max-width:100%;height:auto}` +
	`button.secondary{background:#fff;color:#1d4ed8;border:1px solid #1d4ed8}` +
	`figcaption{margin-top:.5rem}code{font-size:1rem;overflow-wrap:anywhere}` +
	`ol{columns:2;font-family:ui-monospace,monospace}`

// signinCSP is pageCSP for the sign-in page: its style, and images only
// from data: URLs (the QR code, drawn here: the seed goes nowhere else).
func signinCSP() string {
	sum := sha256.Sum256([]byte(pageStyle + signinStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// signinPage is what signinTemplate shows.
type signinPage struct {
	Title   string
	Message string
	Error   string
	Step    string // the form to show: password, totp, enrol, sso, recover, or none
	// Recover offers, at the TOTP step, a link to the user's verified
	// address in place of the lost authenticator.
	Recover  bool
	Username string
	Forgot   string
	QR       template.URL
	Key      string
	Codes    []string
	// Continue sends the browser on by itself (the system's return URL);
	// Next is a link.
	Continue template.URL
	Next     template.URL
	NextText string
}

func (s *Server) renderSignin(c *gin.Context, status int, p signinPage) {
	c.Header("Content-Security-Policy", s.signinCSP)
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := s.signinPages.Execute(c.Writer, p); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render sign-in page", "error", err)
	}
	c.Abort()
}

// goneSignin is the one page for every sign-in URL that cannot go on:
// unknown, malformed, ended, superseded or expired look the same.
func goneSignin() signinPage {
	return signinPage{
		Title:   "This sign-in has expired or was already completed",
		Message: "Start signing in again from the application.",
	}
}

// pageURL is the hosted page of a start's token.
func (s *Server) pageURL(token string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + attempt.PagePath + token
}

// signinAttempt finds the attempt of the request's page token. found is
// false for a token that is malformed or unknown.
func (s *Server) signinAttempt(c *gin.Context) (att store.Attempt, digest string, found bool, err error) {
	return s.tokenAttempt(c, func(token string) string { return attempt.PageDigest(s.keys, token) }, s.store.AttemptByPageDigest)
}

// boundBrowser reports whether the request comes from the browser the
// attempt's later steps are bound to.
func (s *Server) boundBrowser(c *gin.Context, att store.Attempt) bool {
	cookie, ok := s.requestBinding(c)
	if !ok || att.BrowserDigest == "" {
		return false
	}
	return secret.Equal(att.BrowserDigest, attempt.BrowserDigest(s.keys, att.ID, cookie))
}

// browserBinding returns the digest of the request's binding cookie for
// the attempt, setting a new cookie when it has none.
func (s *Server) browserBinding(c *gin.Context, att store.Attempt) (string, error) {
	cookie, err := s.bindingCookie(c)
	if err != nil {
		return "", err
	}
	return attempt.BrowserDigest(s.keys, att.ID, cookie), nil
}

// showSignin shows the attempt's current step. It changes nothing but,
// once, the display of new recovery codes.
func (s *Server) showSignin(c *gin.Context) {
	att, _, found, err := s.signinAttempt(c)
	switch {
	case err != nil:
		s.log.ErrorContext(c.Request.Context(), "look up sign-in page", "error", err)
		s.renderSignin(c, http.StatusInternalServerError, signinPage{Title: "Sign-in is unavailable right now", Message: "Try again in a moment."})
	case !found:
		s.renderSignin(c, http.StatusGone, goneSignin())
	case att.State == store.AttemptAuthenticated && att.Method == attempt.MethodPassword && s.boundBrowser(c, att):
		// Codes not yet shown (the answer that carried them was lost).
		s.signedInSignin(c, att)
	case !s.live(att):
		s.renderSignin(c, http.StatusGone, goneSignin())
	default:
		s.renderStep(c, http.StatusOK, att, "")
	}
}

// renderStep renders the form of the attempt's step, with an error when
// a submission was refused.
func (s *Server) renderStep(c *gin.Context, status int, att store.Attempt, refusal string) {
	ctx := c.Request.Context()
	switch {
	case att.Method == attempt.MethodSSO:
		s.renderSignin(c, status, signinPage{
			Title:   "Sign in to " + att.System + " with your organisation's account",
			Message: "You will be sent to your organisation's sign-in page.",
			Error:   refusal, Step: "sso",
		})
	case att.Method != attempt.MethodPassword:
		s.renderSignin(c, http.StatusGone, goneSignin())
	case att.Step == store.StepPassword:
		user, err := s.store.GetUser(ctx, att.AccountID, att.AuthID)
		if err != nil {
			s.log.ErrorContext(ctx, "load user of sign-in page", "error", err)
			s.renderSignin(c, http.StatusServiceUnavailable, signinPage{Title: "Sign-in is unavailable right now", Message: "Try again in a moment."})
			return
		}
		// Whoever typed an authid into the application's sign-in gets
		// this page: it must not tell them the user's address. Masked,
		// the user still recognises it.
		name := maskEmail(user.Email)
		if name == "" {
			name = user.AuthID
		}
		s.renderSignin(c, status, signinPage{
			Title: "Sign in to " + systemTitle(att.System), Error: refusal, Step: "password", Username: name,
			Forgot: s.forgotURL(att.AccountID),
		})
	case !s.boundBrowser(c, att):
		// The password was given in another browser: only that one goes on.
		s.renderSignin(c, http.StatusForbidden, signinPage{
			Title:   "Continue in the browser where you typed your password",
			Message: "This sign-in continues only in the browser that gave the password. Start signing in again from the application to sign in here.",
		})
	case att.Step == store.StepTOTP:
		offer, err := s.offersEmailRecovery(ctx, att)
		if err != nil {
			s.pageUnavailable(c, "load user of sign-in page", err)
			return
		}
		s.renderSignin(c, status, signinPage{Title: "Two-step verification", Error: refusal, Step: "totp", Recover: offer})
	case att.Step == store.StepEnrol:
		p, err := s.enrolPage(ctx, att)
		if err != nil {
			s.log.ErrorContext(ctx, "show enrolment", "error", err, "attempt", att.ID)
			s.renderSignin(c, http.StatusServiceUnavailable, signinPage{Title: "Sign-in is unavailable right now", Message: "Try again in a moment."})
			return
		}
		p.Error = refusal
		s.renderSignin(c, status, p)
	default:
		s.renderSignin(c, http.StatusGone, goneSignin())
	}
}

// forgotURL is where "Forgot password?" leads for the account's users.
func (s *Server) forgotURL(accountID string) string {
	return ForgotPath + url.PathEscape(accountID)
}

// enrolPage shows the user's pending seed as a QR code and as text.
func (s *Server) enrolPage(ctx context.Context, att store.Attempt) (signinPage, error) {
	user, err := s.store.GetUser(ctx, att.AccountID, att.AuthID)
	if err != nil {
		return signinPage{}, err
	}
	if user.TOTPPending == nil {
		return signinPage{}, errors.New("no pending seed to enrol")
	}
	seed, err := s.keys.Open(user.TOTPPending, user.ID)
	if err != nil {
		return signinPage{}, err
	}
	uri := otpauthURI(string(seed), user)
	png, err := qrcode.Encode(uri, qrcode.Medium, totpQRSize)
	if err != nil {
		return signinPage{}, err
	}
	return signinPage{
		Title: "Set up your authenticator app", Step: "enrol",
		QR:  template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		Key: groupKey(string(seed)),
	}, nil
}

// otpauthURI is the Key URI Format authenticator apps scan.
func otpauthURI(seed string, user store.User) string {
	label := user.Email
	if label == "" {
		label = user.AuthID
	}
	q := url.Values{}
	q.Set("secret", seed)
	q.Set("issuer", attempt.TOTPIssuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", strconv.Itoa(int(attempt.TOTPDigits)))
	q.Set("period", strconv.Itoa(attempt.TOTPPeriod))
	return (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + attempt.TOTPIssuer + ":" + label, RawQuery: q.Encode()}).String()
}

// groupKey writes a base32 key in groups of four, as people type it.
func groupKey(k string) string {
	var b strings.Builder
	for i, r := range k {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// submitSignin takes the form of the attempt's step. Only a form posted by
// the page itself is taken.
func (s *Server) submitSignin(c *gin.Context) {
	if !s.sameOrigin(c.Request) {
		s.renderSignin(c, http.StatusForbidden, signinPage{
			Title:   "Sign in on the sign-in page",
			Message: "This form did not come from flexauth's own page. Start signing in again from the application.",
		})
		return
	}
	ctx := c.Request.Context()
	att, digest, found, err := s.signinAttempt(c)
	switch {
	case err != nil:
		s.log.ErrorContext(ctx, "look up sign-in page", "error", err)
		s.renderSignin(c, http.StatusInternalServerError, signinPage{Title: "Sign-in is unavailable right now", Message: "Try again in a moment."})
		return
	case !found || !s.live(att):
		s.renderSignin(c, http.StatusGone, goneSignin())
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		s.renderStep(c, http.StatusBadRequest, att, "The form could not be read. Try again.")
		return
	}
	step := c.Request.PostForm.Get("step")
	if att.Method == attempt.MethodSSO {
		// The page's one button (step sso), as the link page's form.
		s.startSSO(c, att, digest)
		return
	}
	s.submitStep(c, att, step)
}

// submitStep takes the form of a password attempt's step (from its page,
// or from the recover link that stands in for it).
func (s *Server) submitStep(c *gin.Context, att store.Attempt, step string) {
	switch {
	case att.Method != attempt.MethodPassword:
		s.renderSignin(c, http.StatusGone, goneSignin())
	case step == stepEmailLink && att.Step == store.StepTOTP && s.boundBrowser(c, att):
		s.requestRecoverLink(c, att)
	case step != att.Step:
		// A form from an earlier step (back button, a second tab): show
		// where the attempt stands now.
		s.renderStep(c, http.StatusConflict, att, "This sign-in has moved on; continue below.")
	case step == store.StepPassword:
		s.submitPassword(c, att)
	case !s.boundBrowser(c, att):
		s.renderStep(c, http.StatusForbidden, att, "")
	case step == store.StepTOTP:
		s.submitSecondFactor(c, att)
	case step == store.StepEnrol:
		s.submitEnrolment(c, att)
	default:
		s.renderSignin(c, http.StatusGone, goneSignin())
	}
}

// submitPassword seals the password on the attempt under a fresh update
// ID and has the workflow check it.
func (s *Server) submitPassword(c *gin.Context, att store.Attempt) {
	ctx := c.Request.Context()
	// Used as typed: never trimmed, cut or logged.
	plain := c.Request.PostForm.Get("password")
	switch {
	case plain == "":
		s.renderStep(c, http.StatusUnprocessableEntity, att, "Type your password.")
		return
	case len(plain) > maxPasswordBytes:
		s.renderStep(c, http.StatusUnprocessableEntity, att, "That password is not right.")
		return
	}
	browser, err := s.browserBinding(c, att)
	if err != nil {
		s.pageUnavailable(c, "draw browser binding", err)
		return
	}
	updateID := uuid.NewString()
	key := attempt.PasswordSecretKey(updateID)
	sealed, err := s.keys.Seal([]byte(plain), attempt.SecretAAD(att.ID, key))
	if err != nil {
		s.pageUnavailable(c, "seal password", err)
		return
	}
	stored, err := s.store.PutAttemptSecret(ctx, store.AttemptSecret{AttemptID: att.ID, Key: key, Sealed: sealed, CreatedAt: s.now().UTC()})
	if err != nil {
		s.pageUnavailable(c, "store password for its check", err)
		return
	}
	if !stored {
		s.renderSignin(c, http.StatusGone, goneSignin())
		return
	}
	v, err := s.submitAs(ctx, att, workflows.UpdateSubmitPassword, updateID, workflows.Submission{AttemptID: att.ID, Browser: browser})
	s.afterSubmission(c, att, v, err, "That password is not right.")
}

// submitSecondFactor has a TOTP or recovery code checked.
func (s *Server) submitSecondFactor(c *gin.Context, att store.Attempt) {
	raw := strings.TrimSpace(c.Request.PostForm.Get("code"))
	sub := workflows.Submission{AttemptID: att.ID, Factor: store.FactorTOTP}
	sub.Browser, _ = s.browserDigestOf(c, att)
	digits := strings.ReplaceAll(raw, " ", "")
	switch {
	case len(digits) == int(attempt.TOTPDigits) && allDigits(digits):
		sub.Digest = attempt.CodeDigest(s.keys, att.ID, digits)
	default:
		code, ok := secret.NormalizeRecoveryCode(raw)
		if !ok {
			s.renderStep(c, http.StatusUnprocessableEntity, att, "Type the 6-digit code from your authenticator app, or a recovery code such as ABCDE-FGHJK-LMNPQ.")
			return
		}
		sub.Factor = attempt.FactorRecovery
		sub.Digest = attempt.CodeDigest(s.keys, att.ID, attempt.RecoveryDigest(s.keys, code))
		for _, d := range attempt.PreviousRecoveryDigests(s.keys, code) {
			sub.Alternates = append(sub.Alternates, attempt.CodeDigest(s.keys, att.ID, d))
		}
	}
	v, err := s.submitWith(c.Request.Context(), att, workflows.UpdateSubmitCode, sub)
	s.afterSubmission(c, att, v, err, "That code is not right. Wait for the next code, or use a recovery code.")
}

// submitEnrolment has the new authenticator confirmed.
func (s *Server) submitEnrolment(c *gin.Context, att store.Attempt) {
	digits := strings.ReplaceAll(strings.TrimSpace(c.Request.PostForm.Get("code")), " ", "")
	if len(digits) != int(attempt.TOTPDigits) || !allDigits(digits) {
		s.renderStep(c, http.StatusUnprocessableEntity, att, "Type the 6-digit code your authenticator app shows.")
		return
	}
	sub := workflows.Submission{AttemptID: att.ID, Digest: attempt.CodeDigest(s.keys, att.ID, digits)}
	sub.Browser, _ = s.browserDigestOf(c, att)
	v, err := s.submitWith(c.Request.Context(), att, workflows.UpdateConfirmEnrolment, sub)
	s.afterSubmission(c, att, v, err, "That code does not match. Check that the app shows flexauth's newest code, and type it before it changes.")
}

// browserDigestOf is the digest of the request's binding cookie, if any.
func (s *Server) browserDigestOf(c *gin.Context, att store.Attempt) (string, bool) {
	cookie, ok := s.requestBinding(c)
	if !ok {
		return "", false
	}
	return attempt.BrowserDigest(s.keys, att.ID, cookie), true
}

// afterSubmission answers a step's verdict: the next step, the same form
// with wrong, the end page, or the page of an attempt that cannot go on.
func (s *Server) afterSubmission(c *gin.Context, att store.Attempt, v workflows.Verdict, err error, wrong string) {
	ctx := c.Request.Context()
	if err != nil && !errors.Is(err, errAttemptClosed) {
		s.pageUnavailable(c, "submit sign-in step", err)
		return
	}
	fresh, gerr := s.store.GetAttempt(ctx, att.ID)
	if gerr != nil {
		s.pageUnavailable(c, "reload attempt", gerr)
		return
	}
	if v.Verdict == workflows.VerdictAccepted {
		// The workflow may have queued a notice to the user (an app
		// enrolled, a recovery code used): send it now, not at the next
		// retry pass.
		s.wakeLinkDispatcher()
	}
	switch {
	case fresh.State == store.AttemptAuthenticated:
		s.signedInSignin(c, fresh)
	case fresh.State != store.AttemptPending || pastExpiry(fresh, s.now()):
		// Locked, expired, superseded: the same page whatever the reason,
		// as the application gets the same security error.
		s.renderSignin(c, http.StatusForbidden, signinPage{
			Title:   "This sign-in cannot go on",
			Message: "Start signing in again from the application. If this keeps happening, ask your organisation's administrator.",
		})
	case errors.Is(err, errAttemptClosed):
		// Refused unseen (another step, another browser).
		s.renderStep(c, http.StatusConflict, fresh, "")
	case v.Verdict == workflows.VerdictAccepted:
		s.renderStep(c, http.StatusOK, fresh, "")
	default:
		s.renderStep(c, http.StatusUnprocessableEntity, fresh, wrong)
	}
}

// signedInSignin ends a password sign-in: the recovery codes drawn at
// enrolment, once, and the way back to the application.
func (s *Server) signedInSignin(c *gin.Context, att store.Attempt) {
	ctx := c.Request.Context()
	// Enrolment, recovery codes and recovery by email may have queued notices.
	s.wakeLinkDispatcher()
	p := signinPage{Title: "You are signed in to " + att.System, Message: "You can close this page."}
	sealed, err := s.store.TakeAttemptSecret(ctx, att.ID, store.SecretRecoveryCodes)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		s.log.ErrorContext(ctx, "take recovery codes", "error", err, "attempt", att.ID)
	default:
		codes, err := attempt.OpenRecoveryCodes(s.keys, att.ID, sealed)
		if err != nil {
			s.log.ErrorContext(ctx, "open recovery codes", "error", err, "attempt", att.ID)
			break
		}
		p.Codes = codes
		p.Message = "Your authenticator app is set up. From now on, signing in asks for your password and a code from the app."
	}
	if att.System == attempt.SecuritySystem {
		s.openSecuritySession(c, att, p.Codes)
		return
	}
	if back := s.returnURL(ctx, att); back != "" {
		p.Next, p.NextText = template.URL(back), "Continue to "+att.System
		if len(p.Codes) == 0 {
			// Nothing to copy first: go straight back.
			p.Continue = template.URL(back)
		}
	}
	if len(p.Codes) > 0 {
		c.Header("Cache-Control", "no-store")
	}
	s.renderSignin(c, http.StatusOK, p)
}

// returnURL is the system's return URL, "" when it has none or cannot be
// read (the page then just says the sign-in is done).
func (s *Server) returnURL(ctx context.Context, att store.Attempt) string {
	sys, err := s.store.GetSystem(ctx, att.AccountID, att.System)
	if err != nil {
		return ""
	}
	return sys.ReturnURL
}

func (s *Server) pageUnavailable(c *gin.Context, what string, err error) {
	s.log.ErrorContext(c.Request.Context(), what, "error", err)
	s.renderSignin(c, http.StatusServiceUnavailable, signinPage{Title: "Sign-in is unavailable right now", Message: "Try again in a moment."})
}
