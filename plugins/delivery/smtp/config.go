package smtp

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Configuration keys. They are the plugin's contract with operators: renaming
// one breaks every deployment that sets it. keys' tags are the same.
const (
	keyHost               = "host"
	keyPort               = "port"
	keyTLS                = "tls"
	keyUsername           = "username"
	keyPassword           = "password"
	keyFrom               = "from"
	keyCAFile             = "ca_file"
	keyInsecureSkipVerify = "insecure_skip_verify"
	keyHelo               = "helo"
)

// movedPrefixes are the keys of the message templates and brand this
// plugin rendered before version 2; flexauth renders every message now,
// from the templates set with its admin API.
func movedPrefixes() []string { return []string{"template.", "brand."} }

// tlsMode is how the connection to the server is protected.
type tlsMode string

const (
	// modeStartTLS upgrades a plain connection with STARTTLS and refuses to
	// go on without it: a server that stops offering STARTTLS (or an
	// attacker stripping it) must not get codes and links in clear text.
	modeStartTLS tlsMode = "starttls"
	// modeTLS speaks TLS from the first byte (submissions on port 465).
	modeTLS tlsMode = "tls"
	// modeNone is clear text, for a mail catcher on the developer's machine.
	modeNone tlsMode = "none"
)

// defaultPort is the IANA port for mode (submission, submissions, smtp);
// ok is false for an unknown mode.
func defaultPort(mode tlsMode) (port int, ok bool) {
	switch mode {
	case modeStartTLS:
		return 587, true
	case modeTLS:
		return 465, true
	case modeNone:
		return 25, true
	}
	return 0, false
}

// settings is one validated configuration. It is never modified after
// parseConfig returns, so Send can use it without holding a lock.
type settings struct {
	host string
	// addr is host:port, ready to dial.
	addr string
	mode tlsMode
	helo string
	// username is empty when the server is used without authentication.
	username string
	password string
	from     mail.Address
	// fromDomain names the Message-ID's right-hand side.
	fromDomain string
	// tls is nil in modeNone.
	tls *tls.Config
}

// keys are the operator's keys as given, decoded by the SDK, which refuses
// any key not here: a misspelt
// "usernmae" would otherwise send mail without authentication and fail far
// from the typo.
type keys struct {
	Host     string `config:"host"`
	Port     *int   `config:"port"`
	TLS      string `config:"tls"`
	Username string `config:"username"`
	Password string `config:"password"`
	From     string `config:"from"`
	CAFile   string `config:"ca_file"`
	// InsecureSkipVerify is only ever accepted as false, or with tls =
	// none; see tlsConfig.
	InsecureSkipVerify bool   `config:"insecure_skip_verify"`
	Helo               string `config:"helo"`
}

// configError is the permanent error for a bad or missing key. Naming the
// key is the point: the operator reads it in the host's log.
func configError(key, format string, args ...any) error {
	return sdk.Permanent(fmt.Errorf("config %q: "+format, append([]any{key}, args...)...))
}

// parseConfig validates config and returns the settings Send uses. Every
// error wraps sdk.ErrPermanent: a configuration does not improve by
// retrying.
func parseConfig(config map[string]string) (*settings, error) {
	// The SDK would refuse these as unknown keys; say where they went.
	for _, k := range slices.Sorted(maps.Keys(config)) {
		for _, prefix := range movedPrefixes() {
			if strings.HasPrefix(k, prefix) {
				return nil, configError(k, "message templates and the brand are no longer plugin settings: "+
					"flexauth renders every message from the templates and brand set with its admin API "+
					"(PUT /v1/admin/messages, or /v1/admin/systems/{name}/messages for one system); remove this key")
			}
		}
	}
	in := keys{TLS: string(modeStartTLS), Helo: "localhost"}
	if err := (sdk.ConfigureRequest{Config: config}).Decode(&in); err != nil {
		return nil, err
	}
	s := &settings{}

	s.host = strings.TrimSpace(in.Host)
	if err := validateHost(s.host); err != nil {
		return nil, err
	}

	s.mode = tlsMode(strings.ToLower(in.TLS))
	port, ok := defaultPort(s.mode)
	if !ok {
		return nil, configError(keyTLS, "%q is not one of starttls, tls, none", in.TLS)
	}
	if s.mode == modeNone && !isLoopback(s.host) {
		return nil, configError(keyTLS, "none is only allowed for localhost, not %q: codes and links would cross the network in clear text", s.host)
	}

	if in.Port != nil {
		if p := *in.Port; p < 1 || p > 65535 {
			return nil, configError(keyPort, "%d is not a port number", p)
		}
		port = *in.Port
	}
	s.addr = net.JoinHostPort(s.host, strconv.Itoa(port))

	if strings.ContainsAny(in.Helo, " \t\r\n") {
		return nil, configError(keyHelo, "%q is not a host name", in.Helo)
	}
	s.helo = in.Helo

	s.username, s.password = in.Username, in.Password
	switch {
	case s.username != "" && s.password == "":
		return nil, configError(keyPassword, "missing: required with username")
	case s.username == "" && s.password != "":
		return nil, configError(keyUsername, "missing: required with password")
	case s.username != "" && s.mode == modeNone:
		return nil, configError(keyUsername, "AUTH PLAIN sends the password in clear text; it needs tls = starttls or tls")
	case strings.ContainsAny(s.username+s.password, "\x00\r\n"):
		// AUTH PLAIN separates its fields with NUL; a NUL or line break
		// would change the meaning of the exchange.
		return nil, configError(keyUsername, "username and password must not contain NUL or line breaks")
	}

	from, domain, err := parseFrom(in.From)
	if err != nil {
		return nil, err
	}
	s.from, s.fromDomain = from, domain

	if s.tls, err = tlsConfig(s.host, s.mode, in.CAFile, in.InsecureSkipVerify); err != nil {
		return nil, err
	}
	return s, nil
}

func validateHost(host string) error {
	if host == "" {
		return configError(keyHost, "missing")
	}
	if strings.ContainsAny(host, " \t\r\n/") {
		return configError(keyHost, "%q is not a host name", host)
	}
	if strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return configError(keyHost, "%q must not include a port; set port instead", host)
	}
	return nil
}

// isLoopback reports whether host is this machine, the only place clear-text
// SMTP is allowed to go.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseFrom parses the sender, with or without a display name, and returns
// its domain for Message-IDs.
func parseFrom(v string) (mail.Address, string, error) {
	if v == "" {
		return mail.Address{}, "", configError(keyFrom, "missing")
	}
	if strings.ContainsAny(v, "\r\n") {
		return mail.Address{}, "", configError(keyFrom, "must not contain line breaks")
	}
	addr, err := mail.ParseAddress(v)
	if err != nil {
		return mail.Address{}, "", configError(keyFrom, "%q is not an RFC 5322 address: %w", v, err)
	}
	// Without SMTPUTF8 the envelope address must be ASCII; the display
	// name may be anything (it is encoded).
	if !isASCII(addr.Address) {
		return mail.Address{}, "", configError(keyFrom, "address %q must be ASCII", addr.Address)
	}
	at := strings.LastIndexByte(addr.Address, '@')
	if at < 0 {
		return mail.Address{}, "", configError(keyFrom, "address %q has no domain", addr.Address)
	}
	return *addr, strings.ToLower(addr.Address[at+1:]), nil
}

// tlsConfig returns the client TLS configuration for mode, or nil in
// modeNone.
func tlsConfig(host string, mode tlsMode, caFile string, skipVerify bool) (*tls.Config, error) {
	// There is deliberately no way to turn verification off: a private CA
	// goes in ca_file. The key is accepted with tls = none only, where
	// there is nothing to verify.
	if skipVerify && mode != modeNone {
		return nil, configError(keyInsecureSkipVerify, "refused with tls = %s; trust a private CA with ca_file instead", mode)
	}
	if mode == modeNone {
		if caFile != "" {
			return nil, configError(keyCAFile, "set with tls = none, where no certificate is checked")
		}
		return nil, nil
	}
	c := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, configError(keyCAFile, "read: %w", err)
		}
		// The file replaces the system roots rather than adding to them:
		// whoever names a private CA knows which CA their server uses,
		// and trusting only it is the narrower choice.
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configError(keyCAFile, "%s holds no PEM certificate", caFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
