package sdk

import (
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// ServeDelivery serves impl as a delivery plugin process and returns when
// the host ends it. It is the only call a plugin's main function needs:
//
//	func main() { sdk.ServeDelivery(myplugin.New()) }
//
// Started by hand rather than by flexauth, it prints a short notice and
// the process exits with status 1.
func ServeDelivery(impl Delivery) {
	serve(VersionedPlugins(impl))
}

// ServeIdentity serves impl as an identity plugin process and returns when
// the host ends it:
//
//	func main() { sdk.ServeIdentity(mydirectory.New()) }
//
// A process serves one kind; configure it in flexauth with
// "kind": "identity".
func ServeIdentity(impl IdentityProvider) {
	serve(VersionedIdentityPlugins(impl))
}

func serve(plugins map[int]plugin.PluginSet) {
	go exitWithHost(os.Getppid(), time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  HandshakeConfig(),
		VersionedPlugins: plugins,
		GRPCServer:       plugin.DefaultGRPCServer,
		// JSON on the real stderr is what the host parses into structured
		// log records; os.Stderr is read here, before go-plugin redirects
		// it to its stdio stream.
		Logger: hclog.New(&hclog.LoggerOptions{
			Level:      hclog.Debug,
			Output:     os.Stderr,
			JSONFormat: true,
		}),
	})
}

// exitWithHost ends the plugin process once the host that started it is
// gone. A host that exits normally stops its plugins itself; one killed
// with SIGKILL cannot, and its plugins would run on, orphaned, holding
// their files and ports. The orphan's parent changes (to init or a
// subreaper), which is what every interval looks for.
func exitWithHost(host int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != host {
			os.Exit(0)
		}
	}
}
