package smtp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/plugins/sdk"
)

func TestConfigureRefusesBadConfigurationNamingTheKey(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config map[string]string
		key    string
	}{
		{"missing host", map[string]string{"from": "id@example.com"}, "host"},
		{"host with a port", map[string]string{"host": "smtp.example.com:587", "from": "id@example.com"}, "host"},
		{"unknown tls mode", map[string]string{"host": "smtp.example.com", "tls": "ssl", "from": "id@example.com"}, "tls"},
		{"clear text to another machine", map[string]string{"host": "smtp.example.com", "tls": "none", "from": "id@example.com"}, "tls"},
		{"port is not a number", map[string]string{"host": "smtp.example.com", "port": "smtp", "from": "id@example.com"}, "port"},
		{"port out of range", map[string]string{"host": "smtp.example.com", "port": "70000", "from": "id@example.com"}, "port"},
		{"username without password", map[string]string{"host": "smtp.example.com", "username": "u", "from": "id@example.com"}, "password"},
		{"password without username", map[string]string{"host": "smtp.example.com", "password": "p", "from": "id@example.com"}, "username"},
		{"auth without tls", map[string]string{"host": "localhost", "tls": "none", "username": "u", "password": "p", "from": "id@example.com"}, "username"},
		{"missing from", map[string]string{"host": "smtp.example.com"}, "from"},
		{"from is not an address", map[string]string{"host": "smtp.example.com", "from": "flexauth"}, "from"},
		{"from is not ASCII", map[string]string{"host": "smtp.example.com", "from": "jörg@example.com"}, "from"},
		{"ca_file does not exist", map[string]string{"host": "smtp.example.com", "from": "id@example.com", "ca_file": "/nonexistent/ca.pem"}, "ca_file"},
		{"ca_file holds no certificate", map[string]string{"host": "smtp.example.com", "from": "id@example.com", "ca_file": notPEM}, "ca_file"},
		{"skipping verification with starttls", map[string]string{"host": "smtp.example.com", "from": "id@example.com", "insecure_skip_verify": "true"}, "insecure_skip_verify"},
		{"skipping verification with tls", map[string]string{"host": "smtp.example.com", "tls": "tls", "from": "id@example.com", "insecure_skip_verify": "1"}, "insecure_skip_verify"},
		{"misspelt key", map[string]string{"host": "smtp.example.com", "from": "id@example.com", "usernmae": "u"}, "usernmae"},
		{"a template key from before version 2", map[string]string{"host": "smtp.example.com", "from": "id@example.com", "template.Billing.text": "{{.Link}}"}, "template.Billing.text"},
		{"a brand key from before version 2", map[string]string{"host": "smtp.example.com", "from": "id@example.com", "brand.color": "#ff0000"}, "brand.color"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			m.logger = testLogger(t)
			err := m.Configure(t.Context(), sdk.ConfigureRequest{Config: tt.config})
			if !errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("error = %v, want permanent", err)
			}
			if !strings.Contains(err.Error(), `"`+tt.key+`"`) {
				t.Errorf("error %q does not name %q", err, tt.key)
			}
			if strings.Contains(tt.key, ".") && !strings.Contains(err.Error(), "/v1/admin/messages") {
				t.Errorf("error %q does not point to the admin API", err)
			}
		})
	}
}

func TestConfigureDefaults(t *testing.T) {
	tests := []struct {
		name     string
		config   map[string]string
		wantAddr string
		wantMode tlsMode
	}{
		{"starttls on the submission port", map[string]string{"host": "smtp.example.com", "from": "id@example.com"}, "smtp.example.com:587", modeStartTLS},
		{"implicit tls on the submissions port", map[string]string{"host": "smtp.example.com", "tls": "tls", "from": "id@example.com"}, "smtp.example.com:465", modeTLS},
		{"clear text to localhost", map[string]string{"host": "localhost", "tls": "none", "from": "id@example.com"}, "localhost:25", modeNone},
		{"clear text to the IPv6 loopback", map[string]string{"host": "::1", "tls": "none", "port": "1025", "from": "id@example.com", "insecure_skip_verify": "true"}, "[::1]:1025", modeNone},
		{"explicit port", map[string]string{"host": "smtp.example.com", "port": "2525", "from": "Acme <id@example.com>", "insecure_skip_verify": "false"}, "smtp.example.com:2525", modeStartTLS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseConfig(tt.config)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if s.addr != tt.wantAddr || s.mode != tt.wantMode {
				t.Errorf("addr, mode = %s, %s; want %s, %s", s.addr, s.mode, tt.wantAddr, tt.wantMode)
			}
			if (s.tls == nil) != (tt.wantMode == modeNone) {
				t.Errorf("tls config = %v for mode %s", s.tls, s.mode)
			}
			if s.fromDomain != "example.com" {
				t.Errorf("from domain = %q", s.fromDomain)
			}
		})
	}
}

// A password must not reach the error an operator reads in the host's log.
func TestConfigErrorsDoNotEchoThePassword(t *testing.T) {
	const password = "hunter2-very-secret"
	err := New().Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"host": "localhost", "tls": "none", "username": "u", "password": password, "from": "id@example.com"}})
	if err == nil {
		t.Fatal("clear-text auth was accepted")
	}
	if strings.Contains(err.Error(), password) {
		t.Fatalf("error %q contains the password", err)
	}
}
