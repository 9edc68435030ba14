package smtp

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
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Security of a test server's listener.
const (
	serveStartTLS = "starttls" // offers STARTTLS on a plain connection
	serveTLS      = "tls"      // TLS from the first byte
	servePlain    = "plain"    // no TLS at all
)

// Credentials the test servers accept when auth is on.
const (
	testUser     = "mailer"
	testPassword = "s3cret-Passw0rd"
)

// mailServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that
// records what it accepts and misbehaves on request.
type mailServer struct {
	port   string
	caFile string
	auth   bool
	// closed ends any Data call still sleeping when the test is over.
	closed chan struct{}

	mu          sync.Mutex
	received    []received
	unavailable *gosmtp.SMTPError
	rejections  map[string]*gosmtp.SMTPError
	// hold, when not nil, keeps every answer to a message back until it
	// is closed: a server that hangs after the data.
	hold chan struct{}
	// dataRefusal, when not nil, is the answer to every message's data.
	dataRefusal *gosmtp.SMTPError
	// conns are the TCP connections accepted, in order; connsShut counts
	// the ones the server has closed (after QUIT, or when the client went
	// away).
	conns     []net.Conn
	connsShut int
	// handshakes counts TLS handshakes begun, implicit or STARTTLS; auths
	// counts successful AUTH exchanges.
	handshakes int
	auths      int
}

// received is one accepted message.
type received struct {
	from     string
	to       []string
	raw      []byte
	tls      bool
	authUser string
}

type serverOptions struct {
	security string
	// auth makes the server offer AUTH PLAIN (over TLS only) and require
	// it before MAIL.
	auth bool
}

func startMailServer(t *testing.T, opts serverOptions) *mailServer {
	t.Helper()
	cert, caFile := selfSignedCert(t)
	srv := &mailServer{
		caFile:     caFile,
		auth:       opts.auth,
		closed:     make(chan struct{}),
		rejections: make(map[string]*gosmtp.SMTPError),
	}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &serverSession{srv: srv, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	l = &countingListener{Listener: l, srv: srv}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			srv.mu.Lock()
			srv.handshakes++
			srv.mu.Unlock()
			return nil, nil // the same configuration
		},
	}
	switch opts.security {
	case serveStartTLS:
		s.TLSConfig = tlsConfig
	case serveTLS:
		s.TLSConfig = tlsConfig
		l = tls.NewListener(l, tlsConfig)
	case servePlain:
	default:
		t.Fatalf("unknown security %q", opts.security)
	}
	_, srv.port, _ = net.SplitHostPort(l.Addr().String())
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() {
		close(srv.closed)
		_ = s.Close()
	})
	return srv
}

// config returns a plugin configuration for this server with tls set to
// mode; extra entries are added last (an empty value deletes the key).
func (srv *mailServer) config(mode string, extra ...string) map[string]string {
	c := map[string]string{
		"host":    "127.0.0.1",
		"port":    srv.port,
		"tls":     mode,
		"from":    "Example ID <no-reply@id.example.com>",
		"ca_file": srv.caFile,
	}
	if mode == "none" {
		delete(c, "ca_file")
	}
	if srv.auth {
		c["username"], c["password"] = testUser, testPassword
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			delete(c, extra[i])
		} else {
			c[extra[i]] = extra[i+1]
		}
	}
	return c
}

// setUnavailable makes MAIL answer with err (nil: accept again).
func (srv *mailServer) setUnavailable(err *gosmtp.SMTPError) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.unavailable = err
}

// reject makes RCPT TO:<to> answer with code.
func (srv *mailServer) reject(to string, code int, msg string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.rejections[to] = &gosmtp.SMTPError{Code: code, EnhancedCode: gosmtp.EnhancedCode{code / 100, 1, 1}, Message: msg}
}

// setSlow makes the server hang after reading a message (on) or answer
// again, releasing the messages it held back (off). The messages it held
// are accepted when released, as a real server that was only slow would.
func (srv *mailServer) setSlow(_ testing.TB, on bool) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	switch {
	case on && srv.hold == nil:
		srv.hold = make(chan struct{})
	case !on && srv.hold != nil:
		close(srv.hold)
		srv.hold = nil
	}
}

// refuseData makes the reply to every message's data err (nil: accept
// again): the server read the message and refused it.
func (srv *mailServer) refuseData(err *gosmtp.SMTPError) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.dataRefusal = err
}

// counts says how many connections the server accepted, how many of them
// are still open, and how many TLS handshakes and AUTH exchanges it saw.
type counts struct{ conns, open, handshakes, auths int }

func (srv *mailServer) counts() counts {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return counts{conns: len(srv.conns), open: len(srv.conns) - srv.connsShut, handshakes: srv.handshakes, auths: srv.auths}
}

// countingListener records the connections the server accepts, beneath
// any TLS, and when they close.
type countingListener struct {
	net.Listener
	srv *mailServer
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c, srv: l.srv}
	l.srv.mu.Lock()
	l.srv.conns = append(l.srv.conns, cc)
	l.srv.mu.Unlock()
	return cc, nil
}

type countedConn struct {
	net.Conn
	srv  *mailServer
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.srv.mu.Lock()
		c.srv.connsShut++
		c.srv.mu.Unlock()
	})
	return c.Conn.Close()
}

// dropConnections closes every connection from the server's side, as a
// server does with clients idle for too long.
func (srv *mailServer) dropConnections() {
	srv.mu.Lock()
	conns := slices.Clone(srv.conns)
	srv.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (srv *mailServer) messages() []received {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]received(nil), srv.received...)
}

// withMessageID counts the accepted messages carrying Message-ID id.
func (srv *mailServer) withMessageID(t testing.TB, id string) int {
	t.Helper()
	n := 0
	for _, m := range srv.messages() {
		if parseMessage(t, m.raw).header.Get("Message-ID") == id {
			n++
		}
	}
	return n
}

// serverSession is one SMTP connection to the test server.
type serverSession struct {
	srv  *mailServer
	conn *gosmtp.Conn
	user string
	from string
	to   []string
}

var _ gosmtp.AuthSession = (*serverSession)(nil)

func (s *serverSession) AuthMechanisms() []string {
	if !s.srv.auth {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *serverSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != testUser || password != testPassword {
			return gosmtp.ErrAuthFailed // 535
		}
		s.user = username
		s.srv.mu.Lock()
		s.srv.auths++
		s.srv.mu.Unlock()
		return nil
	}), nil
}

func (s *serverSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.srv.auth && s.user == "" {
		return gosmtp.ErrAuthRequired
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.unavailable != nil {
		return s.srv.unavailable
	}
	s.from = from
	return nil
}

func (s *serverSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if err := s.srv.rejections[to]; err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

func (s *serverSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	hold := s.srv.hold
	s.srv.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-s.srv.closed:
			return errors.New("server closed")
		}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.dataRefusal != nil {
		return s.srv.dataRefusal
	}
	s.srv.received = append(s.srv.received, received{from: s.from, to: s.to, raw: raw, tls: isTLS, authUser: s.user})
	return nil
}

func (s *serverSession) Reset()        { s.from, s.to = "", nil }
func (s *serverSession) Logout() error { return nil }

// selfSignedCert returns a certificate for 127.0.0.1 (not for localhost), and
// the path of a PEM file holding it, to be used as ca_file.
func selfSignedCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "flexauth smtp test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, caFile
}

// parsedMessage is a received message taken apart the way a mail client
// would.
type parsedMessage struct {
	header mail.Header
	// rawHeader is the header block as sent, for checks on encoding.
	rawHeader string
	// parts maps each part's media type to its decoded body.
	parts map[string]string
	// order lists the parts' media types in the order sent.
	order []string
}

func parseMessage(t testing.TB, raw []byte) parsedMessage {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	p := parsedMessage{header: m.Header, rawHeader: head, parts: make(map[string]string)}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		// NextPart decodes quoted-printable, as a mail client does.
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		ct, ctParams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
		}
		if ctParams["charset"] != "utf-8" {
			t.Errorf("part %s has charset %q, want utf-8", ct, ctParams["charset"])
		}
		p.parts[ct] = string(body)
		p.order = append(p.order, ct)
	}
	return p
}
