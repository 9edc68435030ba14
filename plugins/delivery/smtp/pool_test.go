package smtp

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// eventually waits for cond, which the server reaches on its own time (it
// closes a connection after answering QUIT, not before).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSequentialSendsShareOneConnection(t *testing.T) {
	for _, tt := range []struct{ security, mode string }{
		{serveStartTLS, "starttls"},
		{serveTLS, "tls"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			srv := startMailServer(t, serverOptions{security: tt.security, auth: true})
			m := newMailer(t, srv.config(tt.mode))
			for _, req := range []sdk.SendRequest{linkRequest("att-reuse-1"), codeRequest("att-reuse-2"), codeRequest("att-reuse-3")} {
				if _, err := m.Send(t.Context(), req); err != nil {
					t.Fatalf("send %s: %v", req.ID, err)
				}
			}
			msgs := srv.messages()
			if len(msgs) != 3 {
				t.Fatalf("server has %d messages, want 3", len(msgs))
			}
			for _, msg := range msgs {
				if !msg.tls || msg.authUser != testUser {
					t.Errorf("tls = %v, authenticated as %q: want TLS and AUTH PLAIN", msg.tls, msg.authUser)
				}
			}
			if got := srv.counts(); got.conns != 1 || got.handshakes != 1 || got.auths != 1 {
				t.Errorf("server saw %d connections, %d TLS handshakes, %d AUTH exchanges; want one of each", got.conns, got.handshakes, got.auths)
			}
		})
	}
}

func TestADroppedIdleConnectionIsReplaced(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS, auth: true})
	m := newMailer(t, srv.config("starttls"))
	if _, err := m.Send(t.Context(), codeRequest("att-drop-1")); err != nil {
		t.Fatalf("first send: %v", err)
	}
	// The server ends the idle session, as one does after its idle
	// timeout; the plugin only finds out when it uses the connection.
	srv.dropConnections()

	req := linkRequest("att-drop-2")
	if _, err := m.Send(t.Context(), req); err != nil {
		t.Fatalf("send after the server dropped the connection: %v", err)
	}
	if n := srv.withMessageID(t, messageID(req.ID, "id.example.com")); n != 1 {
		t.Errorf("server has the second message %d times, want once", n)
	}
	if n := len(srv.messages()); n != 2 {
		t.Errorf("server has %d messages, want 2", n)
	}
	if got := srv.counts(); got.conns != 2 || got.auths != 2 {
		t.Errorf("server saw %d connections and %d AUTH exchanges, want 2 of each", got.conns, got.auths)
	}
}

func TestConcurrentSendsAreAllDelivered(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS, auth: true})
	m := newMailer(t, srv.config("starttls"))
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := m.Send(t.Context(), codeRequest(fmt.Sprintf("att-concurrent-%d", i))); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	for i := range n {
		id := messageID(fmt.Sprintf("att-concurrent-%d", i), "id.example.com")
		if got := srv.withMessageID(t, id); got != 1 {
			t.Errorf("message %d arrived %d times, want once", i, got)
		}
	}
	if got := srv.counts(); got.conns > n {
		t.Errorf("server saw %d connections for %d messages", got.conns, n)
	}
	// At most maxIdle connections stay open; the others were closed
	// with QUIT when their sends finished.
	eventually(t, fmt.Sprintf("at most %d connections are open", maxIdle), func() bool { return srv.counts().open <= maxIdle })

	// The next message goes out on one of the idle connections.
	before := srv.counts().conns
	if _, err := m.Send(t.Context(), codeRequest("att-concurrent-after")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if after := srv.counts().conns; after != before {
		t.Errorf("a send after the burst opened a connection (%d, then %d); want an idle one reused", before, after)
	}
}

func TestRefusalsOnAReusedConnectionKeepTheirClass(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS, auth: true})
	m := newMailer(t, srv.config("starttls"))
	if _, err := m.Send(t.Context(), codeRequest("att-refuse-warm")); err != nil {
		t.Fatalf("first send: %v", err)
	}

	srv.reject("eve@example.com", 550, "no such user")
	req := codeRequest("att-refuse-550")
	req.To = "eve@example.com"
	_, err := m.Send(t.Context(), req)
	if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "550") {
		t.Errorf("rejected recipient: error = %v, want permanent 550", err)
	}

	srv.setUnavailable(&gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"})
	_, err = m.Send(t.Context(), codeRequest("att-refuse-451"))
	if err == nil || errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "451") {
		t.Errorf("greylisted: error = %v, want temporary 451", err)
	}

	srv.setUnavailable(nil)
	if _, err := m.Send(t.Context(), codeRequest("att-refuse-451")); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(srv.messages()); n != 2 {
		t.Errorf("server has %d messages, want 2", n)
	}
	// Refusals are the server's answer, not a broken connection: all of
	// it happened on the first connection, and no refusal was tried again
	// on a new one.
	if got := srv.counts(); got.conns != 1 {
		t.Errorf("server saw %d connections, want 1", got.conns)
	}
}

func TestAFailureAfterTheDataIsNotSentAgain(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	m := newMailer(t, srv.config("starttls"))
	if _, err := m.Send(t.Context(), codeRequest("att-data-warm")); err != nil {
		t.Fatalf("first send: %v", err)
	}
	for _, tt := range []struct {
		code      int
		permanent bool
		// newConns is how many connections the send opens: none for
		// the first (the idle one is reused), one for the second (the
		// first refusal discarded its connection). A retry would open
		// one more.
		newConns int
	}{{554, true, 0}, {451, false, 1}} {
		srv.refuseData(&gosmtp.SMTPError{Code: tt.code, EnhancedCode: gosmtp.EnhancedCode{tt.code / 100, 6, 0}, Message: "refused"})
		before := srv.counts().conns
		_, err := m.Send(t.Context(), codeRequest(fmt.Sprintf("att-data-%d", tt.code)))
		if err == nil || errors.Is(err, sdk.ErrPermanent) != tt.permanent || !strings.Contains(err.Error(), fmt.Sprint(tt.code)) {
			t.Errorf("data refused with %d: error = %v, want permanent = %v", tt.code, err, tt.permanent)
		}
		// The message was sent once, on the connection the send took;
		// it is not sent again on a new one.
		if after := srv.counts().conns; after-before != tt.newConns {
			t.Errorf("data refused with %d: %d connections were opened, want %d", tt.code, after-before, tt.newConns)
		}
	}
	if n := len(srv.messages()); n != 1 {
		t.Errorf("server has %d messages, want 1", n)
	}
}

func TestCloseAndReconfigureEndIdleConnections(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	m := newMailer(t, srv.config("starttls"))
	if _, err := m.Send(t.Context(), codeRequest("att-close-1")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := srv.counts(); got.open != 1 {
		t.Fatalf("%d connections open after a send, want 1 kept idle", got.open)
	}

	// A new configuration may name another server or credentials: the
	// connections made with the old one are closed.
	if err := m.Configure(t.Context(), sdk.ConfigureRequest{Config: srv.config("starttls", "helo", "mailer.example.com")}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	eventually(t, "the old configuration's connection is closed", func() bool { return srv.counts().open == 0 })
	if _, err := m.Send(t.Context(), codeRequest("att-close-2")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := srv.counts(); got.conns != 2 {
		t.Errorf("server saw %d connections, want 2", got.conns)
	}

	m.Close()
	eventually(t, "the plugin's idle connection is closed", func() bool { return srv.counts().open == 0 })
}
