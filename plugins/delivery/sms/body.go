package sms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf16"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// maxBodyRunes is Twilio's limit on Body. Anything longer is refused by the
// provider with a 400; refusing it here says why.
const maxBodyRunes = 1600

// templateData is what a "template" setting can use. Field names are part
// of the plugin's configuration contract: renaming one breaks operators'
// templates.
type templateData struct {
	// System is the name of the system being signed in to.
	System string
	// Link is the magic link, empty for code sign-ins.
	Link string
	// Code is the one-time code, empty for link sign-ins.
	Code string
	// ExpiresMinutes is how long the code or link is valid; 0 if unknown.
	ExpiresMinutes int
	// Attempt is the login attempt id, for a template that quotes a
	// reference the user can give to support. It is not a secret: it
	// identifies the attempt, it does not complete it.
	Attempt string
}

func newTemplateData(req sdk.SendRequest) templateData {
	// A missing or malformed value only loses the expiry sentence; it is
	// not worth failing a sign-in over.
	minutes, err := strconv.Atoi(req.Metadata["expires_minutes"])
	if err != nil || minutes < 0 {
		minutes = 0
	}
	return templateData{
		System:         req.Metadata["system"],
		Link:           req.Link,
		Code:           req.Code,
		ExpiresMinutes: minutes,
		Attempt:        req.Attempt,
	}
}

// renderBody returns the SMS text for req. Sign-in messages (with a code or
// a link) use the configured template or the short default; any other
// message is sent as the host's Text, which is already plain text.
func renderBody(t *template.Template, req sdk.SendRequest) (string, error) {
	var body string
	switch {
	case req.Code == "" && req.Link == "":
		body = strings.TrimSpace(req.Text)
	case t == nil:
		body = defaultBody(newTemplateData(req))
	default:
		var err error
		body, err = execute(t, newTemplateData(req))
		if err != nil {
			// The template is the operator's; retrying cannot fix it.
			return "", sdk.Permanent(fmt.Errorf("render template: %w", err))
		}
	}
	if body == "" {
		return "", sdk.Permanent(errors.New("nothing to send: no code, link or text"))
	}
	if n := len([]rune(body)); n > maxBodyRunes {
		return "", sdk.Permanent(fmt.Errorf("body is %d characters, the limit is %d", n, maxBodyRunes))
	}
	return body, nil
}

// execute runs t and trims surrounding whitespace: templates written in
// configuration files tend to end with a newline nobody meant to send.
func execute(t *template.Template, data templateData) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return strings.TrimSpace(b.String()), nil
}

// defaultBody is short enough for one 160-character segment with a
// typical system name. The code comes first so that phones offering to
// autofill it, and people glancing at a notification, see it at once; a
// link goes last on its own line so no trailing punctuation is taken as
// part of it.
func defaultBody(d templateData) string {
	system := "your"
	if d.System != "" {
		system = "your " + d.System
	}
	var expiry string
	switch {
	case d.ExpiresMinutes == 1:
		expiry = "1 minute"
	case d.ExpiresMinutes > 1:
		expiry = strconv.Itoa(d.ExpiresMinutes) + " minutes"
	}
	if d.Code != "" {
		body := d.Code + " is " + system + " sign-in code."
		if expiry != "" {
			body += " It expires in " + expiry + "."
		}
		return body
	}
	target := "your account"
	if d.System != "" {
		target = d.System
	}
	if expiry != "" {
		return "Sign in to " + target + " within " + expiry + ":\n" + d.Link
	}
	return "Sign in to " + target + ":\n" + d.Link
}

// gsmBasic is the GSM 03.38 default alphabet; gsmExtended characters take
// two septets (an escape and the character).
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExtended = "^{}\\[~]|€\f"
)

// segments estimates how many SMS parts body is billed as: 160 GSM-7
// characters fit one message (153 per part when split); a single
// character outside GSM-7 switches the whole message to UCS-2 (70, or 67
// per part). It is only logged, so operators see what a template costs.
func segments(body string) (parts int, gsm bool) {
	septets := 0
	gsm = true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExtended, r):
			septets += 2
		default:
			gsm = false
		}
	}
	single, multi, n := 160, 153, septets
	if !gsm {
		single, multi, n = 70, 67, len(utf16.Encode([]rune(body)))
	}
	switch {
	case n == 0:
		return 0, gsm
	case n <= single:
		return 1, gsm
	default:
		return (n + multi - 1) / multi, gsm
	}
}
