package smtp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Name is the plugin's name, as reported by Info.
const Name = "smtp"

// version is reported by Info; bump it when configuration keys or the
// message format change.
const version = "2.0.0"

// Mailer delivers sign-in messages by SMTP. It is safe for concurrent use.
type Mailer struct {
	// logger must never receive the password, a code or a link.
	logger *slog.Logger
	// now is the clock for the Date header; tests replace it.
	now func() time.Time
	mu  sync.RWMutex
	// settings is replaced whole by Configure and never modified, so Send
	// only holds mu to read the pointer.
	settings *settings
	// pool holds the idle connections made with settings; Configure
	// replaces it along with them and closes the old one.
	pool *pool
}

var _ sdk.Delivery = (*Mailer)(nil)

// errNotConfigured is returned by Send before a successful Configure.
var errNotConfigured = errors.New("not configured")

// New returns an unconfigured Mailer; Configure must be called before Send.
func New() *Mailer {
	return &Mailer{logger: sdk.Logger(), now: time.Now}
}

// Info describes the SMTP plugin.
func (m *Mailer) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: Name, Version: version, Channels: []string{"email"}}, nil
}

// Configure validates config (see the package documentation for the keys)
// and applies it to later sends. It does not connect to the server: the
// host configures a plugin on every launch, and a mail server that is down
// for a minute must not keep the plugin from starting. Errors wrap
// sdk.ErrPermanent and name the offending key.
func (m *Mailer) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	s, err := parseConfig(req.Config)
	if err != nil {
		return err
	}
	p, err := newPool(s, m.logger)
	if err != nil {
		return err
	}
	m.mu.Lock()
	old := m.pool
	m.settings, m.pool = s, p
	m.mu.Unlock()
	if old != nil {
		// Sends still using the old pool close their connections when
		// they finish.
		old.close()
	}
	m.logger.Info("configured", "server", s.addr, "tls", string(s.mode), "auth", s.username != "",
		"from", s.from.Address)
	return nil
}

// Send delivers req's Subject, Text and HTML (rendered by flexauth) as an
// email. A retry of a request ID
// this process delivered never gets here: sdk.ServeDelivery answers it.
func (m *Mailer) Send(ctx context.Context, req sdk.SendRequest) (sdk.SendResponse, error) {
	m.mu.RLock()
	s, p := m.settings, m.pool
	m.mu.RUnlock()
	if s == nil {
		return sdk.SendResponse{}, sdk.Permanent(errNotConfigured)
	}

	msg, err := m.compose(s, req)
	if err != nil {
		m.logger.Warn("message refused", "attempt", req.Attempt, "error", err.Error())
		return sdk.SendResponse{}, err
	}

	mail, err := msg.build()
	if err != nil {
		return sdk.SendResponse{}, err
	}
	start := time.Now()
	if err := p.send(ctx, mail); err != nil {
		m.logger.Warn("delivery failed", "attempt", req.Attempt, "message_id", msg.messageID,
			"permanent", errors.Is(err, sdk.ErrPermanent), "error", err.Error())
		return sdk.SendResponse{}, fmt.Errorf("deliver by smtp: %w", err)
	}
	m.logger.Info("message delivered", "attempt", req.Attempt, "message_id", msg.messageID,
		"duration", time.Since(start).String())
	return sdk.SendResponse{MessageID: msg.messageID}, nil
}

// Close closes the idle connections to the server; call it once the
// plugin stops serving. Sends still under way close theirs when they end.
func (m *Mailer) Close() {
	m.mu.Lock()
	p := m.pool
	m.pool, m.settings = nil, nil
	m.mu.Unlock()
	if p != nil {
		p.close()
	}
}

// compose checks req and makes the email of it. Its errors are permanent:
// the same request would fail the same way again.
func (m *Mailer) compose(s *settings, req sdk.SendRequest) (message, error) {
	if req.ID == "" {
		return message{}, sdk.Permanent(errors.New("missing id"))
	}
	if req.Channel != "email" {
		return message{}, sdk.Permanent(fmt.Errorf("unsupported channel %q", req.Channel))
	}
	to, err := parseRecipient(req.To)
	if err != nil {
		return message{}, err
	}
	if strings.ContainsAny(req.Subject, "\r\n") {
		return message{}, sdk.Permanent(errors.New("subject contains a line break"))
	}
	// flexauth renders every message (package messages); a request
	// without a subject or text comes from a host older than this plugin.
	if strings.TrimSpace(req.Subject) == "" {
		return message{}, sdk.Permanent(errors.New("missing subject"))
	}
	if strings.TrimSpace(req.Text) == "" {
		return message{}, sdk.Permanent(errors.New("missing text"))
	}
	return message{
		from:      s.from,
		to:        to,
		subject:   req.Subject,
		text:      req.Text,
		html:      req.HTML,
		messageID: messageID(req.ID, s.fromDomain),
		date:      m.now(),
	}, nil
}
