package webhook

import (
	"os"
	"testing"

	"github.com/flexauth/flexauth/plugins/plugintest"
)

// webhookBin is the flexauth-webhook executable built by TestMain. It is
// set once before any test runs and never written again.
var webhookBin string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, map[*string]string{&webhookBin: "github.com/flexauth/flexauth/plugins/delivery/webhook/cmd/flexauth-webhook"}))
}
