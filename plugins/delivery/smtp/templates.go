package smtp

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// builtinTemplates are the defaults used when the configuration overrides
// nothing.
//
//go:embed templates/subject.txt templates/body.txt templates/body.html
var builtinTemplates embed.FS

// helperTemplates are defined in every template, built-in or override, so
// operators can reuse them: {{template "minutes" .ExpiresMinutes}} renders
// "1 minute" or "15 minutes".
const helperTemplates = `{{define "minutes"}}{{if eq . 1}}1 minute{{else}}{{.}} minutes{{end}}{{end}}`

// Template parts, as named in template.<part> and template.<system>.<part>.
const (
	partSubject = "subject"
	partText    = "text"
	partHTML    = "html"
)

// TemplateData is what subject, text and HTML templates render. Field names
// are part of the contract with operators who write templates.
type TemplateData struct {
	// System is the application the user signs in to (Metadata["system"]).
	System string
	// Account is the flexauth account (tenant) id (Metadata["account"]).
	Account string
	// Method is the login method, e.g. "passwordless" or "pin".
	Method string
	// Purpose is what a link other than a sign-in link is for
	// (Metadata["purpose"]): "welcome" (create a password), later "reset"
	// or "verify_email"; empty for sign-in messages. The built-in
	// templates show flexauth's own text for such a message.
	Purpose string
	// To is the recipient's address.
	To string
	// Link is the magic link, empty when a code is sent.
	Link string
	// Code is the one-time code, empty when a link is sent.
	Code string
	// ExpiresMinutes is how long the link or code stays valid; 0 if unknown.
	ExpiresMinutes int
	// Subject is, in the subject template, the default subject flexauth
	// wrote; in the text and HTML templates, the subject being sent.
	Subject string
	// Text is the default plain text flexauth wrote (it already contains
	// the link or code), for templates that only want to frame it.
	Text string
	// Brand comes from the brand.* configuration keys.
	Brand Brand
}

// Brand is the account's branding, from brand.name and brand.color.
type Brand struct {
	// Name is shown in the message header and signature; may be empty.
	Name string
	// Color is a hex colour for the sign-in button and links.
	Color string
}

// templateParts is one set of templates; a nil field is not overridden at
// that level.
type templateParts struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// templateSet resolves each part from the most specific level that sets it:
// the system's override, the account-wide override, then the built-in
// default.
type templateSet struct {
	builtin templateParts
	account templateParts
	systems map[string]templateParts
}

// parseTemplates parses the built-in templates and every template.* key,
// and renders each override once with sample data, so that a template that
// cannot render is refused at Configure (naming its key) rather than at the
// first sign-in.
func parseTemplates(config map[string]string, brand Brand) (*templateSet, error) {
	ts := &templateSet{systems: make(map[string]templateParts)}
	var err error
	if ts.builtin, err = parseBuiltin(); err != nil {
		return nil, err
	}
	// Sorted, so that of two bad templates the same one is always reported.
	for _, key := range slices.Sorted(maps.Keys(config)) {
		src := config[key]
		rest, ok := strings.CutPrefix(key, templatePrefix)
		if !ok {
			continue
		}
		system, part := "", rest
		if i := strings.LastIndexByte(rest, '.'); i >= 0 {
			system, part = rest[:i], rest[i+1:]
			if system == "" {
				return nil, configError(key, "empty system name")
			}
		}
		parts := ts.account
		if system != "" {
			parts = ts.systems[system]
		}
		if err := parts.set(key, part, src); err != nil {
			return nil, err
		}
		if err := parts.trial(key, part, system, brand); err != nil {
			return nil, err
		}
		if system == "" {
			ts.account = parts
		} else {
			ts.systems[system] = parts
		}
	}
	return ts, nil
}

func parseBuiltin() (templateParts, error) {
	var p templateParts
	for _, f := range []struct{ file, part string }{
		{"templates/subject.txt", partSubject},
		{"templates/body.txt", partText},
		{"templates/body.html", partHTML},
	} {
		src, err := builtinTemplates.ReadFile(f.file)
		if err != nil {
			return p, fmt.Errorf("read built-in template: %w", err)
		}
		if err := p.set(f.file, f.part, string(src)); err != nil {
			return p, fmt.Errorf("built-in template: %w", err)
		}
	}
	return p, nil
}

// set parses src as the given part, named key in error messages.
func (p *templateParts) set(key, part, src string) error {
	var err error
	switch part {
	case partSubject:
		p.subject, err = texttemplate.New(key).Parse(helperTemplates + src)
	case partText:
		p.text, err = texttemplate.New(key).Parse(helperTemplates + src)
	case partHTML:
		// html/template escapes by context: a Link lands in href as a
		// URL, in text as text, and a non-http(s) link is neutralised.
		p.html, err = htmltemplate.New(key).Parse(helperTemplates + src)
	default:
		return configError(key, "unknown template part %q; want subject, text or html", part)
	}
	if err != nil {
		return configError(key, "parse: %w", err)
	}
	return nil
}

// trial renders the part just set with sample data, once with a link and
// once with a code. Referencing a field TemplateData does not have only
// fails on execution, so parsing alone would let it through.
func (p *templateParts) trial(key, part, system string, brand Brand) error {
	if system == "" {
		system = "Example"
	}
	for _, d := range []TemplateData{
		{System: system, Account: "acc", Method: "passwordless", To: "user@example.com", Link: "https://id.example.com/l/sample", ExpiresMinutes: 15, Subject: "Sign in", Text: "Open the link", Brand: brand},
		{System: system, Account: "acc", Method: "pin", To: "user@example.com", Code: "123456", ExpiresMinutes: 1, Subject: "Sign in", Text: "Your code", Brand: brand},
	} {
		var err error
		switch part {
		case partSubject:
			_, err = renderSubject(p.subject, d)
		case partText:
			_, err = renderText(p.text, d)
		case partHTML:
			_, err = renderHTML(p.html, d)
		}
		if err != nil {
			return configError(key, "%w", err)
		}
	}
	return nil
}

// overrides counts the templates the configuration sets, for the log.
func (ts *templateSet) overrides() int {
	n := 0
	for _, p := range append([]templateParts{ts.account}, slices.Collect(maps.Values(ts.systems))...) {
		for _, set := range []bool{p.subject != nil, p.text != nil, p.html != nil} {
			if set {
				n++
			}
		}
	}
	return n
}

// render produces the subject, text and HTML for req. Its errors are
// permanent: the same templates and request fail the same way every time.
func (ts *templateSet) render(req sdk.SendRequest, brand Brand) (subject, text, html string, err error) {
	d := TemplateData{
		System:  req.Metadata["system"],
		Account: req.Metadata["account"],
		Method:  req.Metadata["method"],
		Purpose: req.Metadata["purpose"],
		To:      req.To,
		Link:    req.Link,
		Code:    req.Code,
		Subject: req.Subject,
		Text:    req.Text,
		Brand:   brand,
	}
	// A malformed expires_minutes only loses the sentence about expiry;
	// the message is still worth sending.
	if m, convErr := strconv.Atoi(req.Metadata["expires_minutes"]); convErr == nil && m > 0 {
		d.ExpiresMinutes = m
	}
	sys := ts.systems[d.System]

	// flexauth's own subject wins over the built-in one: it is worded per
	// method already and is what other channels show.
	switch tmpl := firstNonNil(sys.subject, ts.account.subject); {
	case tmpl != nil:
		subject, err = renderSubject(tmpl, d)
	case req.Subject != "":
		subject = req.Subject
	default:
		subject, err = renderSubject(ts.builtin.subject, d)
	}
	if err != nil {
		return "", "", "", sdk.Permanent(fmt.Errorf("render subject: %w", err))
	}

	d.Subject = subject
	if text, err = renderText(firstNonNil(sys.text, ts.account.text, ts.builtin.text), d); err != nil {
		return "", "", "", sdk.Permanent(fmt.Errorf("render text: %w", err))
	}
	if html, err = renderHTML(firstNonNil(sys.html, ts.account.html, ts.builtin.html), d); err != nil {
		return "", "", "", sdk.Permanent(fmt.Errorf("render html: %w", err))
	}
	return subject, text, html, nil
}

func firstNonNil[T any](ts ...*T) *T {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}

// renderSubject renders a one-line subject. Line breaks are refused, not
// stripped: a template that produces them is wrong, and a header must
// never carry one.
func renderSubject(t *texttemplate.Template, d TemplateData) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("execute: %w", err)
	}
	s := strings.TrimSpace(b.String())
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New("subject contains a line break")
	}
	if s == "" {
		return "", errors.New("subject is empty")
	}
	return s, nil
}

func renderText(t *texttemplate.Template, d TemplateData) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("execute: %w", err)
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

func renderHTML(t *htmltemplate.Template, d TemplateData) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("execute: %w", err)
	}
	return b.String(), nil
}
