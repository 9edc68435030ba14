package smtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/flexauth/flexauth/plugins/sdk"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newMailer returns a Mailer configured with config, logging to the test.
func newMailer(t *testing.T, config map[string]string) *Mailer {
	t.Helper()
	m := New()
	m.logger = testLogger(t)
	if err := m.Configure(t.Context(), sdk.ConfigureRequest{Config: config}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

// testLink is long enough to be wrapped by quoted-printable and carries
// characters ('=', '&') that the encodings must restore intact.
const testLink = "https://id.example.com/auth/link/Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8?attempt=att-1&sig=abc%3D%3D"

// linkRequest is what flexauth sends for a passwordless login.
func linkRequest(id string) sdk.SendRequest {
	return sdk.SendRequest{
		ID: id, Attempt: id, Channel: "email", To: "ada@example.com",
		Subject: "Your sign-in link for Billing",
		Text:    "Open this link to sign in to Billing:\n\n" + testLink + "\n\nIt works once and expires in 15 minutes.",
		HTML: `<!DOCTYPE html><html lang="en"><body><h1>Sign in to Billing</h1><p>The link expires in 15 minutes.</p>` +
			`<a href="` + htmlEscapedLink + `">` + htmlEscapedLink + `</a></body></html>`,
		Link: testLink,
		Metadata: map[string]string{
			"account": "acc-1", "system": "Billing", "method": "passwordless", "expires_minutes": "15",
		},
	}
}

// codeRequest is what flexauth sends for a PIN login.
func codeRequest(id string) sdk.SendRequest {
	return sdk.SendRequest{
		ID: id, Attempt: id, Channel: "email", To: "ada@example.com",
		Subject: "Your sign-in code for Billing",
		Text:    "Your code to sign in to Billing is 493817.\n\nIt expires in 5 minutes. Never share it.",
		HTML:    `<!DOCTYPE html><html lang="en"><body><p style="font-family:monospace">493817</p><p>It expires in 5 minutes.</p></body></html>`,
		Code:    "493817",
		Metadata: map[string]string{
			"account": "acc-1", "system": "Billing", "method": "pin", "expires_minutes": "5",
		},
	}
}

// htmlEscapedLink is testLink as html/template writes it in an attribute
// and in text.
var htmlEscapedLink = strings.ReplaceAll(testLink, "&", "&amp;")

func TestMessageArrivesWithBothPartsAndHeaders(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS, auth: true})
	m := newMailer(t, srv.config("starttls"))
	date := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	m.now = func() time.Time { return date }

	tests := []struct {
		name      string
		req       sdk.SendRequest
		wantText  []string
		wantHTML  []string
		wantNoCTA bool
	}{
		{
			name:     "a magic link is a button and plain text",
			req:      linkRequest("att-link"),
			wantText: []string{testLink, "expires in 15 minutes", "sign in to Billing"},
			wantHTML: []string{`href="` + htmlEscapedLink + `"`, ">" + htmlEscapedLink + "</a>", "Sign in to Billing", "15 minutes", `lang="en"`},
		},
		{
			name:      "a code is shown in monospace",
			req:       codeRequest("att-code"),
			wantText:  []string{"493817", "expires in 5 minutes", "Never share it"},
			wantHTML:  []string{"monospace", ">493817</p>", "5 minutes"},
			wantNoCTA: true,
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := m.Send(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			msgs := srv.messages()
			if len(msgs) != i+1 {
				t.Fatalf("server has %d messages, want %d", len(msgs), i+1)
			}
			got := msgs[i]
			if got.from != "no-reply@id.example.com" || len(got.to) != 1 || got.to[0] != "ada@example.com" {
				t.Errorf("envelope = %q -> %q", got.from, got.to)
			}
			if !got.tls || got.authUser != testUser {
				t.Errorf("tls = %v, authenticated as %q: want STARTTLS and AUTH PLAIN", got.tls, got.authUser)
			}

			p := parseMessage(t, got.raw)
			wantID := messageID(tt.req.ID, "id.example.com")
			for name, want := range map[string]string{
				"From":           `"Example ID" <no-reply@id.example.com>`,
				"To":             "<ada@example.com>",
				"Subject":        tt.req.Subject,
				"Message-Id":     wantID,
				"Mime-Version":   "1.0",
				"Auto-Submitted": "auto-generated",
				"Date":           "Wed, 02 Jan 2030 03:04:05 +0000",
			} {
				if g := p.header.Get(name); g != want {
					t.Errorf("%s = %q, want %q", name, g, want)
				}
			}
			if resp.MessageID != wantID {
				t.Errorf("response message id = %q, want %q", resp.MessageID, wantID)
			}
			if strings.Join(p.order, ",") != "text/plain,text/html" {
				t.Errorf("parts = %v, want text/plain then text/html", p.order)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(p.parts["text/plain"], w) {
					t.Errorf("text part does not contain %q:\n%s", w, p.parts["text/plain"])
				}
			}
			for _, w := range tt.wantHTML {
				if !strings.Contains(p.parts["text/html"], w) {
					t.Errorf("html part does not contain %q:\n%s", w, p.parts["text/html"])
				}
			}
			if tt.wantNoCTA && strings.Contains(p.parts["text/html"], "<a ") {
				t.Errorf("html part for a code has a link:\n%s", p.parts["text/html"])
			}
			// SMTP lines may not exceed 998 characters; quoted-printable
			// keeps body lines at 76, however long the link.
			_, body, _ := strings.Cut(string(got.raw), "\r\n\r\n")
			for _, line := range strings.Split(body, "\r\n") {
				if len(line) > 76 {
					t.Errorf("body line of %d characters: %q", len(line), line)
				}
			}
		})
	}
}

// TestRetryCarriesTheSameMessageIDAndIsNotSentTwice runs the plugin
// process: remembering delivered IDs is sdk.ServeDelivery's job, and the
// process is where it is done.
func TestRetryCarriesTheSameMessageIDAndIsNotSentTwice(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	h := newPluginHost(t, srv.config("starttls"))
	req := linkRequest("att-retry")

	first, err := h.Send(t.Context(), "smtp", req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	// The host lost the answer and retries.
	second, err := h.Send(t.Context(), "smtp", req)
	if err != nil {
		t.Fatalf("retried send: %v", err)
	}
	if first.MessageID != second.MessageID {
		t.Errorf("message ids differ: %q then %q", first.MessageID, second.MessageID)
	}
	if n := len(srv.messages()); n != 1 {
		t.Fatalf("server has %d messages after a retry, want 1", n)
	}

	// A new process does not remember; it sends again, with the same
	// Message-ID so the receiver can drop the duplicate.
	restarted := newPluginHost(t, srv.config("starttls"))
	if _, err := restarted.Send(t.Context(), "smtp", req); err != nil {
		t.Fatalf("send after restart: %v", err)
	}
	if n := srv.withMessageID(t, first.MessageID); n != 2 {
		t.Fatalf("%d messages carry %s, want 2", n, first.MessageID)
	}
}

func TestConcurrentSendsOfOneIDDeliverOnce(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	h := newPluginHost(t, srv.config("starttls"))
	// Launch first, so that the sends overlap at the server rather than
	// queue behind the plugin's start.
	if _, err := h.Info(t.Context(), "smtp"); err != nil {
		t.Fatalf("launch: %v", err)
	}
	// The first send hangs at the server until the others have started.
	srv.setSlow(t, true)
	time.AfterFunc(200*time.Millisecond, func() { srv.setSlow(t, false) })

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			if _, err := h.Send(t.Context(), "smtp", codeRequest("att-race")); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	if n := len(srv.messages()); n != 1 {
		t.Fatalf("server has %d messages, want 1", n)
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveTLS, auth: true})
	m := newMailer(t, srv.config("tls"))
	if _, err := m.Send(t.Context(), codeRequest("att-tls")); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := srv.messages()
	if len(msgs) != 1 || !msgs[0].tls || msgs[0].authUser != testUser {
		t.Fatalf("messages = %+v, want one over TLS, authenticated", msgs)
	}
}

func TestClearTextToLocalhostForDevelopment(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: servePlain})
	m := newMailer(t, srv.config("none"))
	if _, err := m.Send(t.Context(), codeRequest("att-dev")); err != nil {
		t.Fatalf("send: %v", err)
	}
	if n := len(srv.messages()); n != 1 {
		t.Fatalf("server has %d messages, want 1", n)
	}
}

func TestFailuresAreClassified(t *testing.T) {
	tests := []struct {
		name      string
		server    serverOptions
		mode      string
		config    []string
		setup     func(*mailServer)
		permanent bool
		wantErr   string
	}{
		{
			name:   "starttls is required but not offered",
			server: serverOptions{security: servePlain}, mode: "starttls",
			permanent: true, wantErr: "does not offer STARTTLS",
		},
		{
			name:   "wrong password",
			server: serverOptions{security: serveStartTLS, auth: true}, mode: "starttls",
			config:    []string{"password", "wrong"},
			permanent: true, wantErr: "535",
		},
		{
			name:   "server offers no AUTH PLAIN",
			server: serverOptions{security: serveStartTLS}, mode: "starttls",
			config:    []string{"username", testUser, "password", testPassword},
			permanent: true, wantErr: "does not offer AUTH PLAIN",
		},
		{
			name:   "mailbox unavailable",
			server: serverOptions{security: serveStartTLS}, mode: "starttls",
			setup:     func(s *mailServer) { s.reject("ada@example.com", 550, "mailbox unavailable") },
			permanent: true, wantErr: "550",
		},
		{
			name:   "bad address",
			server: serverOptions{security: serveStartTLS}, mode: "starttls",
			setup:     func(s *mailServer) { s.reject("ada@example.com", 553, "mailbox name not allowed") },
			permanent: true, wantErr: "553",
		},
		{
			name:   "greylisted",
			server: serverOptions{security: serveStartTLS}, mode: "starttls",
			setup: func(s *mailServer) {
				s.setUnavailable(&gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 7, 1}, Message: "greylisted, try again later"})
			},
			wantErr: "451",
		},
		{
			name:   "service unavailable",
			server: serverOptions{security: serveStartTLS}, mode: "starttls",
			setup: func(s *mailServer) {
				s.setUnavailable(&gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 3, 2}, Message: "shutting down"})
			},
			wantErr: "421",
		},
		{
			name:   "certificate from an untrusted CA",
			server: serverOptions{security: serveStartTLS}, mode: "starttls",
			config:    []string{"ca_file", ""},
			permanent: true, wantErr: "certificate",
		},
		{
			name:   "certificate for another name",
			server: serverOptions{security: serveTLS}, mode: "tls",
			// The certificate covers 127.0.0.1 only.
			config:    []string{"host", "localhost"},
			permanent: true, wantErr: "certificate",
		},
		{
			name:   "implicit tls against a plain port",
			server: serverOptions{security: servePlain}, mode: "tls",
			permanent: true, wantErr: "tls handshake",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startMailServer(t, tt.server)
			if tt.setup != nil {
				tt.setup(srv)
			}
			m := newMailer(t, srv.config(tt.mode, tt.config...))
			_, err := m.Send(t.Context(), codeRequest("att-fail"))
			if err == nil {
				t.Fatal("send succeeded")
			}
			if got := errors.Is(err, sdk.ErrPermanent); got != tt.permanent {
				t.Errorf("permanent = %v, want %v: %v", got, tt.permanent, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
			if n := len(srv.messages()); n != 0 {
				t.Errorf("server has %d messages, want 0", n)
			}
		})
	}
}

func TestTemporaryFailureCanBeRetried(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	srv.setUnavailable(&gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try later"})
	m := newMailer(t, srv.config("starttls"))
	req := codeRequest("att-later")
	if _, err := m.Send(t.Context(), req); err == nil || errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("send to an unavailable server: error = %v, want temporary", err)
	}
	srv.setUnavailable(nil)
	if _, err := m.Send(t.Context(), req); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(srv.messages()); n != 1 {
		t.Fatalf("server has %d messages, want 1", n)
	}
}

func TestUnreachableServerIsTemporary(t *testing.T) {
	// A port nobody listens on: take one, then free it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()

	m := newMailer(t, map[string]string{"host": "127.0.0.1", "port": port, "tls": "none", "from": "id@example.com"})
	_, err = m.Send(t.Context(), codeRequest("att-refused"))
	if err == nil || errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("error = %v, want temporary", err)
	}
}

// silentServer accepts connections and never says a word: a server that
// hangs before its greeting or TLS handshake.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func TestTheContextDeadlineBoundsEveryStep(t *testing.T) {
	slow := startMailServer(t, serverOptions{security: serveStartTLS})
	slow.setSlow(t, true)
	silentPort := silentServer(t)

	tests := []struct {
		name   string
		config map[string]string
	}{
		{"tls handshake that never completes", map[string]string{"host": "127.0.0.1", "port": silentPort, "tls": "tls", "from": "id@example.com", "ca_file": slow.caFile}},
		{"greeting that never comes", map[string]string{"host": "127.0.0.1", "port": silentPort, "tls": "starttls", "from": "id@example.com", "ca_file": slow.caFile}},
		{"answer to the message that never comes", slow.config("starttls")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMailer(t, tt.config)
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := m.Send(ctx, codeRequest("att-slow"))
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("send returned after %v; the deadline was 300ms", elapsed)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want context.DeadlineExceeded", err)
			}
			if errors.Is(err, sdk.ErrPermanent) {
				t.Errorf("a timeout must be retryable: %v", err)
			}
		})
	}
}

func TestCancellationInterruptsASend(t *testing.T) {
	port := silentServer(t)
	m := newMailer(t, map[string]string{"host": "127.0.0.1", "port": port, "tls": "none", "from": "id@example.com"})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := m.Send(ctx, codeRequest("att-cancel"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("send returned %v after it was cancelled", elapsed)
	}
}

func TestNonASCIISubjectIsEncoded(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	m := newMailer(t, srv.config("starttls"))
	req := codeRequest("att-utf8")
	req.Subject = "Ihr Anmeldecode für Zürich – gültig für fünf Minuten, bitte nicht weitergeben ✓"
	if _, err := m.Send(t.Context(), req); err != nil {
		t.Fatalf("send: %v", err)
	}
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("server has %d messages, want 1", len(msgs))
	}
	p := parseMessage(t, msgs[0].raw)
	if !isASCII(p.rawHeader) {
		t.Errorf("header block is not ASCII:\n%s", p.rawHeader)
	}
	// go-mail folds the header before the first encoded word.
	if !regexp.MustCompile(`(?m)^Subject:\s+=\?utf-8\?q\?`).MatchString(p.rawHeader) {
		t.Errorf("subject is not Q-encoded:\n%s", p.rawHeader)
	}
	decoded, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if err != nil || decoded != req.Subject {
		t.Errorf("decoded subject = %q (%v), want %q", decoded, err, req.Subject)
	}
}

func TestHeaderInjectionIsRefused(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	m := newMailer(t, srv.config("starttls"))
	tests := []struct {
		name   string
		mutate func(*sdk.SendRequest)
	}{
		{"line break in the recipient", func(r *sdk.SendRequest) { r.To = "ada@example.com\r\nBcc: eve@example.com" }},
		{"bare line feed in the recipient", func(r *sdk.SendRequest) { r.To = "ada@example.com\nBcc: eve@example.com" }},
		{"line break in the subject", func(r *sdk.SendRequest) { r.Subject = "Sign in\r\nBcc: eve@example.com" }},
		{"bare carriage return in the subject", func(r *sdk.SendRequest) { r.Subject = "Sign in\rBcc: eve@example.com" }},
		{"two recipients", func(r *sdk.SendRequest) { r.To = "ada@example.com, eve@example.com" }},
		{"not an address", func(r *sdk.SendRequest) { r.To = "ada" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := codeRequest("att-inject")
			tt.mutate(&req)
			_, err := m.Send(t.Context(), req)
			if !errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("error = %v, want permanent", err)
			}
		})
	}
	if n := len(srv.messages()); n != 0 {
		t.Fatalf("server has %d messages, want 0", n)
	}
}

func TestRequestsTheMailerCannotSendArePermanent(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	tests := []struct {
		name string
		req  sdk.SendRequest
	}{
		{"missing id", sdk.SendRequest{Channel: "email", To: "ada@example.com", Code: "1"}},
		{"sms channel", sdk.SendRequest{ID: "a", Channel: "sms", To: "+41790000000", Code: "1"}},
		{"missing recipient", sdk.SendRequest{ID: "a", Channel: "email", Code: "1"}},
		{"internationalized address", sdk.SendRequest{ID: "a", Channel: "email", To: "jörg@example.com", Code: "1"}},
		{"no subject (a host that left rendering to the plugin)", sdk.SendRequest{ID: "a", Channel: "email", To: "ada@example.com", Text: "123456", Code: "123456"}},
		{"no text", sdk.SendRequest{ID: "a", Channel: "email", To: "ada@example.com", Subject: "Your code", Code: "123456"}},
	}
	m := newMailer(t, srv.config("starttls"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.Send(t.Context(), tt.req); !errors.Is(err, sdk.ErrPermanent) {
				t.Fatalf("error = %v, want permanent", err)
			}
		})
	}
	t.Run("not configured", func(t *testing.T) {
		if _, err := New().Send(t.Context(), codeRequest("a")); !errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("error = %v, want permanent", err)
		}
	})
}

func TestAMessageWithoutHTMLIsTextOnly(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS})
	m := newMailer(t, srv.config("starttls"))
	req := codeRequest("att-text-only")
	req.HTML = ""
	if _, err := m.Send(t.Context(), req); err != nil {
		t.Fatalf("send: %v", err)
	}
	raw := string(srv.messages()[0].raw)
	if strings.Contains(raw, "text/html") || !strings.Contains(raw, "text/plain") || !strings.Contains(raw, "493817") {
		t.Fatalf("message:\n%s", raw)
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS, auth: true})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	good, bad := New(), New()
	good.logger, bad.logger = logger, logger
	t.Cleanup(good.Close)
	t.Cleanup(bad.Close)
	if err := good.Configure(t.Context(), sdk.ConfigureRequest{Config: srv.config("starttls")}); err != nil {
		t.Fatal(err)
	}
	if err := bad.Configure(t.Context(), sdk.ConfigureRequest{Config: srv.config("starttls", "password", "wrong-"+testPassword)}); err != nil {
		t.Fatal(err)
	}
	for _, send := range []struct {
		m   *Mailer
		req sdk.SendRequest
	}{
		{good, linkRequest("att-log-1")},
		{good, linkRequest("att-log-1")}, // the "already delivered" path
		{good, codeRequest("att-log-2")},
		{bad, linkRequest("att-log-3")},
		{bad, codeRequest("att-log-4")},
	} {
		_, _ = send.m.Send(t.Context(), send.req)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged; the check below would prove nothing")
	}
	for _, secret := range []string{testPassword, "493817", testLink, "Zm9vYmFyYmF6"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs.String())
		}
	}
}

func TestInfo(t *testing.T) {
	info, err := New().Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "smtp" || fmt.Sprint(info.Channels) != "[email]" || info.Version == "" {
		t.Fatalf("info = %+v", info)
	}
}

// The Message-ID is a pure function of the request ID: nothing else (time,
// recipient, process) may change it, or receivers cannot deduplicate.
func TestMessageIDDependsOnlyOnTheRequestID(t *testing.T) {
	a := messageID("att-1", "id.example.com")
	if a != messageID("att-1", "id.example.com") {
		t.Fatal("message id is not deterministic")
	}
	if a == messageID("att-2", "id.example.com") {
		t.Fatal("two requests share a message id")
	}
	if _, err := mail.ParseAddress(strings.Trim(a, "<>")); err != nil {
		t.Errorf("message id %q is not addr-spec shaped: %v", a, err)
	}
	if len(a) != 1+64+1+len("id.example.com")+1 {
		t.Errorf("message id %q is not a hex SHA-256 at the domain", a)
	}
}
