package webhook

import (
	"testing"

	"github.com/flexauth/flexauth/plugins/plugintest"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// TestConformance runs the kit against the built flexauth-webhook binary
// and a receiver that verifies every call.
func TestConformance(t *testing.T) {
	rc := newReceiver(t)
	plugintest.Run(t, plugintest.Target{
		Name:    Name,
		Command: []string{webhookBin},
		Config:  map[string]string{"url": rc.URL + "/hooks/flexauth", "secret": testSecret, "timeout": "5s"},
		Valid: sdk.SendRequest{
			Channel: "email", To: "ada@example.com", Subject: "Sign in",
			Text: "Your code is 123456", Code: "123456", Metadata: map[string]string{"account": "acme"},
		},
		Invalid:     sdk.SendRequest{Channel: "email", To: unknownRecipient, Text: "Your code is 123456", Code: "123456"},
		Delivered:   rc.Delivered,
		Unavailable: rc.Unavailable,
		Slow:        rc.Slow,
	})
	// Every call the plugin made must have verified.
	if err := rc.rejections(); err != nil {
		t.Errorf("receiver rejected calls: %v", err)
	}
}
