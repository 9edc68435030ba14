package messages

import (
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Messages, as the admin API and the store name them.
const (
	SignInLink  = "signin_link"  // passwordless: a link that signs in
	SSOLink     = "sso_link"     // single sign-on: a link to the organisation's provider
	SignInCode  = "signin_code"  // pin: a one-time code
	Welcome     = "welcome"      // credential link: create a first password
	Reset       = "reset"        // credential link: choose a new password
	VerifyEmail = "verify_email" // credential link: prove the email address
	Recover     = "recover"      // credential link: replace a lost authenticator app
	Notice      = "notice"       // security notice: frames flexauth's sentence, no secret
)

// Parts of a message.
const (
	PartSubject = "subject" // email subject, one line (text/template)
	PartText    = "text"    // email plain text (text/template)
	PartHTML    = "html"    // email HTML (html/template, escaped by context)
	PartSMS     = "sms"     // SMS text (text/template), at most MaxSMSRunes
)

// Limits on what tenants write and what their templates produce.
const (
	// MaxSourceBytes bounds a template's source.
	MaxSourceBytes = 16 << 10
	// MaxRenderedBytes bounds what a part renders to; rendering stops
	// there rather than filling memory.
	MaxRenderedBytes = 64 << 10
	// MaxSMSRunes is the provider's limit on an SMS body (Twilio refuses
	// longer ones), checked on the rendered text.
	MaxSMSRunes = 1600
	// maxSubjectRunes keeps a subject well under SMTP's line limit once
	// encoded.
	maxSubjectRunes = 200
	// maxBrandNameRunes bounds the brand name shown in headers and
	// signatures.
	maxBrandNameRunes = 100
)

// secretKind is what a message must carry for it to be of any use.
type secretKind int

const (
	noSecret secretKind = iota
	linkSecret
	codeSecret
	// noticeText is a notice's: no secret, but flexauth's sentence saying
	// what happened (.Text), which a template must not drop either.
	noticeText
)

// kind describes one message: its parts and what it must carry.
type kind struct {
	name   string
	parts  []string
	secret secretKind
}

// kinds lists the messages in the order the API shows them.
func kinds() []kind {
	emailParts := []string{PartSubject, PartText, PartHTML}
	signInParts := []string{PartSubject, PartText, PartHTML, PartSMS}
	return []kind{
		{SignInLink, signInParts, linkSecret},
		{SSOLink, signInParts, linkSecret},
		{SignInCode, signInParts, codeSecret},
		{Welcome, emailParts, linkSecret},
		{Reset, emailParts, linkSecret},
		{VerifyEmail, emailParts, linkSecret},
		{Recover, emailParts, linkSecret},
		{Notice, emailParts, noticeText},
	}
}

func kindOf(message string) (kind, bool) {
	i := slices.IndexFunc(kinds(), func(k kind) bool { return k.name == message })
	if i < 0 {
		return kind{}, false
	}
	return kinds()[i], true
}

// Names lists the messages in order.
func Names() []string {
	var names []string
	for _, k := range kinds() {
		names = append(names, k.name)
	}
	return names
}

// Parts lists the parts message has, or nil for an unknown message.
func Parts(message string) []string {
	k, ok := kindOf(message)
	if !ok {
		return nil
	}
	return slices.Clone(k.parts)
}

// Known reports whether message has part.
func Known(message, part string) bool {
	return slices.Contains(Parts(message), part)
}

// ForMethod is the message of a sign-in by method ("passwordless", "sso",
// "pin"), or false for a method that delivers nothing.
func ForMethod(method string) (string, bool) {
	switch method {
	case "passwordless":
		return SignInLink, true
	case "sso":
		return SSOLink, true
	case "pin":
		return SignInCode, true
	}
	return "", false
}

// builtin holds the default templates: defaults/<message>/<part>.txt,
// and for the HTML part one layout (defaults/layout.html) around each
// message's content (defaults/<message>/content.html; the four credential
// links share defaults/link_content.html, their subject and text saying
// what the link is for). The HTML is put together here, so what an
// administrator reads and overrides is one whole template.
//
//go:embed defaults
var builtin embed.FS

// htmlContentMarker is where the layout takes a message's content.
const htmlContentMarker = "{{/* content */}}"

// Builtin returns the built-in template of message's part.
func Builtin(message, part string) (string, error) {
	if !Known(message, part) {
		return "", fmt.Errorf("no part %q in message %q", part, message)
	}
	if part != PartHTML {
		return readBuiltin("defaults/" + message + "/" + part + ".txt")
	}
	layout, err := readBuiltin("defaults/layout.html")
	if err != nil {
		return "", err
	}
	file := "defaults/" + message + "/content.html"
	switch message {
	case Welcome, Reset, VerifyEmail, Recover:
		file = "defaults/link_content.html"
	}
	content, err := readBuiltin(file)
	if err != nil {
		return "", err
	}
	return strings.Replace(layout, htmlContentMarker, content, 1), nil
}

func readBuiltin(file string) (string, error) {
	src, err := builtin.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read built-in template %s: %w", file, err)
	}
	return string(src), nil
}

// Brand is how an account's messages present it.
type Brand struct {
	// Name is shown in the message header and signature; may be empty.
	Name string
	// Color is a hex colour for buttons and links.
	Color string
}

// DefaultBrandColor is the button colour when none is set; it keeps a
// contrast ratio above 4.5:1 with the white button text.
const DefaultBrandColor = "#1d4ed8"

// hexColor is what a brand colour may be. It lands in a style attribute,
// so anything richer than a hex colour is refused rather than trusted to
// the CSS escaper.
var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
