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
// apart by what they say: the template quotes the attempt id (which the kit
// sets to each send's fresh ID), and Delivered counts the accepted messages
// whose body is the one that request renders to.
func TestConformance(t *testing.T) {
	f := newFakeTwilio(t)
	config := f.config()
	config["template"] = "{{.Code}} is your {{.System}} sign-in code. Ref {{.Attempt}}"
	valid := pinRequest("", recipient)
	valid.Attempt = ""
	plugintest.Run(t, plugintest.Target{
		Name:    Name,
		Command: []string{pluginBin},
		Config:  config,
		Valid:   valid,
		Invalid: sdk.SendRequest{Channel: "sms", To: "not a phone number", Code: testCode},
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
