package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Name is the plugin's name, as reported by Info.
const Name = "sms"

// version is reported by Info and sent in the User-Agent.
const version = "2.0.0"

// channel is the only channel the plugin delivers on.
const channel = "sms"

// errNotConfigured is returned (permanent) by Send before a successful
// Configure.
var errNotConfigured = errors.New("not configured")

// Gateway sends text messages through a Twilio-compatible REST API. It is
// safe for concurrent use.
type Gateway struct {
	// logger must never see the auth token, a code, a link or a whole
	// phone number.
	logger *slog.Logger
	client *http.Client
	// cfg is swapped whole by Configure, so a Send always sees one
	// consistent configuration; nil until the first successful Configure.
	cfg atomic.Pointer[config]
}

var _ sdk.Delivery = (*Gateway)(nil)

// New returns an unconfigured Gateway; Configure must be called before Send.
func New() *Gateway {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &Gateway{
		logger: sdk.Logger(),
		client: &http.Client{
			Transport: transport,
			// A redirect from the Messages endpoint means base_url is
			// wrong; following it would turn the POST into a GET and
			// hide the mistake. refusal reports it instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Info describes the SMS plugin.
func (g *Gateway) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: Name, Version: version, Channels: []string{channel}}, nil
}

// Configure validates and applies the settings described in the package
// documentation. A rejected configuration leaves the previous one in place.
func (g *Gateway) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	c, err := parseConfig(req.Config)
	if err != nil {
		return fmt.Errorf("configure sms: %w", err)
	}
	g.cfg.Store(c)
	sender := c.messagingService
	if sender == "" {
		sender = maskNumber(c.from)
	}
	g.logger.Info("sms gateway configured", "endpoint", c.endpoint, "sender", sender,
		"timeout", c.timeout.String())
	return nil
}

// Send delivers req as one text message. A retry of a request ID the
// provider already accepted in this process never gets here:
// sdk.ServeDelivery answers it with the first SID.
func (g *Gateway) Send(ctx context.Context, req sdk.SendRequest) (sdk.SendResponse, error) {
	if err := validate(req); err != nil {
		return sdk.SendResponse{}, fmt.Errorf("send sms: %w", err)
	}
	to := maskNumber(req.To)
	c := g.cfg.Load()
	if c == nil {
		return sdk.SendResponse{}, fmt.Errorf("send sms: %w", sdk.Permanent(errNotConfigured))
	}
	body, err := renderBody(req)
	if err != nil {
		return sdk.SendResponse{}, fmt.Errorf("send sms to %s: %w", to, err)
	}

	sid, err := g.post(ctx, c, req, body)
	if err != nil {
		g.logger.Warn("sms not sent", "attempt", req.Attempt, "to", to,
			"permanent", errors.Is(err, sdk.ErrPermanent), "error", err.Error())
		return sdk.SendResponse{}, fmt.Errorf("send sms to %s: %w", to, err)
	}
	parts, gsm := segments(body)
	g.logger.Info("sms sent", "attempt", req.Attempt, "to", to, "sid", sid, "segments", parts, "gsm7", gsm)
	return sdk.SendResponse{MessageID: sid}, nil
}

// validate refuses requests no provider could deliver. The recipient is
// deliberately not echoed: a malformed number may be anything.
func validate(req sdk.SendRequest) error {
	switch {
	case req.Channel != channel:
		return sdk.Permanent(fmt.Errorf("unsupported channel %q (only %q)", req.Channel, channel))
	case req.ID == "":
		return sdk.Permanent(errors.New("missing id"))
	case req.To == "":
		return sdk.Permanent(errors.New("missing recipient"))
	case !validE164(req.To):
		return sdk.Permanent(errors.New("recipient is not an E.164 number (+ and 8 to 15 digits)"))
	}
	return nil
}
