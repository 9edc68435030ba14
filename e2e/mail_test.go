package e2e

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/flexauth/flexauth/plugins/host"
)

// mailbox is a real SMTP server (emersion/go-smtp) on loopback that keeps
// what it receives.
type mailbox struct {
	mu       sync.Mutex
	messages [][]byte
	addr     string
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	mb := &mailbox{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &mailSession{mb: mb}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return mb
}

func (mb *mailbox) wait(t *testing.T, n int) []byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		mb.mu.Lock()
		if len(mb.messages) >= n {
			m := mb.messages[n-1]
			mb.mu.Unlock()
			return m
		}
		mb.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no message %d within 15s", n)
	return nil
}

type mailSession struct{ mb *mailbox }

func (s *mailSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *mailSession) Reset()                                 {}
func (s *mailSession) Logout() error                          { return nil }
func (s *mailSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	s.mb.messages = append(s.mb.messages, raw)
	s.mb.mu.Unlock()
	return nil
}

// textPart returns the text/plain part of a multipart message.
func textPart(t *testing.T, raw []byte) (string, mail.Header) {
	t.Helper()
	return mailPart(t, raw, "text/plain")
}

// mailPart returns the part of type typ of a multipart message, decoded.
func mailPart(t *testing.T, raw []byte, typ string) (string, mail.Header) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no %s part: %v", typ, err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), typ) {
			body, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			return string(body), msg.Header
		}
	}
}

// smtpHarness is a deployment whose email goes through the real SMTP
// plugin process to a mailbox of the test's own (SMS through the outbox).
func smtpHarness(t *testing.T) (*harness, *mailbox) {
	t.Helper()
	mb := newMailbox(t)
	mailHost, mailPort, _ := net.SplitHostPort(mb.addr)
	h := newHarness(t, withPlugins(map[string]string{"email": "mail", "sms": "outbox"}, host.Spec{
		Name: "mail", Command: []string{smtpBin},
		Config: map[string]string{"host": mailHost, "port": mailPort, "tls": "none", "from": "flexauth <auth@example.com>"},
	}))
	return h, mb
}

func TestSignInLinkByEmailThroughTheSMTPPlugin(t *testing.T) {
	t.Parallel()
	h, mb := smtpHarness(t)
	h.Setup("wiki", []string{"passwordless"}, "low", "mia", "passwordless")
	body := req{"system": "wiki", "authid": "mia"}
	h.Expect("/v1/start", body, http.StatusOK, "success")

	text, header := textPart(t, mb.wait(t, 1))
	if !strings.Contains(header.Get("To"), "mia@example.com") || header.Get("Message-ID") == "" {
		t.Fatalf("headers = %v", header)
	}
	link := regexp.MustCompile(`https?://\S+/l/[A-Za-z0-9_-]{43}`).FindString(text)
	if link == "" {
		t.Fatalf("no link in the mail:\n%s", text)
	}
	h.Expect("/v1/check", body, http.StatusAccepted, "pending")
	if res := h.Page(http.MethodPost, link); res.Status != http.StatusOK {
		t.Fatalf("confirming the mailed link = %d", res.Status)
	}
	h.Expect("/v1/check", body, http.StatusOK, "authenticated")
}

// TestMessageTemplatesChangeWhatIsDelivered sets an account's and a
// system's templates with the admin API and reads what the real SMTP
// plugin process delivers, and what the SMS channel gets: the system's
// part wins, the account's fills in, the built-in one the rest, and the
// code in the message still signs in.
func TestMessageTemplatesChangeWhatIsDelivered(t *testing.T) {
	t.Parallel()
	h, mb := smtpHarness(t)
	h.Setup("wiki", []string{"pin"}, "low", "mia", "pin")
	h.Admin(http.MethodPut, "/v1/admin/messages", req{
		"brand": req{"name": "Acme <Wiki>", "color": "#0f766e"},
		"messages": req{"signin_code": req{
			"text": "Acme code {{.Code}} for {{.System}}, valid {{minutes .ExpiresMinutes}}.",
			"sms":  "Acme: {{.Code}} ({{.System}})",
		}},
	}, http.StatusOK)
	h.Admin(http.MethodPut, "/v1/admin/systems/wiki/messages", req{
		"messages": req{"signin_code": req{"subject": "Your {{.System}} code from Acme"}},
	}, http.StatusOK)

	body := req{"system": "wiki", "authid": "mia"}
	h.Expect("/v1/start", body, http.StatusOK, "success")
	raw := mb.wait(t, 1)
	text, header := textPart(t, raw)
	if header.Get("Subject") != "Your wiki code from Acme" {
		t.Fatalf("subject = %q", header.Get("Subject"))
	}
	m := regexp.MustCompile(`^Acme code (\d+) for wiki, valid 5 minutes\.\r?\n$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("text part = %q", text)
	}
	html, _ := mailPart(t, raw, "text/html")
	if !strings.Contains(html, "Acme &lt;Wiki&gt;") || !strings.Contains(html, ">"+m[1]+"</p>") {
		t.Fatalf("html part (built-in, with the account's brand) =\n%s", html)
	}
	h.Expect("/v1/check", req{"system": "wiki", "authid": "mia", "pin": m[1]}, http.StatusOK, "authenticated")

	// A user with a phone only gets the account's SMS text.
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "sam", "name": "Sam", "phone": "+15555550123"}, http.StatusCreated)
	h.Admin(http.MethodPut, "/v1/admin/users/sam/systems", req{"assignments": []req{{"system": "wiki", "method": "pin"}}}, http.StatusOK)
	h.Expect("/v1/start", req{"system": "wiki", "authid": "sam"}, http.StatusOK, "success")
	sms := h.waitMessage("+15555550123", 1)
	if sms.Channel != "sms" || sms.Body != "Acme: "+sms.Code+" (wiki)" || sms.Code == "" {
		t.Fatalf("sms = %+v", sms)
	}
}
