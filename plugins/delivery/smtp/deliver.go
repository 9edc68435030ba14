package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// defaultTimeout bounds a delivery whose context has no deadline, so a
// server that stops answering cannot hold a connection forever. The host
// normally sets a shorter deadline.
const defaultTimeout = time.Minute

// session is one SMTP connection, greeted, secured and authenticated as the
// settings demand, ready for MAIL FROM. Only one send uses it at a time.
type session struct {
	client *gosmtp.Client
	conn   *boundConn
	// sent counts the messages the server accepted on this connection.
	sent int
}

// dial opens a session: TCP, TLS (implicit, or STARTTLS which is then
// required), EHLO and AUTH PLAIN. The security checks are done here rather
// than by go-mail's dial so that each refusal is a precise, permanent error
// naming what the server lacks.
func dial(ctx context.Context, s *settings) (*session, error) {
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, classify(ctx, "connect to "+s.addr, err)
	}
	conn := &boundConn{Conn: raw}
	unbind := conn.bind(ctx)
	defer unbind()
	sess, err := handshake(ctx, s, conn)
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	return sess, nil
}

func handshake(ctx context.Context, s *settings, conn *boundConn) (*session, error) {
	var nc net.Conn = conn
	if s.mode == modeTLS {
		// The TLS connection is layered on conn, so the send's deadline
		// and cancellation reach it; go-mail's client sees a *tls.Conn
		// and knows the session is encrypted.
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, classify(ctx, "tls handshake with "+s.addr, err)
		}
		nc = tc
	}
	c, err := gosmtp.NewClient(nc, s.host)
	if err != nil {
		return nil, classify(ctx, "read greeting", conn.withIOError(err))
	}
	// The addresses are ASCII (checked before), so SMTPUTF8 is never
	// needed; not asking for it keeps servers that mishandle it out of
	// the way.
	c.SkipSMTPUTF8(true)
	if err := c.Hello(s.helo); err != nil {
		return nil, classify(ctx, "ehlo", conn.withIOError(err))
	}

	if s.mode == modeStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			// Without STARTTLS the code or link would travel in clear
			// text; an attacker on the path can strip the offer, so
			// this is refused rather than tolerated.
			return nil, sdk.Permanent(fmt.Errorf("server %s does not offer STARTTLS; refusing to send in clear text", s.addr))
		}
		if err := c.StartTLS(s.tls); err != nil {
			return nil, classify(ctx, "starttls", conn.withIOError(err))
		}
	}

	if s.username != "" {
		if _, encrypted := c.TLSConnectionState(); !encrypted {
			// Configure refuses username with tls = none already; this
			// keeps the password off a clear-text connection should
			// that check ever be lost.
			return nil, sdk.Permanent(fmt.Errorf("refusing AUTH PLAIN to %s over a connection without TLS", s.addr))
		}
		ok, mechs := c.Extension("AUTH")
		if !ok || !slices.Contains(strings.Fields(strings.ToUpper(mechs)), "PLAIN") {
			return nil, sdk.Permanent(fmt.Errorf("server %s does not offer AUTH PLAIN", s.addr))
		}
		if err := c.Auth(gosmtp.PlainAuth("", s.username, s.password, s.host, false)); err != nil {
			return nil, classify(ctx, "authenticate", conn.withIOError(err))
		}
	}
	return &session{client: c, conn: conn}, nil
}

// sendOutcome is what a send on a session came to.
type sendOutcome struct {
	// err is nil once the server accepted the message (the reply to the
	// final ".").
	err error
	// beforeData is true when the failure came before the message's
	// content was sent: the server cannot have accepted it, so sending
	// it again on another connection cannot deliver it twice.
	beforeData bool
	// closing is true when the failure says the connection is gone: an
	// I/O error, or the server's 421 ("closing transmission channel").
	// Before the data, such a failure on a reused session says nothing
	// about the message, which may go out on a new connection.
	closing bool
	// keep is true when the session can serve another message.
	keep bool
}

// send delivers msg on sess with go-mail's client. reused marks a session
// that has waited in the pool: it is first checked with RSET, which also
// clears any state the last transaction left.
func send(ctx context.Context, client *gomail.Client, sess *session, msg *gomail.Msg, reused bool) sendOutcome {
	unbind := sess.conn.bind(ctx)
	defer unbind()
	if reused {
		if err := sess.client.Reset(); err != nil {
			// Whatever the answer, it concerns the connection, not the
			// message (RSET is mandatory; a server refusing it is not
			// one to keep talking to): a new connection is in order.
			return sendOutcome{err: classify(ctx, "rset", sess.conn.withIOError(err)), beforeData: true, closing: true}
		}
	}
	err := client.SendWithSMTPClient(sess.client, msg)
	if err == nil {
		sess.sent++
		return sendOutcome{keep: true}
	}
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return sendOutcome{err: classify(ctx, "send", sess.conn.withIOError(err)), closing: true}
	}
	out := sendOutcome{}
	switch se.Reason {
	case gomail.ErrConnCheck, gomail.ErrGetSender, gomail.ErrGetRcpts,
		gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData:
		out.beforeData = true
	}
	// go-mail's SendError keeps the server's reply code but not the
	// reply itself, so the code decides here what *textproto.Error
	// decides in classify.
	code := se.ErrorCode()
	switch {
	case code >= 500:
		out.err = sdk.Permanent(err)
	case code >= 400:
		out.err = err
	default:
		out.err = classify(ctx, "send", sess.conn.withIOError(err))
	}
	out.closing = code < 400 || code == 421
	// A refusal before the data leaves the session usable: go-mail sent
	// RSET, and the next send checks with RSET again.
	out.keep = out.beforeData && !out.closing && ctx.Err() == nil
	return out
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

// boundConn is the TCP connection under a session. The SMTP client has no
// context, so while a send uses the connection (bind), every deadline the
// client or TLS sets is capped at the send's deadline, and cancellation
// moves it to the past so that a blocked read or write returns at once.
// It also remembers the first I/O error of the send: go-mail reports some
// failures by step only, and the cause (a timeout, a reset) decides how
// the failure is classified.
type boundConn struct {
	net.Conn

	mu        sync.Mutex
	limit     time.Time
	cancelled bool
	ioErr     error
	// binding counts binds, so that a cancellation that fires as its
	// send ends cannot reach the next send's binding.
	binding uint64
}

// bind applies ctx to the connection until the returned function is
// called.
func (c *boundConn) bind(ctx context.Context) (unbind func()) {
	limit, ok := ctx.Deadline()
	if !ok {
		limit = time.Now().Add(defaultTimeout)
	}
	c.mu.Lock()
	c.binding++
	binding := c.binding
	c.limit, c.cancelled, c.ioErr = limit, false, nil
	_ = c.Conn.SetDeadline(limit)
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.binding != binding {
			return
		}
		c.cancelled = true
		_ = c.Conn.SetDeadline(time.Unix(1, 0))
	})
	return func() {
		stop()
		c.mu.Lock()
		c.binding++
		c.limit, c.cancelled = time.Time{}, false
		c.mu.Unlock()
	}
}

// capped returns t limited to the bound send's deadline.
func (c *boundConn) capped(t time.Time) time.Time {
	switch {
	case c.cancelled:
		return time.Unix(1, 0)
	case !c.limit.IsZero() && (t.IsZero() || t.After(c.limit)):
		return c.limit
	}
	return t
}

func (c *boundConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(c.capped(t))
}

func (c *boundConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.capped(t))
}

func (c *boundConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.capped(t))
}

func (c *boundConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.note(err)
	return n, err
}

func (c *boundConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.note(err)
	return n, err
}

func (c *boundConn) note(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ioErr == nil {
		c.ioErr = err
	}
}

// withIOError adds the connection's first I/O error of this send to err,
// so that errors.Is finds a timeout that go-mail's error does not carry.
func (c *boundConn) withIOError(err error) error {
	c.mu.Lock()
	ioErr := c.ioErr
	c.mu.Unlock()
	if ioErr == nil || errors.Is(err, ioErr) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, ioErr)
}
