package smtp

import (
	"os"
	"testing"

	"github.com/flexauth/flexauth/plugins/plugintest"
)

// pluginBin is the flexauth-smtp executable built by TestMain, for the tests
// that run the plugin as the host does: in its own process. It is set once
// before any test runs and never written again.
var pluginBin string

func TestMain(m *testing.M) {
	os.Exit(plugintest.Main(m, map[*string]string{&pluginBin: "github.com/flexauth/flexauth/plugins/delivery/smtp/cmd/flexauth-smtp"}))
}
