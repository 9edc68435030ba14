package sdk

import "context"

// SendRequest is one message to deliver.
type SendRequest struct {
	// ID is the idempotency key (the login attempt id, or a link's id): the
	// host may send the same ID again after a failure or a lost answer.
	// ServeDelivery delivers each ID once per process (see Delivery); pass
	// it on to a provider that takes idempotency keys, so that a retry
	// after a plugin restart is not delivered twice either.
	ID string
	// Channel is one of the channels the plugin reports in Info ("email", "sms").
	Channel string
	// To is the recipient in the channel's format (email address, E.164 number).
	To      string
	Subject string
	Text    string
	HTML    string
	// Link is the magic link, if the login method sends one.
	Link string
	// Code is the one-time code, if the login method sends one.
	Code string
	// Attempt is the login attempt id, for correlation in the plugin's logs.
	Attempt  string
	Metadata map[string]string
}

// ConfigureRequest is the operator's configuration for a plugin, given to
// Configure after every launch of the plugin process. It is a struct so
// that the protocol can give plugins more at launch without changing the
// interfaces.
type ConfigureRequest struct {
	// Config holds the settings from the plugin's entry in flexauth's
	// plugin configuration, as strings.
	Config map[string]string
}

// SendResponse is the result of a successful Send.
type SendResponse struct {
	// MessageID is the identifier the provider gave the message, if any.
	MessageID string
}

// Delivery is what a delivery plugin implements.
//
// The host calls Configure after every launch of the plugin process, before
// any Send, and may call Send concurrently. Errors wrapped with Permanent are
// not retried; every other error is.
//
// Exactly once is the SDK's job, not the plugin's: served by ServeDelivery,
// Send is called once per SendRequest.ID. The process remembers the
// response of every successful send (the last 10,000 IDs, oldest forgotten
// first) and answers a repeat of the ID with it, without calling Send; a
// send of an ID already in flight waits for it and gets its response, or,
// if it fails, calls Send itself. A failure is never remembered, so the
// host's retry sends again. The memory is per process: after a plugin
// restart, a retry of a message delivered just before is sent again, which
// is what a deterministic message identifier (an SMTP Message-ID built
// from the ID, a provider's idempotency key) lets the receiver recognise.
// A request without an ID is not remembered.
type Delivery interface {
	// Info describes the plugin; it must work before Configure.
	Info(ctx context.Context) (Info, error)
	// Configure applies the operator's configuration for this plugin.
	Configure(ctx context.Context, req ConfigureRequest) error
	// Send delivers one message.
	Send(ctx context.Context, req SendRequest) (SendResponse, error)
}
