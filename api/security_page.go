package api

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"time"

	"github.com/gin-gonic/gin"
)

// The page of the security settings (security.go): the sign-in form, the
// settings, and what a change shows once (recovery codes, an enrolment's
// QR code). No script: every action is a form posted to its own URL with
// the session's CSRF token in a hidden field.

const securityTemplate = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>` + pageStyle + signinStyle + securityStyle + `</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{with .Settings}}<p id="who">Signed in as <strong>{{.Email}}</strong>, {{.Org}}.</p>{{end}}
{{if .Message}}<div class="done" id="message" role="status"><p>{{.Message}}</p></div>{{end}}
{{if .Error}}<div class="refusal" id="refusal" role="alert"><p>{{.Error}}</p>{{if .Refusals}}<ul>{{range .Refusals}}<li>{{.}}</li>{{end}}</ul>{{end}}</div>{{end}}
{{if .SignIn}}<form method="post" action="{{.Base}}" id="signin-form">
<label for="email">Email address</label>
<input type="email" id="email" name="email" autocomplete="username" value="{{.Email}}" required{{if not .Email}} autofocus{{end}}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{{if .Email}} autofocus{{end}}{{if .Error}} aria-invalid="true" aria-describedby="refusal"{{end}}>
<button type="submit">Sign in</button>
</form>
<p>Signing in asks for a code from your authenticator app as well.</p>
<p><a id="forgot" href="{{.Forgot}}">Forgot password?</a></p>{{end}}
{{if .Codes}}<section aria-labelledby="codes-title">
<h2 id="codes-title">Your new recovery codes</h2>
<p>Each code signs you in once if you lose your authenticator app. Keep them somewhere safe, apart from your password: <strong>this is the only time they are shown.</strong> The codes you had before no longer work.</p>
<ol id="recovery-codes">{{range .Codes}}<li><code>{{.}}</code></li>{{end}}</ol>
</section>{{end}}
{{if .QR}}<section aria-labelledby="enrol-title">
<h2 id="enrol-title">Set up your authenticator app</h2>
<p>Add flexauth to an authenticator app (such as Google Authenticator, Microsoft Authenticator or 1Password): scan the QR code, or type the key.</p>
<figure><img id="qr" src="{{.QR}}" width="220" height="220" alt="QR code to scan with your authenticator app"><figcaption>Key: <code id="totp-key">{{.Key}}</code></figcaption></figure>
<form method="post" action="{{.Base}}/totp/confirm" id="enrol-form">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="code">Code the app now shows</label>
<input type="text" id="code" name="code" autocomplete="one-time-code" inputmode="numeric" pattern="[0-9 ]*" required autofocus aria-describedby="enrol-help">
<p id="enrol-help">6 digits; this confirms the app is set up.</p>
<button type="submit">Confirm</button>
</form>
</section>{{end}}
{{with .Settings}}
<section aria-labelledby="totp-title">
<h2 id="totp-title">Authentication app</h2>
<dl id="totp">
<dt>Status</dt><dd id="totp-status">{{if .TOTPEnabled}}On{{if .TOTPEnabledAt}} since {{.TOTPEnabledAt}}{{end}}{{else}}Not set up: your next sign-in asks you to set one up{{end}}</dd>
{{if .TOTPEnabled}}<dt>Last used</dt><dd id="totp-last-used">{{.TOTPLastUsed}}</dd>{{end}}
</dl>
{{if not .TOTPEnabled}}<form method="post" action="{{$.Base}}/totp">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<button type="submit">Set up an authenticator app</button>
</form>{{end}}
</section>
<section aria-labelledby="recovery-title">
<h2 id="recovery-title">Recovery codes</h2>
{{if .TOTPEnabled}}<p id="recovery-left">{{.CodesLeft}} of {{.CodesTotal}} codes left. Each one signs you in once instead of a code from the app.</p>
<form method="post" action="{{$.Base}}/recovery-codes">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<button type="submit">Make new recovery codes</button>
</form>
<p class="hint">The codes you have now stop working.</p>{{else}}<p>Recovery codes come with an authenticator app.</p>{{end}}
</section>
<section aria-labelledby="email-title">
<h2 id="email-title">Email address</h2>
<dl>
<dt>Address</dt><dd id="email-address">{{.Email}}</dd>
<dt>Verified</dt><dd id="email-verified">{{if .EmailVerifiedAt}}Yes, since {{.EmailVerifiedAt}}{{else}}No{{end}}</dd>
</dl>
<p>A verified address can let you back in once if you lose your authenticator app: signing in then offers to email you a link.</p>
{{if not .EmailVerifiedAt}}<form method="post" action="{{$.Base}}/verify-email">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<button type="submit">Verify my email</button>
</form>{{end}}
</section>
<section aria-labelledby="reset-title">
<h2 id="reset-title">Reset two-step verification</h2>
<p>Removes your authenticator app and recovery codes. Your next sign-in asks you to set up an authenticator app again.</p>
<dl><dt>Last reset</dt><dd id="reset-at">{{if .ResetAt}}{{.ResetAt}}{{else}}Never{{end}}</dd></dl>
<form method="post" action="{{$.Base}}/reset-two-factor">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<p class="check"><input type="checkbox" id="reset-confirm" name="confirm" value="yes" required><label for="reset-confirm">I understand that my authenticator app and recovery codes stop working</label></p>
<button type="submit">Reset two-step verification</button>
</form>
</section>
<section aria-labelledby="password-title">
<h2 id="password-title">Password</h2>
<dl>
<dt>Last changed</dt><dd id="password-changed">{{if .PasswordChangedAt}}{{.PasswordChangedAt}}{{else}}Never{{end}}</dd>
<dt>Last sign-in</dt><dd id="last-login">{{if .LastLogin}}{{.LastLogin}}{{else}}Never{{end}}</dd>
<dt>From</dt><dd id="last-ip">{{if .LastIP}}{{.LastIP}}{{else}}Unknown{{end}}</dd>
</dl>
<form method="post" action="{{$.Base}}/password" id="password-form">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="text" name="username" autocomplete="username" value="{{.Email}}" hidden>
<label for="current">Current password</label>
<input type="password" id="current" name="current" autocomplete="current-password" required>
<label for="new">New password</label>
<input type="password" id="new" name="new" autocomplete="new-password" required aria-describedby="rules">
<label for="confirm">Type the new password again</label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" required>
<ul id="rules">{{range .Rules}}<li>{{.}}</li>{{end}}</ul>
<button type="submit">Change my password</button>
</form>
</section>
<p class="hint" id="freshness">{{if .Fresh}}You signed in at {{.SignedInAt}}. Until {{.FreshUntil}} you can change your authenticator app, recovery codes, two-step verification and password; after that, these changes ask you to sign in again.{{else}}You signed in at {{.SignedInAt}}: changing your authenticator app, recovery codes, two-step verification or password asks you to sign in again first.{{end}}</p>
<form method="post" action="{{$.Base}}/sign-out">
<input type="hidden" name="csrf" value="{{$.CSRF}}">
<button type="submit" class="secondary">Sign out</button>
</form>
{{end}}
{{if .Next}}<p><a id="next" href="{{.Next}}">{{.NextText}}</a></p>{{end}}
</main>
</body>
</html>
`

// securityStyle adds what the settings page has beyond the sign-in page.
const securityStyle = `section{border-top:1px solid #d1d5db;margin-top:1.5rem}` +
	`.done{border:1px solid #15803d;background:#ecfdf3;color:#14532d;padding:.2rem 1rem;border-radius:.3rem}` +
	`.hint{color:#555;font-size:.95rem}` +
	`.check{display:flex;gap:.5rem;align-items:flex-start}.check input{width:auto;margin-top:.2rem}.check label{margin:0;font-weight:400}`

// securityCSP is pageCSP for the settings page: its style, and images only
// from data: URLs (an enrolment's QR code, drawn here).
func securityCSP() string {
	sum := sha256.Sum256([]byte(pageStyle + signinStyle + securityStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// securityPage is what securityTemplate shows.
type securityPage struct {
	Title    string
	Message  string   // what a change did (role status)
	Error    string   // why a submission was refused (role alert)
	Refusals []string // the password rules' reasons, under Error
	// Base is the settings' URL, /security/{account}; every form posts
	// under it.
	Base string
	// SignIn shows the sign-in form, Email prefilled.
	SignIn bool
	Email  string
	Forgot string
	// Settings, with the session's CSRF token, shows the settings.
	Settings *securitySettings
	CSRF     string
	// Codes are new recovery codes, shown once; QR and Key a seed to enrol.
	Codes []string
	QR    template.URL
	Key   string
	// Next is a link onwards.
	Next     string
	NextText string
}

// securitySettings are the facts the settings page shows, as text.
type securitySettings struct {
	Email, Org                  string
	TOTPEnabled                 bool
	TOTPEnabledAt, TOTPLastUsed string
	CodesLeft, CodesTotal       int
	EmailVerifiedAt             string
	ResetAt                     string
	PasswordChangedAt           string
	LastLogin, LastIP           string
	Rules                       []string
	Fresh                       bool
	SignedInAt, FreshUntil      string
}

// pageTime writes a moment as the pages do; "" for none.
func pageTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 January 2006, 15:04 UTC")
}

func (s *Server) renderSecurity(c *gin.Context, status int, p securityPage) {
	c.Header("Content-Security-Policy", s.securityCSP)
	if len(p.Codes) > 0 || p.QR != "" {
		c.Header("Cache-Control", "no-store")
	}
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := s.securityPages.Execute(c.Writer, p); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render security page", "error", err)
	}
	c.Abort()
}
