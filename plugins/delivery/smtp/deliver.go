package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netsmtp "net/smtp"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// defaultTimeout bounds a delivery whose context has no deadline, so a
// server that stops answering cannot hold a connection forever. The host
// normally sets a shorter deadline.
const defaultTimeout = time.Minute

// deliver sends msg to rcpt over a new connection. It returns nil only once
// the server has accepted the message (the reply to the final "."). Errors
// wrap sdk.ErrPermanent when the server refused for good (5xx) or when the
// server cannot be used as configured; everything else is temporary.
func deliver(ctx context.Context, s *settings, rcpt string, msg []byte) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return classify(ctx, "connect to "+s.addr, err)
	}
	defer raw.Close()
	// net/smtp has no context: the connection's deadline is the context's,
	// and cancellation moves it to the past so a blocked read or write
	// returns at once. Both apply to the TLS connection layered on top.
	deadline, _ := ctx.Deadline()
	if err := raw.SetDeadline(deadline); err != nil {
		return classify(ctx, "set deadline", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn := raw
	if s.mode == modeTLS {
		tc := tls.Client(raw, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return classify(ctx, "tls handshake with "+s.addr, err)
		}
		conn = tc
	}
	c, err := netsmtp.NewClient(conn, s.host)
	if err != nil {
		return classify(ctx, "read greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.helo); err != nil {
		return classify(ctx, "ehlo", err)
	}

	if s.mode == modeStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			// Without STARTTLS the code or link would travel in clear
			// text; an attacker on the path can strip the offer, so
			// this is refused rather than tolerated.
			return sdk.Permanent(fmt.Errorf("server %s does not offer STARTTLS; refusing to send in clear text", s.addr))
		}
		if err := c.StartTLS(s.tls); err != nil {
			return classify(ctx, "starttls", err)
		}
	}

	if s.username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok || !slices.Contains(strings.Fields(strings.ToUpper(mechs)), "PLAIN") {
			return sdk.Permanent(fmt.Errorf("server %s does not offer AUTH PLAIN", s.addr))
		}
		if err := c.Auth(netsmtp.PlainAuth("", s.username, s.password, s.host)); err != nil {
			return classify(ctx, "authenticate", err)
		}
	}

	if err := c.Mail(s.from.Address); err != nil {
		return classify(ctx, "mail from", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return classify(ctx, "rcpt to", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(ctx, "data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify(ctx, "write message", err)
	}
	// Close sends the final "." and reads the server's verdict. A failure
	// here may come after the server queued the message (the answer was
	// lost); the retry then carries the same Message-ID.
	if err := w.Close(); err != nil {
		return classify(ctx, "end message", err)
	}
	// The server has taken the message; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// classify wraps err with the step that failed and decides whether
// retrying can help.
func classify(ctx context.Context, step string, err error) error {
	// A reply from the server is the most specific answer there is, so it
	// is checked before the context: RFC 5321 reserves 5xx for failures
	// that will recur, 4xx for transient ones.
	var reply *textproto.Error
	if errors.As(err, &reply) {
		if reply.Code >= 500 {
			return sdk.Permanent(fmt.Errorf("%s: %w", step, err))
		}
		return fmt.Errorf("%s: %w", step, err)
	}
	ctxErr := ctx.Err()
	if ctxErr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's only deadline is the context's, whose own
		// timer may not have fired yet.
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil {
		// The network error is only the symptom; the context error is
		// what the host maps to "deadline exceeded" or "cancelled".
		return fmt.Errorf("%s: %w (%v)", step, ctxErr, err)
	}
	if isTLSMisconfiguration(err) {
		return sdk.Permanent(fmt.Errorf("%s: %w", step, err))
	}
	return fmt.Errorf("%s: %w", step, err)
}

// isTLSMisconfiguration reports TLS failures that repeat until an operator
// acts: a certificate that does not verify against the trusted roots (set
// ca_file for a private CA), or a server that does not speak TLS on the
// port (tls = tls against a STARTTLS port). Timeouts and resets during a
// handshake are not among them.
func isTLSMisconfiguration(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		record    tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record)
}
