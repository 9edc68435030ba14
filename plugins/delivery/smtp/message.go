package smtp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// maxSubjectBytes keeps the encoded Subject header well below SMTP's
// 998-byte line limit; a subject that long is a template mistake anyway.
const maxSubjectBytes = 400

// message is one email, ready to be encoded for the DATA command.
type message struct {
	from      mail.Address
	to        mail.Address
	subject   string
	text      string
	html      string
	messageID string
	date      time.Time
}

// messageID derives the Message-ID from the request ID. A retried delivery
// (the same request ID, perhaps after the first answer was lost) carries
// the same Message-ID, so receiving systems and mail clients can drop the
// duplicate. Hashing keeps the request ID itself, and any character in it
// that a msg-id may not contain, out of the header.
func messageID(requestID, domain string) string {
	sum := sha256.Sum256([]byte(requestID))
	return "<" + hex.EncodeToString(sum[:]) + "@" + domain + ">"
}

// parseRecipient checks the recipient before it reaches the RCPT command
// and the To header.
func parseRecipient(to string) (mail.Address, error) {
	if to == "" {
		return mail.Address{}, sdk.Permanent(errors.New("missing recipient"))
	}
	if strings.ContainsAny(to, "\r\n") {
		// A line break would end the header and let the rest of the
		// value write headers (Bcc:) or the body of its own.
		return mail.Address{}, sdk.Permanent(errors.New("recipient contains a line break"))
	}
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return mail.Address{}, sdk.Permanent(fmt.Errorf("recipient is not an email address: %w", err))
	}
	if !isASCII(addr.Address) {
		// Internationalized addresses need SMTPUTF8, which this plugin
		// does not speak.
		return mail.Address{}, sdk.Permanent(errors.New("recipient address is not ASCII"))
	}
	return *addr, nil
}

// encode returns the message in RFC 5322 form: headers, then a
// multipart/alternative body with the text part first and the HTML part
// last (clients show the last part they can render).
func (m message) encode() ([]byte, error) {
	if strings.ContainsAny(m.subject, "\r\n") {
		return nil, sdk.Permanent(errors.New("subject contains a line break"))
	}
	subject := encodeHeaderText(m.subject)
	if len(subject) > maxSubjectBytes {
		return nil, sdk.Permanent(fmt.Errorf("subject is %d bytes encoded; at most %d", len(subject), maxSubjectBytes))
	}

	var body bytes.Buffer
	mp := multipart.NewWriter(&body)
	for _, p := range []struct{ contentType, content string }{
		{"text/plain; charset=utf-8", m.text},
		{"text/html; charset=utf-8", m.html},
	} {
		w, err := mp.CreatePart(textproto.MIMEHeader{
			"Content-Type": {p.contentType},
			// Quoted-printable keeps lines short and the body 7-bit,
			// whatever the server's 8BITMIME support; links survive
			// with their characters intact.
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("create %s part: %w", p.contentType, err)
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(p.content)); err != nil {
			return nil, fmt.Errorf("encode %s part: %w", p.contentType, err)
		}
		if err := qp.Close(); err != nil {
			return nil, fmt.Errorf("encode %s part: %w", p.contentType, err)
		}
	}
	if err := mp.Close(); err != nil {
		return nil, fmt.Errorf("close multipart body: %w", err)
	}

	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("Date", m.date.Format(time.RFC1123Z))
	header("From", m.from.String())
	header("To", m.to.String())
	header("Subject", subject)
	header("Message-ID", m.messageID)
	header("MIME-Version", "1.0")
	// RFC 3834: an automatic message; auto-responders (vacation replies)
	// must not answer it.
	header("Auto-Submitted", "auto-generated")
	// Exchange ignores Auto-Submitted for some responses; this is its own
	// switch for out-of-office and delivery-report replies.
	header("X-Auto-Response-Suppress", "All")
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mp.Boundary()}))
	b.WriteString("\r\n")
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

// encodeHeaderText Q-encodes s when it is not plain printable ASCII, and
// folds the encoded words (at most 75 characters each) onto continuation
// lines so that a long subject does not become one long header line.
func encodeHeaderText(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	if enc == s {
		return s
	}
	// The encoder separates encoded words by single spaces; whitespace
	// between encoded words is not part of the decoded text, so a fold
	// there changes nothing for the reader.
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}
