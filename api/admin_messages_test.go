package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/messages"
)

// part returns messages[message][part] of an effective set.
func part(t *testing.T, set apitest.Messages, message, name string) (template, source string) {
	t.Helper()
	p, ok := set.Messages[message][name]
	if !ok {
		t.Fatalf("no %s.%s in %+v", message, name, set)
	}
	return p.Template, p.Source
}

// messagesOf reads a level's effective set.
func messagesOf(c *apitest.Client, path string) apitest.Messages {
	c.T.Helper()
	return apitest.AdminAs[apitest.Messages](c, http.MethodGet, path, nil, http.StatusOK)
}

func TestAdminMessages(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin"}}, http.StatusCreated)
	const accountSMS = "{{.Code}} is your Acme code for {{.System}}."

	t.Run("without overrides every part is built in", func(t *testing.T) {
		got := messagesOf(h.Client, "/v1/admin/messages")
		builtin, err := messages.Builtin(messages.SignInCode, messages.PartSMS)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl, src := part(t, got, "signin_code", "sms"); tmpl != builtin || src != "builtin" {
			t.Fatalf("signin_code.sms = %q from %s", tmpl, src)
		}
		if got.Brand.Color != messages.DefaultBrandColor || got.Brand.Name != "" {
			t.Fatalf("brand = %+v", got.Brand)
		}
		for _, m := range messages.Names() {
			for _, p := range messages.Parts(m) {
				part(t, got, m, p)
			}
		}
	})

	t.Run("an account override and the brand are stored and shown with their source", func(t *testing.T) {
		got := adminAs[apitest.Messages](h, http.MethodPut, "/v1/admin/messages", req{
			"messages": req{"signin_code": req{"sms": accountSMS}},
			"brand":    req{"name": "Acme"},
		}, http.StatusOK)
		if tmpl, src := part(t, got, "signin_code", "sms"); tmpl != accountSMS || src != "account" {
			t.Fatalf("signin_code.sms = %q from %s", tmpl, src)
		}
		if b := got.Brand; b.Name != "Acme" || b.Source["name"] != "account" || b.Source["color"] != "builtin" {
			t.Fatalf("brand = %+v", b)
		}
		if types := h.AuditTypes("type=messages.updated"); len(types) != 1 {
			t.Fatalf("audit = %v", types)
		}
	})

	t.Run("a system override wins over the account's, part by part", func(t *testing.T) {
		got := adminAs[apitest.Messages](h, http.MethodPut, "/v1/admin/systems/vpn/messages", req{
			"messages": req{"signin_code": req{"subject": "Your VPN code"}},
		}, http.StatusOK)
		if got.System != "vpn" {
			t.Fatalf("system = %q", got.System)
		}
		if _, src := part(t, got, "signin_code", "subject"); src != "system" {
			t.Fatalf("subject from %s", src)
		}
		if tmpl, src := part(t, got, "signin_code", "sms"); tmpl != accountSMS || src != "account" {
			t.Fatalf("sms = %q from %s", tmpl, src)
		}
		account := messagesOf(h.Client, "/v1/admin/messages")
		if _, src := part(t, account, "signin_code", "subject"); src != "builtin" {
			t.Fatalf("the account's subject comes from %s", src)
		}
	})

	t.Run("a preview renders sample data through the effective templates", func(t *testing.T) {
		got := adminAs[apitest.MessagePreview](h, http.MethodPost, "/v1/admin/messages/preview", req{"system": "vpn", "message": "signin_code", "channel": "sms"}, http.StatusOK)
		if want := (apitest.MessagePreview{Subject: "Your VPN code", Text: messages.SampleCode + " is your Acme code for Example."}); got != want {
			t.Fatalf("preview = %+v, want %+v", got, want)
		}
		email := adminAs[apitest.MessagePreview](h, http.MethodPost, "/v1/admin/messages/preview", req{"message": "welcome"}, http.StatusOK)
		if !strings.Contains(email.Text, messages.SampleLink) || !strings.Contains(email.HTML, `href="`+messages.SampleLink+`"`) {
			t.Fatalf("preview = %+v", email)
		}
	})

	t.Run("invalid templates are refused, naming the message and part, and nothing is stored", func(t *testing.T) {
		tests := []struct {
			name string
			body req
			want []string
		}{
			{"range", req{"messages": req{"signin_link": req{"text": "{{.Link}}{{range .System}}x{{end}}"}}}, []string{"signin_link", "text", "range"}},
			{"define", req{"messages": req{"signin_link": req{"text": `{{.Link}}{{define "x"}}{{template "x"}}{{end}}`}}}, []string{"signin_link", "text", "define"}},
			{"no code", req{"messages": req{"signin_code": req{"sms": "Your code is on its way"}}}, []string{"signin_code", "sms", "{{.Code}}"}},
			{"too long for an SMS", req{"messages": req{"signin_code": req{"sms": "{{.Code}}" + strings.Repeat(".", 1600)}}}, []string{"signin_code", "sms", "1600"}},
			{"one bad part among good ones", req{"messages": req{
				"signin_code": req{"subject": "Fine {{.System}}"}, "welcome": req{"html": "<p>no link</p>"},
			}, "brand": req{"name": "Other"}}, []string{"welcome", "html", "link"}},
			{"unknown message", req{"messages": req{"farewell": req{"text": "bye"}}}, []string{"farewell", "unknown message"}},
			{"bad colour", req{"brand": req{"color": "red"}}, []string{"brand", "color", "hex"}},
			{"unknown field", req{"message": req{}}, []string{"message"}},
			{"nothing", req{}, []string{"nothing to set"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := h.Do(http.MethodPut, "/v1/admin/messages", h.AdminKey, tt.body)
				if res.Status != http.StatusBadRequest {
					t.Fatalf("status = %d %s", res.Status, res.Body)
				}
				for _, w := range tt.want {
					if !strings.Contains(res.Body, w) {
						t.Errorf("error %s does not say %q", res.Body, w)
					}
				}
			})
		}
		got := messagesOf(h.Client, "/v1/admin/messages")
		if _, src := part(t, got, "signin_code", "subject"); src != "builtin" {
			t.Fatalf("a refused request stored the subject: %s", src)
		}
		if got.Brand.Name != "Acme" {
			t.Fatalf("a refused request changed the brand: %+v", got.Brand)
		}
	})

	t.Run("another account's admin key neither sees nor changes them", func(t *testing.T) {
		other := otherAccount(t, h, "globex")
		got := messagesOf(other, "/v1/admin/messages")
		if _, src := part(t, got, "signin_code", "sms"); src != "builtin" || got.Brand.Name != "" {
			t.Fatalf("globex sees %+v", got)
		}
		other.Admin(http.MethodGet, "/v1/admin/systems/vpn/messages", nil, http.StatusNotFound)
		other.Admin(http.MethodPut, "/v1/admin/systems/vpn/messages", req{"messages": req{"signin_code": req{"subject": "x"}}}, http.StatusNotFound)
		other.Admin(http.MethodDelete, "/v1/admin/systems/vpn/messages/signin_code/subject", nil, http.StatusNotFound)
		other.Admin(http.MethodPost, "/v1/admin/messages/preview", req{"system": "vpn", "message": "signin_code"}, http.StatusNotFound)
		other.Admin(http.MethodPut, "/v1/admin/messages", req{"brand": req{"name": "Globex"}}, http.StatusOK)
		other.Admin(http.MethodDelete, "/v1/admin/messages/signin_code/sms", nil, http.StatusNoContent)

		mine := messagesOf(h.Client, "/v1/admin/systems/vpn/messages")
		if tmpl, _ := part(t, mine, "signin_code", "sms"); tmpl != accountSMS || mine.Brand.Name != "Acme" {
			t.Fatalf("acme's messages changed: %+v", mine)
		}
	})

	t.Run("a sub-organisation inherits the parts and brand it does not set", func(t *testing.T) {
		h.Admin(http.MethodPost, "/v1/admin/organisations", req{"id": "eu", "name": "Acme Europe"}, http.StatusCreated)
		got := messagesOf(h.Client, "/v1/admin/messages?organisation=eu")
		if tmpl, src := part(t, got, "signin_code", "sms"); tmpl != accountSMS || src != "inherited" {
			t.Fatalf("eu's signin_code.sms = %q from %s", tmpl, src)
		}
		if got.Brand.Name != "Acme" || got.Brand.Source["name"] != "inherited" {
			t.Fatalf("eu's brand = %+v", got.Brand)
		}
		got = adminAs[apitest.Messages](h, http.MethodPut, "/v1/admin/messages?organisation=eu", req{"brand": req{"name": "Acme EU"}}, http.StatusOK)
		if got.Brand.Name != "Acme EU" || got.Brand.Source["name"] != "account" {
			t.Fatalf("eu's own brand = %+v", got.Brand)
		}
		if parent := messagesOf(h.Client, "/v1/admin/messages"); parent.Brand.Name != "Acme" {
			t.Fatalf("eu's brand changed its parent's: %+v", parent.Brand)
		}
		h.Admin(http.MethodDelete, "/v1/admin/messages/brand/name?organisation=eu", nil, http.StatusNoContent)
	})

	t.Run("deleting a part returns to the level below", func(t *testing.T) {
		h.Admin(http.MethodDelete, "/v1/admin/systems/vpn/messages/signin_code/subject", nil, http.StatusNoContent)
		h.Admin(http.MethodDelete, "/v1/admin/messages/brand/name", nil, http.StatusNoContent)
		h.Admin(http.MethodDelete, "/v1/admin/messages/signin_code/sms", nil, http.StatusNoContent)
		got := messagesOf(h.Client, "/v1/admin/systems/vpn/messages")
		if _, src := part(t, got, "signin_code", "subject"); src != "builtin" {
			t.Fatalf("subject from %s", src)
		}
		if _, src := part(t, got, "signin_code", "sms"); src != "builtin" || got.Brand.Name != "" {
			t.Fatalf("after deleting: %+v", got)
		}
		h.Admin(http.MethodDelete, "/v1/admin/messages/signin_code/fax", nil, http.StatusNotFound)
		h.Admin(http.MethodGet, "/v1/admin/systems/nope/messages", nil, http.StatusNotFound)
		h.Admin(http.MethodPost, "/v1/admin/messages/preview", req{"message": "welcome", "channel": "sms"}, http.StatusBadRequest)
	})
}
