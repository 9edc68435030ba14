package messages

import (
	"strconv"
	"time"
)

// Data is what templates render. Field names are the contract with the
// tenants who write templates; those the SMTP plugin's TemplateData had
// (System, Account, Method, Purpose, To, Link, Code, ExpiresMinutes,
// Subject, Text, Brand) keep their names and meaning.
type Data struct {
	// System is the application the user signs in to; empty for
	// credential links and notices.
	System string
	// Account is the flexauth account (tenant) ID.
	Account string
	// Organisation is the account's name (its ID when it has none), as
	// credential links and notices name it.
	Organisation string
	// Method is the sign-in method ("passwordless", "sso", "pin"); empty
	// for credential links and notices.
	Method string
	// Purpose is what a credential link is for ("welcome", "reset",
	// "verify_email", "recover") or "notice"; empty for sign-in messages.
	Purpose string
	// To is the recipient's address (email address or phone number).
	To string
	// Name is the recipient's name, when known.
	Name string
	// Link is the link to open; empty in a code message.
	Link string
	// Code is the one-time code; empty in a link message.
	Code string
	// ExpiresMinutes is how long the link or code stays valid; 0 if
	// unknown. {{minutes .ExpiresMinutes}} says "1 minute" or "15 minutes".
	ExpiresMinutes int
	// ExpiresIn says how long a credential link works ("72 hours", "30
	// minutes"), and ExpiresAt when it stops ("2 January 2006, 15:04 UTC").
	ExpiresIn string
	ExpiresAt string
	// Subject is, in the subject template, a notice's own subject (empty
	// for other messages); in the other parts, the subject being sent.
	Subject string
	// Text is, in the text and SMS templates, a notice's own sentence
	// (empty for other messages); in the HTML template, the text part as
	// rendered, for templates that only want to frame it.
	Text string
	// Brand is the account's (or system's) brand from the message
	// settings; its Color is always a hex colour.
	Brand Brand
}

// SetExpiry fills the expiry fields for a secret that expires at expires,
// as seen at now.
func (d *Data) SetExpiry(expires, now time.Time) {
	left := expires.Sub(now)
	d.ExpiresMinutes = max(1, int(left.Round(time.Minute)/time.Minute))
	d.ExpiresIn = describeDuration(left)
	d.ExpiresAt = expires.UTC().Format("2 January 2006, 15:04 UTC")
}

// describeDuration says d in hours (or minutes, under two hours), as a
// message tells it.
func describeDuration(d time.Duration) string {
	if d < 2*time.Hour {
		return strconv.Itoa(max(1, int(d.Round(time.Minute)/time.Minute))) + " minutes"
	}
	return strconv.Itoa(int(d.Round(time.Hour)/time.Hour)) + " hours"
}

// minutes renders "1 minute" or "15 minutes"; the SMTP plugin's
// {{template "minutes" .ExpiresMinutes}} helper, as a function.
func minutes(n int) string {
	if n == 1 {
		return "1 minute"
	}
	return strconv.Itoa(n) + " minutes"
}

// sample is the data validation and previews render: never a real secret.
func sample(message string) Data {
	d := Data{
		System: "Example", Account: "example", Organisation: "Example Org", To: "user@example.com", Name: "Ada",
		ExpiresMinutes: 15, ExpiresIn: "72 hours", ExpiresAt: "2 January 2026, 15:04 UTC",
		Brand: Brand{Name: "Example Org", Color: DefaultBrandColor},
	}
	k, _ := kindOf(message)
	switch k.secret {
	case linkSecret:
		d.Link = SampleLink
	case codeSecret:
		d.Code = SampleCode
	}
	switch message {
	case SignInLink:
		d.Method = "passwordless"
	case SSOLink:
		d.Method = "sso"
	case SignInCode:
		d.Method = "pin"
	case Notice:
		d.System, d.Purpose = "", Notice
		d.Subject = "Your password for Example Org was changed"
		d.Text = "The password you sign in to Example Org with was changed in your security settings on 2 January 2026, 15:04 UTC, from the address 192.0.2.1.\n\nIf this was you, there is nothing more to do. If it was not, tell your organisation's administrator at once."
	default:
		d.System, d.Purpose = "", message
	}
	return d
}

// Sample values, which every link message must render (SampleLink) and
// every code message too (SampleCode). They are no secrets.
const (
	SampleLink = "https://auth.example.com/l/SAMPLE-link-0000000000"
	SampleCode = "428913"
)
