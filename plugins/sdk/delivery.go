package sdk

import "context"

// SendRequest is one message to deliver.
type SendRequest struct {
	// ID is the idempotency key (the login attempt id): the host may send the
	// same ID again after a failure, and a plugin should deliver it once.
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
type Delivery interface {
	// Info describes the plugin; it must work before Configure.
	Info(ctx context.Context) (Info, error)
	// Configure applies the operator's configuration for this plugin.
	Configure(ctx context.Context, config map[string]string) error
	// Send delivers one message.
	Send(ctx context.Context, req SendRequest) (SendResponse, error)
}
