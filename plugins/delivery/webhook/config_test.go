package webhook

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

func TestConfigure(t *testing.T) {
	const url = "https://hooks.example.com/flexauth"
	tests := []struct {
		name   string
		config map[string]string
		want   string // in the error; "" means accepted
	}{
		{name: "url and secret are enough", config: map[string]string{"url": url, "secret": testSecret}},
		{name: "plain http is accepted", config: map[string]string{"url": "http://127.0.0.1:8080/", "secret": testSecret}},
		{name: "timeout is a Go duration", config: map[string]string{"url": url, "secret": testSecret, "timeout": "1m30s"}},
		{name: "empty configuration", config: map[string]string{}, want: `missing "url"`},
		{name: "missing secret", config: map[string]string{"url": url}, want: `missing "secret"`},
		{name: "short secret", config: map[string]string{"url": url, "secret": "short"}, want: "want at least 32"},
		{name: "other scheme", config: map[string]string{"url": "ftp://hooks.example.com/", "secret": testSecret}, want: "want http or https"},
		{name: "relative url", config: map[string]string{"url": "/hooks", "secret": testSecret}, want: "want http or https"},
		{name: "url without host", config: map[string]string{"url": "https:///hooks", "secret": testSecret}, want: "no host"},
		{name: "url with fragment", config: map[string]string{"url": url + "#x", "secret": testSecret}, want: "fragment"},
		{name: "unparsable url", config: map[string]string{"url": "https://h/%zz", "secret": testSecret}, want: "not a URL"},
		{name: "timeout without unit", config: map[string]string{"url": url, "secret": testSecret, "timeout": "10"}, want: `"timeout"`},
		{name: "negative timeout", config: map[string]string{"url": url, "secret": testSecret, "timeout": "-1s"}, want: "positive"},
		{name: "misspelt key", config: map[string]string{"url": url, "secret": testSecret, "timout": "1s"}, want: `unknown key "timout"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, _ := newTestWebhook(t)
			err := w.Configure(t.Context(), sdk.ConfigureRequest{Config: tt.config})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				return
			}
			if !errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("Configure = %v, want a permanent error", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestConfigureReportsEveryMistakeAtOnce(t *testing.T) {
	w, _ := newTestWebhook(t)
	err := w.Configure(t.Context(), sdk.ConfigureRequest{Config: map[string]string{"url": "ftp://x", "secret": "short", "timeout": "soon"}})
	for _, want := range []string{"scheme", "secret", "timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestTimeoutDefaultsToTenSeconds(t *testing.T) {
	c, err := parseConfig(map[string]string{"url": "https://h/", "secret": testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != 10*time.Second {
		t.Fatalf("timeout = %v, want 10s", c.timeout)
	}
}

func TestCleartext(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://hooks.example.com/": false,
		"http://hooks.example.com/":  true,
		"http://10.0.0.7/":           true,
		"http://localhost:8080/":     false,
		"http://127.0.0.1:8080/":     false,
		"http://[::1]:8080/":         false,
	} {
		u, err := parseURL(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := cleartext(u); got != want {
			t.Errorf("cleartext(%s) = %v, want %v", raw, got, want)
		}
	}
}
