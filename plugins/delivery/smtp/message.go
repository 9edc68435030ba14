package smtp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// maxSubjectBytes keeps the encoded Subject header well below SMTP's
// 998-byte line limit; a subject that long is a template mistake anyway.
const maxSubjectBytes = 400

// charset is written in lower case, as it always was: receivers compare it
// without regard to case, but tests and filters written against the old
// messages need not change.
const charset gomail.Charset = "utf-8"

// message is one email, ready to be turned into a go-mail message.
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

// build returns the message as go-mail writes it: headers, then a
// multipart/alternative body with the text part first and the HTML part
// last (clients show the last part they can render), or the text alone
// when there is no HTML. Both parts are
// quoted-printable, which keeps lines short and the body 7-bit whatever the
// server's 8BITMIME support; links survive with their characters intact.
func (m message) build() (*gomail.Msg, error) {
	if strings.ContainsAny(m.subject, "\r\n") {
		return nil, sdk.Permanent(errors.New("subject contains a line break"))
	}
	// go-mail encodes the subject the same way (Q-encoding, UTF-8); the
	// length is checked here so that an absurd template fails as a
	// request error, not as a server's line-length refusal.
	if n := len(mime.QEncoding.Encode(string(charset), m.subject)); n > maxSubjectBytes {
		return nil, sdk.Permanent(fmt.Errorf("subject is %d bytes encoded; at most %d", n, maxSubjectBytes))
	}

	// No User-Agent: the library and its version are nobody's business.
	msg := gomail.NewMsg(gomail.WithCharset(charset), gomail.WithEncoding(gomail.EncodingQP), gomail.WithNoDefaultUserAgent())
	from, to := m.from, m.to
	msg.FromMailAddress(&from)
	msg.ToMailAddress(&to)
	msg.Subject(m.subject)
	msg.SetDateWithValue(m.date)
	// go-mail adds the angle brackets.
	msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(m.messageID, "<"), ">"))
	// RFC 3834: an automatic message; auto-responders (vacation replies)
	// must not answer it.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	// Exchange ignores Auto-Submitted for some responses; this is its own
	// switch for out-of-office and delivery-report replies.
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(gomail.TypeTextPlain, m.text)
	if m.html != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.html)
	}
	return msg, nil
}
