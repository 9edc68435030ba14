package smtp

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Limits of the connection pool. They are not configuration keys: they only
// trade a little latency against a few idle connections, and every server
// copes with them.
const (
	// maxIdle is how many authenticated connections wait for the next
	// message. More than that are closed as their sends finish: a burst
	// needs them, a steady trickle does not.
	maxIdle = 4
	// idleTimeout closes a connection that has not been used for this
	// long. Servers drop idle clients themselves (RFC 5321 suggests 5
	// minutes, providers often less); closing first spares the RSET
	// round trip that would find out.
	idleTimeout = 30 * time.Second
	// maxMessagesPerConn retires a connection after this many messages;
	// providers limit messages per connection, and a long-lived session
	// should not outlast a rotated password or certificate for ever.
	maxMessagesPerConn = 100
	// quitTimeout bounds the QUIT sent to a connection being retired.
	quitTimeout = 2 * time.Second
)

// pool keeps idle sessions to one server, configured by one settings value,
// so that a message does not pay for TCP, TLS, EHLO and AUTH every time. A
// session is used by one send at a time; concurrent sends dial their own.
// It is safe for concurrent use.
type pool struct {
	settings *settings
	// client is go-mail's client, which performs the mail transaction
	// (MAIL, RCPT, DATA and the message) on a session. It holds
	// options only, no connection, and is shared by all sessions.
	client *gomail.Client
	logger *slog.Logger

	mu     sync.Mutex
	idle   []*idleSession
	closed bool
}

// idleSession is a session in the pool, closed by its timer unless a send
// takes it first.
type idleSession struct {
	sess  *session
	timer *time.Timer
}

func newPool(s *settings, logger *slog.Logger) (*pool, error) {
	client, err := gomail.NewClient(s.host,
		// The session is checked with RSET when it is taken from the
		// pool; a NOOP before every message would only add a round
		// trip.
		gomail.WithoutNoop(),
		// An RSET after a delivered message would turn a lost answer
		// to it into a failed delivery of a message the server has
		// taken.
		gomail.WithoutRset(),
		// The deadline every command sets; boundConn caps it at the
		// send's own deadline.
		gomail.WithTimeout(defaultTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("create mail client: %w", err)
	}
	return &pool{settings: s, client: client, logger: logger}, nil
}

// send delivers msg, on an idle session if there is one. A reused session
// that fails before the server could have accepted the message (the RSET
// check, MAIL FROM, RCPT TO, or the connection dropping meanwhile) is
// discarded and the message sent once more on a new connection: the server
// most likely closed the idle connection. A refusal by the server itself is
// its answer and is reported as it is.
func (p *pool) send(ctx context.Context, msg *gomail.Msg) error {
	if sess := p.take(); sess != nil {
		out := send(ctx, p.client, sess, msg, true)
		p.release(sess, out.keep)
		if out.err == nil || !out.beforeData || !out.closing || ctx.Err() != nil {
			return out.err
		}
		p.logger.Debug("reused connection failed; sending on a new one", "error", out.err.Error())
	}
	sess, err := dial(ctx, p.settings)
	if err != nil {
		return err
	}
	out := send(ctx, p.client, sess, msg, false)
	p.release(sess, out.keep)
	return out.err
}

// take returns the most recently used idle session, or nil.
func (p *pool) take() *session {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	e := p.idle[n-1]
	p.idle = p.idle[:n-1]
	// If the timer has fired already, its expire finds the session gone
	// from the pool and leaves it alone.
	e.timer.Stop()
	return e.sess
}

// release returns sess to the pool if keep allows and there is room, or
// closes it.
func (p *pool) release(sess *session, keep bool) {
	if keep && sess.sent < maxMessagesPerConn {
		p.mu.Lock()
		if !p.closed && len(p.idle) < maxIdle {
			e := &idleSession{sess: sess}
			e.timer = time.AfterFunc(idleTimeout, func() { p.expire(e) })
			p.idle = append(p.idle, e)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	if keep {
		quit(sess)
		return
	}
	_ = sess.client.Close()
}

// expire closes e if it is still waiting in the pool.
func (p *pool) expire(e *idleSession) {
	p.mu.Lock()
	i := -1
	for j, x := range p.idle {
		if x == e {
			i = j
			break
		}
	}
	if i >= 0 {
		p.idle = append(p.idle[:i], p.idle[i+1:]...)
	}
	p.mu.Unlock()
	if i >= 0 {
		quit(e.sess)
	}
}

// close closes the idle sessions and makes sessions in use close when
// their sends finish.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, e := range idle {
		e.timer.Stop()
		quit(e.sess)
	}
}

// quit ends a healthy session politely, without waiting long for the
// server's answer.
func quit(sess *session) {
	_ = sess.conn.SetDeadline(time.Now().Add(quitTimeout))
	if err := sess.client.Quit(); err != nil {
		_ = sess.client.Close()
	}
}
