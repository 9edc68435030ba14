package deploy_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// mailSink stands in for Mailpit: a real SMTP server (emersion/go-smtp) on
// loopback that, like Mailpit with MP_SMTP_REQUIRE_STARTTLS, accepts mail
// only after STARTTLS, with a self-signed certificate whose PEM the worker
// trusts as the smtp plugin's ca_file.
type mailSink struct {
	addr   string
	caFile string

	mu       sync.Mutex
	messages []sunkMessage
	// delay holds a message to the recipient in DATA that long: a slow
	// mail server, for the drain tests.
	delay map[string]time.Duration
	// inData is told the recipient of each DATA that begins.
	inData chan string
}

// sunkMessage is one message received.
type sunkMessage struct {
	To        string
	MessageID string
	Text      string
	At        time.Time
}

func newMailSink(t *testing.T) *mailSink {
	t.Helper()
	cert, pemBytes := selfSignedCert(t)
	caFile := filepath.Join(t.TempDir(), "mailpit.pem")
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	sink := &mailSink{caFile: caFile, delay: map[string]time.Duration{}, inData: make(chan string, 64)}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &sinkSession{sink: sink, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sink
}

// selfSignedCert makes what compose's mailpit-cert service makes with
// openssl: a self-signed certificate, here for 127.0.0.1.
func selfSignedCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mailpit"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemBytes
}

// setDelay holds messages to rcpt in DATA for d.
func (s *mailSink) setDelay(rcpt string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[rcpt] = d
}

// to returns the messages received for rcpt.
func (s *mailSink) to(rcpt string) []sunkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sunkMessage
	for _, m := range s.messages {
		if m.To == rcpt {
			out = append(out, m)
		}
	}
	return out
}

// wait waits up to timeout for a message to rcpt.
func (s *mailSink) wait(rcpt string, timeout time.Duration) (sunkMessage, bool) {
	deadline := time.Now().Add(timeout)
	for {
		if got := s.to(rcpt); len(got) > 0 {
			return got[0], true
		}
		if time.Now().After(deadline) {
			return sunkMessage{}, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type sinkSession struct {
	sink *mailSink
	conn *gosmtp.Conn
	rcpt string
}

func (s *sinkSession) Mail(string, *gosmtp.MailOptions) error {
	if _, ok := s.conn.TLSConnectionState(); !ok {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	}
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.rcpt = to
	return nil
}

func (s *sinkSession) Reset()        {}
func (s *sinkSession) Logout() error { return nil }

func (s *sinkSession) Data(r io.Reader) error {
	select {
	case s.sink.inData <- s.rcpt:
	default:
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	d := s.sink.delay[s.rcpt]
	s.sink.mu.Unlock()
	time.Sleep(d) // a slow server: the reply to DATA comes late
	text, id, err := parseMessage(raw)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	s.sink.messages = append(s.sink.messages, sunkMessage{To: s.rcpt, MessageID: id, Text: text, At: time.Now()})
	s.sink.mu.Unlock()
	return nil
}

// parseMessage returns a message's text/plain part and Message-ID.
func parseMessage(raw []byte) (string, string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", "", err
	}
	id := msg.Header.Get("Message-ID")
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return "", "", err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return "", "", errors.New("no text/plain part")
		}
		if err != nil {
			return "", "", fmt.Errorf("read part: %w", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			body, err := io.ReadAll(p)
			return string(body), id, err
		}
	}
}
