package webhook

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Configuration keys.
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

// parseConfig validates the operator's configuration. Every mistake is
// reported at once, so that one plugin restart is enough to fix them all.
// Unknown keys are refused too: a misspelt "timout" would otherwise be
// ignored in silence.
func parseConfig(raw map[string]string) (config, error) {
	var errs []error
	var c config

	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if k != keyURL && k != keySecret && k != keyTimeout {
			errs = append(errs, fmt.Errorf("unknown key %q (want %q, %q, %q)", k, keyURL, keySecret, keyTimeout))
		}
	}

	switch u, err := parseURL(raw[keyURL]); {
	case err != nil:
		errs = append(errs, err)
	default:
		c.url = u
	}

	// The secret's value never appears in an error: errors end up in
	// logs and in Temporal's history.
	switch secret := raw[keySecret]; {
	case secret == "":
		errs = append(errs, fmt.Errorf("missing %q", keySecret))
	case len(secret) < minSecretLen:
		errs = append(errs, fmt.Errorf("%q is %d characters, want at least %d", keySecret, len(secret), minSecretLen))
	default:
		c.secret = []byte(secret)
	}

	c.timeout = defaultTimeout
	if s, ok := raw[keyTimeout]; ok {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%q: %w", keyTimeout, err))
		case d <= 0:
			errs = append(errs, fmt.Errorf("%q is %v, want a positive duration", keyTimeout, d))
		default:
			c.timeout = d
		}
	}
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
