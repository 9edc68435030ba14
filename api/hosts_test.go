package api

import (
	"strings"
	"testing"
)

func TestHostPolicy(t *testing.T) {
	tests := []struct {
		name              string
		publicURL, listen string
		allowed           []string
		served, notServed []string
	}{
		{
			name:      "public URL with its default port, listen address on loopback in every spelling",
			publicURL: "https://auth.example.com", listen: "127.0.0.1:8080",
			served: []string{"auth.example.com", "AUTH.example.com", "auth.example.com.", "auth.example.com:443",
				"127.0.0.1:8080", "localhost:8080", "[::1]:8080"},
			notServed: []string{"evil.example", "evil.example:8080", "auth.example.com:8443", "auth.example.com.evil.example",
				"127.0.0.1:9090", "localhost", "127.0.0.1", "", "auth.example.com:", "auth.example.com:x", "[::1]"},
		},
		{
			name:      "public URL with a port",
			publicURL: "http://127.0.0.1:8080",
			served:    []string{"127.0.0.1:8080", "127.0.0.1"},
			notServed: []string{"localhost:8080", "127.0.0.1:8081"},
		},
		{
			name:      "every interface serves the loopback names",
			listen:    "0.0.0.0:8080",
			served:    []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080", "[0:0::1]:8080"},
			notServed: []string{"0.0.0.0:8080", "10.0.0.5:8080", "rebind.evil.example:8080"},
		},
		{
			name:   "IPv6 every interface",
			listen: "[::]:8080",
			served: []string{"localhost:8080"},
		},
		{
			name:      "a named listen address",
			listen:    "10.0.0.5:80",
			served:    []string{"10.0.0.5", "10.0.0.5:80"},
			notServed: []string{"localhost:80", "10.0.0.5:8080"},
		},
		{
			name:      "allowed hosts: a name on any port, a name on one port, an address",
			publicURL: "https://auth.example.com",
			allowed:   []string{"flexauth.internal", "api.internal:8080", "10.1.2.3", "[fd00::1]:9000"},
			served:    []string{"flexauth.internal", "flexauth.internal:8080", "api.internal:8080", "10.1.2.3:8080", "[fd00::1]:9000"},
			notServed: []string{"api.internal", "api.internal:9090", "[fd00::1]:8080", "other.internal"},
		},
		{
			name:      "nothing configured serves nothing",
			notServed: []string{"localhost", "127.0.0.1:8080", "example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newHostPolicy(tt.publicURL, tt.listen, tt.allowed)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tt.served {
				if !p.allows(h) {
					t.Errorf("Host %q is refused", h)
				}
			}
			for _, h := range tt.notServed {
				if p.allows(h) {
					t.Errorf("Host %q is served", h)
				}
			}
		})
	}
}

func TestHostPolicyRefusesMalformedSettings(t *testing.T) {
	tests := []struct {
		name              string
		publicURL, listen string
		allowed           []string
	}{
		{"a URL in allowed hosts", "", "", []string{"https://auth.example.com"}},
		{"a wildcard", "", "", []string{"*.example.com"}},
		{"a path", "", "", []string{"example.com/x"}},
		{"an empty port", "", "", []string{"example.com:"}},
		{"a bad port", "", "", []string{"example.com:99999"}},
		{"a listen address without port", "", "127.0.0.1", nil},
		{"a public URL without host", "/relative", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newHostPolicy(tt.publicURL, tt.listen, tt.allowed); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	valid := Config{
		PublicURL: "https://auth.example.com", ListenAddr: "0.0.0.0:8080",
		TrustedProxies: []string{"10.0.0.0/8", "192.0.2.7", "fd00::/8"}, ClientIPHeader: "X-Real-IP",
		AllowedHosts: []string{"flexauth.internal"}, AppIPLimit: IPLimit{PerSecond: -1}, BrowserIPLimit: IPLimit{PerSecond: 2, Burst: 4},
	}
	if err := valid.Validate(); err != nil {
		t.Fatalf("a valid configuration: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"a trusted proxy that is no address", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8", "proxy.internal"} }, `trusted proxy "proxy.internal"`},
		{"a trusted proxy with a bad mask", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/33"} }, `trusted proxy "10.0.0.0/33"`},
		{"a client IP header that is no header", func(c *Config) { c.ClientIPHeader = "X Real IP" }, "client IP header"},
		{"an allowed host that is a URL", func(c *Config) { c.AllowedHosts = []string{"http://x"} }, `allowed host "http://x"`},
		{"a limit without burst", func(c *Config) { c.SignInIPLimit = IPLimit{PerSecond: 1} }, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.change(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error about %s", err, tt.want)
			}
		})
	}
}
