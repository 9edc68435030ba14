package sms

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

func validConfig() map[string]string {
	return map[string]string{"account_sid": testAccountSID, "auth_token": testAuthToken, "from": testFrom}
}

func TestConfigureRefusesAndNamesTheKey(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(map[string]string)
		wantKey string
	}{
		{name: "missing account_sid", edit: func(m map[string]string) { delete(m, "account_sid") }, wantKey: "account_sid"},
		{name: "account_sid with a slash", edit: func(m map[string]string) { m["account_sid"] = "AC1/../x" }, wantKey: "account_sid"},
		{name: "account_sid with a space", edit: func(m map[string]string) { m["account_sid"] = "AC1 " }, wantKey: "account_sid"},
		{name: "missing auth_token", edit: func(m map[string]string) { delete(m, "auth_token") }, wantKey: "auth_token"},
		{name: "missing from", edit: func(m map[string]string) { delete(m, "from") }, wantKey: "from"},
		{name: "from in national format", edit: func(m map[string]string) { m["from"] = "5005550006" }, wantKey: "from"},
		{name: "from as a bare MG", edit: func(m map[string]string) { m["from"] = "MG" }, wantKey: "from"},
		{name: "from as a messaging service with punctuation", edit: func(m map[string]string) { m["from"] = "MG12-34" }, wantKey: "from"},
		{name: "plain http to a remote host", edit: func(m map[string]string) { m["base_url"] = "http://api.twilio.com" }, wantKey: "base_url"},
		{name: "another scheme", edit: func(m map[string]string) { m["base_url"] = "ftp://api.twilio.com" }, wantKey: "base_url"},
		{name: "no host", edit: func(m map[string]string) { m["base_url"] = "api.twilio.com" }, wantKey: "base_url"},
		{name: "credentials in base_url", edit: func(m map[string]string) { m["base_url"] = "https://u:p@api.twilio.com" }, wantKey: "base_url"},
		{name: "query in base_url", edit: func(m map[string]string) { m["base_url"] = "https://api.twilio.com/?x=1" }, wantKey: "base_url"},
		{name: "unparsable timeout", edit: func(m map[string]string) { m["timeout"] = "ten seconds" }, wantKey: "timeout"},
		{name: "zero timeout", edit: func(m map[string]string) { m["timeout"] = "0s" }, wantKey: "timeout"},
		{name: "negative timeout", edit: func(m map[string]string) { m["timeout"] = "-1s" }, wantKey: "timeout"},
		{name: "a template from before version 2", edit: func(m map[string]string) { m["template"] = "{{.Code}}" }, wantKey: "template"},
		{name: "misspelt key", edit: func(m map[string]string) { m["auth-token"] = "x" }, wantKey: "auth-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validConfig()
			tt.edit(m)
			err := New().Configure(t.Context(), sdk.ConfigureRequest{Config: m})
			if !errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("error = %v, want permanent", err)
			}
			if !strings.Contains(err.Error(), `"`+tt.wantKey+`"`) {
				t.Errorf("error %q does not name %q", err, tt.wantKey)
			}
			if tt.wantKey == "template" && !strings.Contains(err.Error(), "/v1/admin/messages") {
				t.Errorf("error %q does not point to the admin API", err)
			}
			if strings.Contains(err.Error(), testAuthToken) {
				t.Errorf("error %q leaks the auth token", err)
			}
		})
	}
}

func TestConfigureAccepts(t *testing.T) {
	tests := []struct {
		name         string
		edit         func(map[string]string)
		wantEndpoint string
		wantTimeout  time.Duration
		wantFrom     string
		wantService  string
	}{
		{
			name:         "defaults to Twilio over https with a 10s timeout",
			edit:         func(map[string]string) {},
			wantEndpoint: "https://api.twilio.com/2010-04-01/Accounts/" + testAccountSID + "/Messages.json",
			wantTimeout:  10 * time.Second, wantFrom: testFrom,
		},
		{
			name:         "plain http to localhost",
			edit:         func(m map[string]string) { m["base_url"] = "http://localhost:8080" },
			wantEndpoint: "http://localhost:8080/2010-04-01/Accounts/" + testAccountSID + "/Messages.json",
			wantTimeout:  10 * time.Second, wantFrom: testFrom,
		},
		{
			name: "plain http to 127.0.0.1, a timeout and a messaging service",
			edit: func(m map[string]string) {
				m["base_url"], m["timeout"], m["from"] = "http://127.0.0.1:9", "3s", testService
			},
			wantEndpoint: "http://127.0.0.1:9/2010-04-01/Accounts/" + testAccountSID + "/Messages.json",
			wantTimeout:  3 * time.Second, wantService: testService,
		},
		{
			name:         "another provider with a path prefix",
			edit:         func(m map[string]string) { m["base_url"] = "https://acme.signalwire.example/api/laml" },
			wantEndpoint: "https://acme.signalwire.example/api/laml/2010-04-01/Accounts/" + testAccountSID + "/Messages.json",
			wantTimeout:  10 * time.Second, wantFrom: testFrom,
		},
		{
			name:         "an empty base_url means the default",
			edit:         func(m map[string]string) { m["base_url"] = "" },
			wantEndpoint: "https://api.twilio.com/2010-04-01/Accounts/" + testAccountSID + "/Messages.json",
			wantTimeout:  10 * time.Second, wantFrom: testFrom,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validConfig()
			tt.edit(m)
			c, err := parseConfig(m)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if c.endpoint != tt.wantEndpoint || c.timeout != tt.wantTimeout || c.from != tt.wantFrom || c.messagingService != tt.wantService {
				t.Fatalf("config = endpoint %q timeout %s from %q service %q", c.endpoint, c.timeout, c.from, c.messagingService)
			}
		})
	}
}
