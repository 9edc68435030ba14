package mailsink

import (
	"bytes"
	"context"
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
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// Sink is the mail server. Like Mailpit with MP_SMTP_REQUIRE_STARTTLS, it
// accepts mail only after STARTTLS.
type Sink struct {
	addr   string
	caFile string
	srv    *gosmtp.Server
	inData chan string

	mu       sync.Mutex
	messages map[string][]Message // by recipient, in order of arrival
	// changed is closed, and replaced, when a message arrives: waiters
	// wake without polling.
	changed chan struct{}
	// delay holds a message to the recipient in DATA that long: a slow
	// mail server.
	delay map[string]time.Duration
}

// Message is one message received.
type Message struct {
	To        string
	MessageID string
	Text      string // the text/plain part
	At        time.Time
}

// Start starts a sink on a free port of 127.0.0.1, with the PEM of its
// certificate written to dir (CAFile). Close stops it.
func Start(dir string) (*Sink, error) {
	cert, pemBytes, err := selfSignedCert()
	if err != nil {
		return nil, fmt.Errorf("start mail sink: %w", err)
	}
	caFile := filepath.Join(dir, "mailpit.pem")
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		return nil, fmt.Errorf("start mail sink: write certificate: %w", err)
	}
	s := &Sink{
		caFile: caFile, inData: make(chan string, 64),
		messages: map[string][]Message{}, changed: make(chan struct{}), delay: map[string]time.Duration{},
	}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{sink: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start mail sink: %w", err)
	}
	s.addr, s.srv = l.Addr().String(), srv
	go func() { _ = srv.Serve(l) }()
	return s, nil
}

// Addr is the server's host:port.
func (s *Sink) Addr() string { return s.addr }

// CAFile is the path of the certificate's PEM, for the smtp plugin's
// ca_file.
func (s *Sink) CAFile() string { return s.caFile }

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// InData is told the recipient of each DATA that begins (when nobody
// reads, of the first 64 only).
func (s *Sink) InData() <-chan string { return s.inData }

// SetDelay holds messages to rcpt in DATA for d: a slow mail server.
func (s *Sink) SetDelay(rcpt string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[rcpt] = d
}

// To returns the messages received for rcpt, in order of arrival.
func (s *Sink) To(rcpt string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages[rcpt]...)
}

// Count is the number of messages received for rcpt.
func (s *Sink) Count(rcpt string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages[rcpt])
}

// Received is the number of messages received, to anyone.
func (s *Sink) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, msgs := range s.messages {
		n += len(msgs)
	}
	return n
}

// Wait waits until ctx ends for the message to rcpt with index n (0 is
// the first one received).
func (s *Sink) Wait(ctx context.Context, rcpt string, n int) (Message, error) {
	for {
		s.mu.Lock()
		msgs, changed := s.messages[rcpt], s.changed
		s.mu.Unlock()
		if len(msgs) > n {
			return msgs[n], nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("wait for message %d to %s: %w", n+1, rcpt, ctx.Err())
		}
	}
}

func (s *Sink) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages[m.To] = append(s.messages[m.To], m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// selfSignedCert makes what compose's mailpit-cert service makes with
// openssl: a self-signed certificate, here for 127.0.0.1.
func selfSignedCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate key: %w", err)
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
		return tls.Certificate{}, nil, fmt.Errorf("create certificate: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pemBytes, nil
}

type session struct {
	sink *Sink
	conn *gosmtp.Conn
	rcpt string
}

func (s *session) Mail(string, *gosmtp.MailOptions) error {
	if _, ok := s.conn.TLSConnectionState(); !ok {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.rcpt = to
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func (s *session) Data(r io.Reader) error {
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
	s.sink.add(Message{To: s.rcpt, MessageID: id, Text: text, At: time.Now()})
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
