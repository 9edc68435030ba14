package sms

import (
	"net/http"
	"testing"
	"time"

	"github.com/flexauth/flexauth/plugins/plugintest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// TestConformance runs flexauth's plugin conformance kit against the built
// plugin and the fake Twilio.
//
// Twilio's API carries no request ID, so the fake can only tell messages
// apart by what they say: each request's text quotes its ID (Stamp), and
// Delivered counts the accepted messages whose body is that text.
func TestConformance(t *testing.T) {
	f := newFakeTwilio(t)
	valid := pinRequest("", recipient)
	valid.Attempt = ""
	plugintest.Run(t, plugintest.Target{
		Name:    Name,
		Command: []string{pluginBin},
		Config:  f.config(),
		Valid:   valid,
		Invalid: sdk.SendRequest{Channel: "sms", To: "not a phone number", Text: "x", Code: testCode},
		Stamp: func(req *sdk.SendRequest, id string) {
			req.Text = testCode + " is your VPN sign-in code. Ref " + id
		},
		Delivered: func(_ testing.TB, id string) int {
			want := testCode + " is your VPN sign-in code. Ref " + id
			n := 0
			for _, m := range f.accepted() {
				if m.To == valid.To && m.Body == want {
					n++
				}
			}
			return n
		},
		Unavailable: func(_ testing.TB, on bool) {
			if on {
				f.fail(http.StatusServiceUnavailable, "", nil)
			} else {
				f.fail(0, "", nil)
			}
		},
		Slow: func(_ testing.TB, on bool) {
			if on {
				// Longer than any deadline the kit sets; the fake stops
				// waiting when the plugin gives up.
				f.slow(time.Minute)
			} else {
				f.slow(0)
			}
		},
	})
}
