package webhook

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Configuration keys, as named in errors; settings' tags are the same.
const (
	keyURL     = "url"
	keySecret  = "secret"
	keyTimeout = "timeout"
)

const (
	// minSecretLen is 32 characters: at least 128 bits of entropy even for
	// a hex or base32 secret, and as long as the HMAC-SHA256 key needs.
	minSecretLen = 32
	// defaultTimeout bounds one POST when the operator sets no timeout.
	// The caller's deadline, if shorter, still wins.
	defaultTimeout = 10 * time.Second
)

// config is a validated configuration.
type config struct {
	url     *url.URL
	secret  []byte
	timeout time.Duration
}

// settings are the operator's keys as given, decoded by the SDK.
type settings struct {
	URL     string        `config:"url"`
	Secret  string        `config:"secret"`
	Timeout time.Duration `config:"timeout"`
}

// parseConfig validates the operator's configuration. Every mistake is
// reported at once, so that one plugin restart is enough to fix them all.
// Unknown keys are refused too (by the SDK's decoding): a misspelt
// "timout" would otherwise be ignored in silence.
func parseConfig(raw map[string]string) (config, error) {
	in := settings{Timeout: defaultTimeout}
	// A decoding error leaves the other keys decoded: they are checked
	// below all the same, to report every mistake.
	errs := []error{sdk.ConfigureRequest{Config: raw}.Decode(&in)}
	var c config

	switch u, err := parseURL(in.URL); {
	case err != nil:
		errs = append(errs, err)
	default:
		c.url = u
	}

	// The secret's value never appears in an error: errors end up in
	// logs and in Temporal's history.
	switch {
	case in.Secret == "":
		errs = append(errs, fmt.Errorf("missing %q", keySecret))
	case len(in.Secret) < minSecretLen:
		errs = append(errs, fmt.Errorf("%q is %d characters, want at least %d", keySecret, len(in.Secret), minSecretLen))
	default:
		c.secret = []byte(in.Secret)
	}

	if in.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("%q is %v, want a positive duration", keyTimeout, in.Timeout))
	}
	c.timeout = in.Timeout
	if err := errors.Join(errs...); err != nil {
		return config{}, err
	}
	return c, nil
}

func parseURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("missing %q", keyURL)
	}
	u, err := url.Parse(s)
	if err != nil {
		// url's error repeats the whole URL, which may hold credentials.
		return nil, fmt.Errorf("%q is not a URL", keyURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q has scheme %q, want http or https", keyURL, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q has no host", keyURL)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%q has a fragment, which is never sent", keyURL)
	}
	return u, nil
}

// display is the URL as it may appear in logs and errors: no user
// information and no query, either of which may carry a credential.
func display(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// cleartext reports whether calls to u cross a network unencrypted: codes
// and links would be readable on the way.
func cleartext(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return false
	}
	ip := net.ParseIP(h)
	return ip == nil || !ip.IsLoopback()
}
