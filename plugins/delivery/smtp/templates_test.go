package smtp

import (
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/sdk"
)

func TestTemplateOverridesApplyPerSystemThenAccount(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	m := newMailer(t, srv.config("starttls",
		"brand.name", "Acme",
		"brand.color", "#ff6600",
		"template.subject", "{{.Brand.Name}}: sign in to {{.System}}",
		"template.text", "Hello {{.To}}, {{if .Link}}link {{.Link}}{{else}}code {{.Code}}{{end}} ({{template \"minutes\" .ExpiresMinutes}}, account {{.Account}})",
		"template.html", `<p style="color:{{.Brand.Color}}">{{.Brand.Name}} code <code>{{.Code}}</code></p>`,
		"template.Billing.subject", "Billing code {{.Code}}",
		"template.Billing.html", `<p>Billing: <b>{{.Code}}</b> for {{.To}}</p>`,
	))

	tests := []struct {
		name        string
		system      string
		wantSubject string
		wantText    string
		wantHTML    string
	}{
		{
			name:        "a system's override wins, the account's fills in",
			system:      "Billing",
			wantSubject: "Billing code 493817",
			wantText:    "Hello ada@example.com, code 493817 (5 minutes, account acc-1)",
			wantHTML:    "<p>Billing: <b>493817</b> for ada@example.com</p>",
		},
		{
			name:        "another system gets the account's templates",
			system:      "Shop",
			wantSubject: "Acme: sign in to Shop",
			wantText:    "Hello ada@example.com, code 493817 (5 minutes, account acc-1)",
			wantHTML:    `<p style="color:#ff6600">Acme code <code>493817</code></p>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := codeRequest("att-tmpl-" + tt.system)
			req.Metadata["system"] = tt.system
			resp, err := m.Send(t.Context(), req)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			var got parsedMessage
			for _, msg := range srv.messages() {
				if p := parseMessage(t, msg.raw); p.header.Get("Message-ID") == resp.MessageID {
					got = p
				}
			}
			if got.header == nil {
				t.Fatal("message not received")
			}
			if s := got.header.Get("Subject"); s != tt.wantSubject {
				t.Errorf("subject = %q, want %q", s, tt.wantSubject)
			}
			if s := strings.TrimSpace(got.parts["text/plain"]); s != tt.wantText {
				t.Errorf("text = %q, want %q", s, tt.wantText)
			}
			if s := strings.TrimSpace(got.parts["text/html"]); s != tt.wantHTML {
				t.Errorf("html = %q, want %q", s, tt.wantHTML)
			}
		})
	}
}

func TestBuiltInTemplates(t *testing.T) {
	ts, err := parseTemplates(nil, Brand{Color: defaultBrandColor})
	if err != nil {
		t.Fatalf("parse built-in templates: %v", err)
	}
	brand := Brand{Name: "Acme <Corp>", Color: defaultBrandColor}
	tests := []struct {
		name        string
		req         sdk.SendRequest
		wantSubject string
		want        []string
		wantHTML    []string
		dontWant    []string // in neither part
	}{
		{
			name:        "flexauth's subject is kept",
			req:         linkRequest("a"),
			wantSubject: "Your sign-in link for Billing",
			want:        []string{testLink, "Acme <Corp>"},
			wantHTML:    []string{"Acme &lt;Corp&gt;", "background-color:#1d4ed8"},
		},
		{
			name: "without flexauth's subject the built-in one is used",
			req: sdk.SendRequest{ID: "b", Channel: "email", To: "a@example.com", Code: "42",
				Metadata: map[string]string{"system": "Shop", "expires_minutes": "1"}},
			wantSubject: "Your sign-in code for Shop",
			want:        []string{"42", "expires in 1 minute."},
			wantHTML:    []string{">42</p>", "expires in 1 minute."},
		},
		{
			name: "a message with neither link nor code shows flexauth's text",
			req: sdk.SendRequest{ID: "c", Channel: "email", To: "a@example.com", Subject: "Notice",
				Text: "Line one\nLine <two>"},
			wantSubject: "Notice",
			want:        []string{"Line one\nLine <two>"},
			wantHTML:    []string{"Line one\nLine &lt;two&gt;", "white-space:pre-line"},
		},
		{
			name: "a welcome link is no sign-in: flexauth's text, the link as the button",
			req: sdk.SendRequest{ID: "w", Channel: "email", To: "a@example.com", Subject: "Create your password for Acme",
				Text: "Open this link to create your password:\n\n" + testLink + "\n\nThe link works once and expires in 72 hours.",
				Link: testLink, Metadata: map[string]string{"account": "acme", "purpose": "welcome", "expires_minutes": "4320"}},
			wantSubject: "Create your password for Acme",
			want:        []string{"Open this link to create your password:", testLink, "expires in 72 hours."},
			wantHTML:    []string{"Create your password for Acme</h1>", `href="` + htmlEscapedLink + `"`, "Open the link</a>"},
			dontWant:    []string{"Sign in", "sign in", "4320 minutes"},
		},
		{
			name: "a link that is not http is neutralised in HTML",
			req: sdk.SendRequest{ID: "d", Channel: "email", To: "a@example.com", Subject: "x",
				Link: "javascript:alert(1)"},
			wantSubject: "x",
			wantHTML:    []string{`href="#ZgotmplZ"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject, text, html, err := ts.render(tt.req, brand)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", subject, tt.wantSubject)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("text does not contain %q:\n%s", w, text)
				}
			}
			for _, w := range tt.wantHTML {
				if !strings.Contains(html, w) {
					t.Errorf("html does not contain %q:\n%s", w, html)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(text, w) || strings.Contains(html, w) {
					t.Errorf("the message says %q:\n%s\n%s", w, text, html)
				}
			}
		})
	}
}
