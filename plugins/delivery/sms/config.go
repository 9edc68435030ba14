package sms

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Configuration keys, as the operator writes them and as errors name them;
// settings' tags are the same.
const (
	keyAccountSID = "account_sid"
	keyAuthToken  = "auth_token"
	keyFrom       = "from"
	keyBaseURL    = "base_url"
	keyTimeout    = "timeout"
	// keyTemplate was the SMS text's template before version 2; flexauth
	// renders every message now. It is refused with an error that says
	// where it went.
	keyTemplate = "template"
)

// settings are the operator's keys as given, decoded by the SDK, which
// refuses any other key so that a misspelt one ("auth-token", "templat")
// fails at start instead of silently falling back to a default.
type settings struct {
	AccountSID string        `config:"account_sid"`
	AuthToken  string        `config:"auth_token"`
	From       string        `config:"from"`
	BaseURL    string        `config:"base_url"`
	Timeout    time.Duration `config:"timeout"`
}

const (
	defaultBaseURL = "https://api.twilio.com"
	defaultTimeout = 10 * time.Second
)

// config is one validated configuration. It is never modified after
// parseConfig returns, so Send can read it without a lock.
type config struct {
	accountSID string
	authToken  string
	// from is an E.164 number, or empty when messagingService is set.
	from string
	// messagingService is a Messaging Service SID ("MG..."): Twilio then
	// picks the sender from the service's pool.
	messagingService string
	// endpoint is the full Messages.json URL for the account.
	endpoint string
	timeout  time.Duration
}

// parseConfig validates the operator's settings. Every error is permanent
// and names the key at fault, because no retry can fix a configuration.
func parseConfig(m map[string]string) (*config, error) {
	if _, ok := m[keyTemplate]; ok {
		return nil, sdk.Permanent(fmt.Errorf("%q is no longer a plugin setting: flexauth renders every message from the templates set "+
			"with its admin API (the sms part of PUT /v1/admin/messages, or /v1/admin/systems/{name}/messages for one system); remove this key", keyTemplate))
	}
	in := settings{BaseURL: defaultBaseURL, Timeout: defaultTimeout}
	if err := (sdk.ConfigureRequest{Config: m}).Decode(&in); err != nil {
		return nil, err
	}
	c := &config{timeout: in.Timeout}

	c.accountSID = in.AccountSID
	if c.accountSID == "" {
		return nil, sdk.Permanent(fmt.Errorf("missing %q", keyAccountSID))
	}
	// It becomes a path segment; a stray space or slash from a copy-paste
	// would otherwise surface later as a puzzling 404.
	if strings.IndexFunc(c.accountSID, notSIDRune) >= 0 {
		return nil, sdk.Permanent(fmt.Errorf("%q must be letters and digits only", keyAccountSID))
	}

	c.authToken = in.AuthToken
	if c.authToken == "" {
		return nil, sdk.Permanent(fmt.Errorf("missing %q", keyAuthToken))
	}

	switch from := in.From; {
	case from == "":
		return nil, sdk.Permanent(fmt.Errorf("missing %q", keyFrom))
	case strings.HasPrefix(from, "MG"):
		if len(from) == 2 || strings.IndexFunc(from, notSIDRune) >= 0 {
			return nil, sdk.Permanent(fmt.Errorf("%q: %q is not a messaging service SID", keyFrom, from))
		}
		c.messagingService = from
	case validE164(from):
		c.from = from
	default:
		return nil, sdk.Permanent(fmt.Errorf("%q: %q is neither an E.164 number (+ and 8 to 15 digits) nor a messaging service SID (MG...)", keyFrom, from))
	}

	endpoint, err := messagesEndpoint(in.BaseURL, c.accountSID)
	if err != nil {
		return nil, sdk.Permanent(fmt.Errorf("%q: %w", keyBaseURL, err))
	}
	c.endpoint = endpoint

	if c.timeout <= 0 {
		return nil, sdk.Permanent(fmt.Errorf("%q must be positive, got %s", keyTimeout, c.timeout))
	}

	return c, nil
}

// messagesEndpoint builds {base}/2010-04-01/Accounts/{sid}/Messages.json.
// The base may carry a path prefix, as some Twilio-compatible providers
// mount the API below one.
func messagesEndpoint(base, accountSID string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q has no host", base)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q must be a plain URL without credentials, query or fragment", base)
	}
	switch u.Scheme {
	case "https":
	case "http":
		// The auth token travels in every request; plain HTTP is only
		// for a gateway on this machine (tests, a local relay).
		if !loopback(u.Hostname()) {
			return "", fmt.Errorf("%q must use https (http is allowed for localhost only)", base)
		}
	default:
		return "", fmt.Errorf("%q must use https", base)
	}
	return u.JoinPath("2010-04-01", "Accounts", accountSID, "Messages.json").String(), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// notSIDRune reports a rune that cannot be part of a Twilio SID.
func notSIDRune(r rune) bool {
	return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r))
}
