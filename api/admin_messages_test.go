package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/messages"
)

// part returns messages[message][part] of an effective set.
func part(t *testing.T, set map[string]any, message, name string) (template, source string) {
	t.Helper()
	msgs, _ := set["messages"].(map[string]any)
	m, _ := msgs[message].(map[string]any)
	p, ok := m[name].(map[string]any)
	if !ok {
		t.Fatalf("no %s.%s in %v", message, name, set)
	}
	return p["template"].(string), p["source"].(string)
}

func TestAdminMessages(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin"}}, http.StatusCreated)
	const accountSMS = "{{.Code}} is your Acme code for {{.System}}."

	t.Run("without overrides every part is built in", func(t *testing.T) {
		got := h.Admin(http.MethodGet, "/v1/admin/messages", nil, http.StatusOK)
		builtin, err := messages.Builtin(messages.SignInCode, messages.PartSMS)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl, src := part(t, got, "signin_code", "sms"); tmpl != builtin || src != "builtin" {
			t.Fatalf("signin_code.sms = %q from %s", tmpl, src)
		}
		brand := got["brand"].(map[string]any)
		if brand["color"] != messages.DefaultBrandColor || brand["name"] != "" {
			t.Fatalf("brand = %v", brand)
		}
		for _, m := range messages.Names() {
			for _, p := range messages.Parts(m) {
				part(t, got, m, p)
			}
		}
	})

	t.Run("an account override and the brand are stored and shown with their source", func(t *testing.T) {
		got := h.Admin(http.MethodPut, "/v1/admin/messages", req{
			"messages": req{"signin_code": req{"sms": accountSMS}},
			"brand":    req{"name": "Acme"},
		}, http.StatusOK)
		if tmpl, src := part(t, got, "signin_code", "sms"); tmpl != accountSMS || src != "account" {
			t.Fatalf("signin_code.sms = %q from %s", tmpl, src)
		}
		brand := got["brand"].(map[string]any)
		if brand["name"] != "Acme" || brand["source"].(map[string]any)["name"] != "account" || brand["source"].(map[string]any)["color"] != "builtin" {
			t.Fatalf("brand = %v", brand)
		}
		if types := h.AuditTypes("type=messages.updated"); len(types) != 1 {
			t.Fatalf("audit = %v", types)
		}
	})

	t.Run("a system override wins over the account's, part by part", func(t *testing.T) {
		got := h.Admin(http.MethodPut, "/v1/admin/systems/vpn/messages", req{
			"messages": req{"signin_code": req{"subject": "Your VPN code"}},
		}, http.StatusOK)
		if got["system"] != "vpn" {
			t.Fatalf("system = %v", got["system"])
		}
		if _, src := part(t, got, "signin_code", "subject"); src != "system" {
			t.Fatalf("subject from %s", src)
		}
		if tmpl, src := part(t, got, "signin_code", "sms"); tmpl != accountSMS || src != "account" {
			t.Fatalf("sms = %q from %s", tmpl, src)
		}
		account := h.Admin(http.MethodGet, "/v1/admin/messages", nil, http.StatusOK)
		if _, src := part(t, account, "signin_code", "subject"); src != "builtin" {
			t.Fatalf("the account's subject comes from %s", src)
		}
	})

	t.Run("a preview renders sample data through the effective templates", func(t *testing.T) {
		got := h.Admin(http.MethodPost, "/v1/admin/messages/preview", req{"system": "vpn", "message": "signin_code", "channel": "sms"}, http.StatusOK)
		if got["subject"] != "Your VPN code" || got["text"] != messages.SampleCode+" is your Acme code for Example." || got["html"] != "" {
			t.Fatalf("preview = %v", got)
		}
		email := h.Admin(http.MethodPost, "/v1/admin/messages/preview", req{"message": "welcome"}, http.StatusOK)
		if !strings.Contains(email["text"].(string), messages.SampleLink) || !strings.Contains(email["html"].(string), `href="`+messages.SampleLink+`"`) {
			t.Fatalf("preview = %v", email)
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
				res := h.Do(http.MethodPut, "/v1/admin/messages", h.adminKey, tt.body)
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
		got := h.Admin(http.MethodGet, "/v1/admin/messages", nil, http.StatusOK)
		if _, src := part(t, got, "signin_code", "subject"); src != "builtin" {
			t.Fatalf("a refused request stored the subject: %s", src)
		}
		if got["brand"].(map[string]any)["name"] != "Acme" {
			t.Fatalf("a refused request changed the brand: %v", got["brand"])
		}
	})

	t.Run("another account's admin key neither sees nor changes them", func(t *testing.T) {
		other := otherAccount(t, h, "globex")
		got := other.Admin(http.MethodGet, "/v1/admin/messages", nil, http.StatusOK)
		if _, src := part(t, got, "signin_code", "sms"); src != "builtin" || got["brand"].(map[string]any)["name"] != "" {
			t.Fatalf("globex sees %v", got)
		}
		other.Admin(http.MethodGet, "/v1/admin/systems/vpn/messages", nil, http.StatusNotFound)
		other.Admin(http.MethodPut, "/v1/admin/systems/vpn/messages", req{"messages": req{"signin_code": req{"subject": "x"}}}, http.StatusNotFound)
		other.Admin(http.MethodDelete, "/v1/admin/systems/vpn/messages/signin_code/subject", nil, http.StatusNotFound)
		other.Admin(http.MethodPost, "/v1/admin/messages/preview", req{"system": "vpn", "message": "signin_code"}, http.StatusNotFound)
		other.Admin(http.MethodPut, "/v1/admin/messages", req{"brand": req{"name": "Globex"}}, http.StatusOK)
		other.Admin(http.MethodDelete, "/v1/admin/messages/signin_code/sms", nil, http.StatusNoContent)

		mine := h.Admin(http.MethodGet, "/v1/admin/systems/vpn/messages", nil, http.StatusOK)
		if tmpl, _ := part(t, mine, "signin_code", "sms"); tmpl != accountSMS || mine["brand"].(map[string]any)["name"] != "Acme" {
			t.Fatalf("acme's messages changed: %v", mine)
		}
	})

	t.Run("deleting a part returns to the level below", func(t *testing.T) {
		h.Admin(http.MethodDelete, "/v1/admin/systems/vpn/messages/signin_code/subject", nil, http.StatusNoContent)
		h.Admin(http.MethodDelete, "/v1/admin/messages/brand/name", nil, http.StatusNoContent)
		h.Admin(http.MethodDelete, "/v1/admin/messages/signin_code/sms", nil, http.StatusNoContent)
		got := h.Admin(http.MethodGet, "/v1/admin/systems/vpn/messages", nil, http.StatusOK)
		if _, src := part(t, got, "signin_code", "subject"); src != "builtin" {
			t.Fatalf("subject from %s", src)
		}
		if _, src := part(t, got, "signin_code", "sms"); src != "builtin" || got["brand"].(map[string]any)["name"] != "" {
			t.Fatalf("after deleting: %v", got)
		}
		h.Admin(http.MethodDelete, "/v1/admin/messages/signin_code/fax", nil, http.StatusNotFound)
		h.Admin(http.MethodGet, "/v1/admin/systems/nope/messages", nil, http.StatusNotFound)
		h.Admin(http.MethodPost, "/v1/admin/messages/preview", req{"message": "welcome", "channel": "sms"}, http.StatusBadRequest)
	})
}
