package smtp

import (
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/flexauth/flexauth/plugins/plugintest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// TestConformance runs flexauth's plugin conformance kit against the built
// executable and a real SMTP server with STARTTLS and AUTH PLAIN.
func TestConformance(t *testing.T) {
	srv := startMailServer(t, serverOptions{security: serveStartTLS, auth: true})
	config := srv.config("starttls")
	plugintest.Run(t, plugintest.Target{
		Name:    "smtp",
		Command: []string{pluginBin},
		Config:  config,
		Valid:   codeRequest(""),
		Invalid: sdk.SendRequest{Channel: "email", To: "not an address", Subject: "Sign in", Code: "123456"},
		Delivered: func(t testing.TB, id string) int {
			return srv.withMessageID(t, messageID(id, "id.example.com"))
		},
		Unavailable: func(_ testing.TB, on bool) {
			var err *gosmtp.SMTPError
			if on {
				err = &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
			}
			srv.setUnavailable(err)
		},
		Slow: srv.setSlow,
	})
}
