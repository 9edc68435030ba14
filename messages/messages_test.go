package messages_test

import (
	"errors"
	"go/build"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/messages"
)

const link = "https://auth.example.com/l/tok"

func TestBuiltinTemplatesPassTheirOwnValidation(t *testing.T) {
	for _, m := range messages.Names() {
		for _, p := range messages.Parts(m) {
			src, err := messages.Builtin(m, p)
			if err != nil {
				t.Fatal(err)
			}
			if err := messages.Validate(messages.Key{Message: m, Part: p}, src); err != nil {
				t.Errorf("built-in %s.%s: %v", m, p, err)
			}
		}
	}
}

func TestDefaultsKeepTodaysWording(t *testing.T) {
	tests := []struct {
		name, message, channel string
		data                   messages.Data
		subject, text          string
	}{
		{"sign-in link by email", messages.SignInLink, "email",
			messages.Data{System: "Billing", Link: link, ExpiresMinutes: 15},
			"Your sign-in link for Billing",
			"Open this link to sign in to Billing:\n\n" + link + "\n\nIt works once and expires in 15 minutes.\n\nIf you did not try to sign in, ignore this message.\n"},
		{"sign-in code by email, one minute", messages.SignInCode, "email",
			messages.Data{System: "Billing", Code: "493817", ExpiresMinutes: 1},
			"Your sign-in code for Billing",
			"Your code to sign in to Billing is:\n\n    493817\n\nIt expires in 1 minute. Never share it.\n\nIf you did not try to sign in, ignore this message.\n"},
		{"single sign-on link", messages.SSOLink, "email",
			messages.Data{System: "portal", Link: link, ExpiresMinutes: 5},
			"Your sign-in link for portal",
			"Open this link to sign in to portal with your organisation's account:\n\n" + link + "\n\nIt expires in 5 minutes. If you did not try to sign in, ignore this message.\n"},
		{"sign-in code by SMS", messages.SignInCode, "sms",
			messages.Data{System: "VPN", Code: "123456", ExpiresMinutes: 10},
			"Your sign-in code for VPN", "123456 is your VPN sign-in code. It expires in 10 minutes."},
		{"sign-in code by SMS without a system", messages.SignInCode, "sms",
			messages.Data{Code: "123456"},
			"Your sign-in code", "123456 is your sign-in code."},
		{"sign-in link by SMS without a system or expiry", messages.SignInLink, "sms",
			messages.Data{Link: link},
			"Your sign-in link", "Sign in to your account:\n" + link},
		{"sign-in link by SMS", messages.SignInLink, "sms",
			messages.Data{System: "VPN", Link: link, ExpiresMinutes: 10},
			"Your sign-in link for VPN", "Sign in to VPN within 10 minutes:\n" + link},
		{"welcome link", messages.Welcome, "email",
			messages.Data{Organisation: "Acme", Name: "Ada", Link: link, Purpose: "welcome", ExpiresIn: "72 hours", ExpiresAt: "4 January 2026, 10:00 UTC"},
			"Create your password for Acme",
			"Hello Ada,\n\nAcme lets you sign in with your email address and a password. Open this link to create your password:\n\n" + link +
				"\n\nThe link works once and expires in 72 hours (4 January 2026, 10:00 UTC). If you did not expect this message, ignore it: nothing changes until a password is created.\n"},
		{"notice", messages.Notice, "email",
			messages.Data{Subject: "New recovery codes for Acme", Text: "Something happened."},
			"New recovery codes for Acme", "Hello,\n\nSomething happened.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := messages.Render(tt.message, tt.channel, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject != tt.subject || r.Text != tt.text {
				t.Fatalf("subject %q, text:\n%q\nwant %q, text:\n%q", r.Subject, r.Text, tt.subject, tt.text)
			}
			if tt.channel == "sms" && r.HTML != "" {
				t.Fatalf("an SMS has HTML: %q", r.HTML)
			}
			if tt.channel == "email" && (tt.data.Link != "" && !strings.Contains(r.HTML, `href="`+tt.data.Link+`"`) || !strings.Contains(r.HTML, "<html")) {
				t.Fatalf("html = %s", r.HTML)
			}
		})
	}
}

func TestSetExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	var d messages.Data
	d.SetExpiry(now.Add(72*time.Hour), now)
	if d.ExpiresIn != "72 hours" || d.ExpiresAt != "4 January 2026, 10:00 UTC" || d.ExpiresMinutes != 72*60 {
		t.Fatalf("%+v", d)
	}
	d.SetExpiry(now.Add(90*time.Minute), now)
	if d.ExpiresIn != "90 minutes" {
		t.Fatalf("%+v", d)
	}
}

func TestTheMostSpecificOverrideWinsPartByPart(t *testing.T) {
	account := messages.Layer{
		{Message: messages.SignInLink, Part: messages.PartSubject}: "Account subject for {{.System}}",
		{Message: messages.SignInLink, Part: messages.PartText}:    "Account text {{.Link}}",
		messages.BrandKey(messages.BrandName):                      "Acme",
		messages.BrandKey(messages.BrandColor):                     "#ff0000",
	}
	system := messages.Layer{
		{Message: messages.SignInLink, Part: messages.PartText}: "System text {{.Link}} {{.Brand.Name}}",
		messages.BrandKey(messages.BrandName):                   "Acme VPN",
	}
	parent := messages.Layer{
		{Message: messages.SignInLink, Part: messages.PartSubject}: "Parent subject",
		{Message: messages.SignInLink, Part: messages.PartHTML}:    "<p>Parent {{.Link}}</p>",
		messages.BrandKey(messages.BrandColor):                     "#00ff00",
	}
	levels := []messages.Level{
		{Layer: system, Source: messages.FromSystem},
		{Layer: account, Source: messages.FromAccount},
		{Layer: parent, Source: messages.FromInherited},
	}
	d := messages.Data{System: "vpn", Link: link, ExpiresMinutes: 5}
	r, err := messages.Render(messages.SignInLink, "email", d, levels...)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Account subject for vpn" || r.Text != "System text "+link+" Acme VPN\n" {
		t.Fatalf("with system: %+v", r)
	}
	if r.HTML != "<p>Parent "+link+"</p>" {
		t.Fatalf("the parent's HTML is not inherited: %s", r.HTML)
	}
	r, err = messages.Render(messages.SignInLink, "email", d, levels[1])
	if err != nil || r.Text != "Account text "+link+"\n" {
		t.Fatalf("account only: %+v, %v", r, err)
	}
	if !strings.Contains(r.HTML, "background-color:#ff0000") {
		t.Fatalf("the account's colour is not in the built-in HTML:\n%s", r.HTML)
	}
	r, err = messages.Render(messages.SignInLink, "sms", d, levels...)
	if err != nil || r.Text != "Sign in to vpn within 5 minutes:\n"+link {
		t.Fatalf("sms keeps the built-in: %+v, %v", r, err)
	}

	e, err := messages.Resolve(levels...)
	if err != nil {
		t.Fatal(err)
	}
	got := e.Messages[messages.SignInLink]
	if got[messages.PartSubject].Source != messages.FromAccount || got[messages.PartText].Source != messages.FromSystem ||
		got[messages.PartHTML].Source != messages.FromInherited || got[messages.PartSMS].Source != messages.FromBuiltin || e.Brand != (messages.Brand{Name: "Acme VPN", Color: "#ff0000"}) ||
		e.BrandSource[messages.BrandName] != messages.FromSystem || e.BrandSource[messages.BrandColor] != messages.FromAccount {
		t.Fatalf("effective = %+v", e)
	}
}

func TestTheBrandNameIsEscapedInHTML(t *testing.T) {
	account := messages.Layer{messages.BrandKey(messages.BrandName): `<script>alert(1)</script>`}
	if err := messages.Validate(messages.BrandKey(messages.BrandName), `<script>alert(1)</script>`); err != nil {
		t.Fatal(err)
	}
	r, err := messages.Render(messages.SignInCode, "email", messages.Data{System: "vpn", Code: "123456"}, messages.Level{Layer: account, Source: messages.FromAccount})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") || !strings.Contains(r.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("html = %s", r.HTML)
	}
	if !strings.Contains(r.Text, "<script>alert(1)</script>") {
		t.Fatalf("the text part is plain text and keeps the name: %s", r.Text)
	}
}

func TestValidationRefusals(t *testing.T) {
	key := func(m, p string) messages.Key { return messages.Key{Message: m, Part: p} }
	long := strings.Repeat("x", messages.MaxSourceBytes+1)
	tests := []struct {
		name string
		key  messages.Key
		src  string
		want string
	}{
		{"range", key(messages.SignInLink, messages.PartText), "{{.Link}}{{range .System}}x{{end}}", "range is not allowed"},
		{"define", key(messages.SignInLink, messages.PartText), `{{.Link}}{{define "a"}}{{template "a"}}{{end}}`, "define and block are not allowed"},
		{"block", key(messages.SignInLink, messages.PartText), `{{.Link}}{{block "a" .}}x{{end}}`, "define and block are not allowed"},
		{"template call", key(messages.SignInLink, messages.PartText), `{{.Link}}{{template "minutes" 3}}`, "template is not allowed"},
		{"printf", key(messages.SignInLink, messages.PartText), `{{.Link}}{{printf "%0999999999d" 1}}`, `function "printf" not defined`},
		{"call", key(messages.SignInLink, messages.PartText), `{{.Link}}{{call .System}}`, `function "call" not defined`},
		{"oversize", key(messages.SignInLink, messages.PartText), "{{.Link}}" + long, "at most 16384"},
		{"rendered size", key(messages.SignInLink, messages.PartHTML), "{{.Link}}" + strings.Repeat("{{.Link}}", 1500), "renders more than"},
		{"missing link", key(messages.SignInLink, messages.PartText), "Sign in to {{.System}}", "does not render the link"},
		{"missing link in HTML", key(messages.Welcome, messages.PartHTML), "<p>{{.Subject}}</p>", "does not render the link"},
		{"notice without what happened", key(messages.Notice, messages.PartText), "Hello {{.Name}}", "does not render what happened"},
		{"notice HTML without what happened", key(messages.Notice, messages.PartHTML), "<p>{{.Subject}}</p>", "does not render what happened"},
		{"missing code", key(messages.SignInCode, messages.PartSMS), "Your code for {{.System}}", "does not render the code"},
		{"SMS too long", key(messages.SignInCode, messages.PartSMS), "{{.Code}} " + strings.Repeat("a", messages.MaxSMSRunes), "at most 1600"},
		{"unknown field", key(messages.SignInCode, messages.PartSMS), "{{.Code}} {{.Pin}}", "can't evaluate field Pin"},
		{"line break in subject", key(messages.SignInCode, messages.PartSubject), "Code\nfor {{.System}}", "line break"},
		{"empty subject", key(messages.SignInCode, messages.PartSubject), "{{if false}}x{{end}}", "subject is empty"},
		{"unknown message", key("farewell", messages.PartText), "bye", "unknown message"},
		{"unknown part", key(messages.Welcome, messages.PartSMS), "{{.Link}}", "unknown part"},
		{"parse error", key(messages.SignInLink, messages.PartText), "{{.Link", "parse"},
		{"bad colour", messages.BrandKey(messages.BrandColor), "red; background:url(x)", "not a hex colour"},
		{"line break in brand", messages.BrandKey(messages.BrandName), "Acme\nBcc: x", "control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := messages.Validate(tt.key, tt.src)
			var pe *messages.PartError
			if !errors.As(err, &pe) || pe.Message != tt.key.Message || pe.Part != tt.key.Part || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want a PartError for %s.%s containing %q", err, tt.key.Message, tt.key.Part, tt.want)
			}
		})
	}
}

func TestValidationAccepts(t *testing.T) {
	for _, src := range []string{
		`{{with .Brand.Name}}{{.}}: {{end}}{{if and .Link (gt .ExpiresMinutes 1)}}{{.Link}} in {{minutes .ExpiresMinutes}}{{else}}{{.Link}}{{end}}`,
		`{{$l := .Link}}{{/* a comment */}}{{$l}} {{len .System}}`,
	} {
		if err := messages.Validate(messages.Key{Message: messages.SignInLink, Part: messages.PartText}, src); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}

func TestPreviewUsesSampleData(t *testing.T) {
	r, err := messages.Preview(messages.SignInCode, "sms")
	if err != nil || r.Text != messages.SampleCode+" is your Example sign-in code. It expires in 15 minutes." {
		t.Fatalf("%+v, %v", r, err)
	}
}

// The package sits beneath the activities and the API, like attempt: it
// imports nothing of flexauth, so that it can never reach the store or a
// log with a rendered secret.
func TestThePackageStaysBeneathItsCallers(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/flexauth/") {
			t.Errorf("messages imports %s", imp)
		}
	}
}
