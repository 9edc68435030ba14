package sdk

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flexauth/flexauth/plugins/internal/wire"
	"github.com/flexauth/flexauth/plugins/proto"
)

// ServeDelivery serves impl as a delivery plugin process and returns when
// the host ends it. It is the only call a plugin's main function needs:
//
//	func main() { sdk.ServeDelivery(myplugin.New()) }
//
// It sends each SendRequest.ID once (see Delivery). Started by hand rather
// than by flexauth, it prints a short notice and the process exits with
// status 1.
func ServeDelivery(impl Delivery) {
	serve(deliveryPlugins(impl, Logger()))
}

// ServeIdentity serves impl as an identity plugin process and returns when
// the host ends it:
//
//	func main() { sdk.ServeIdentity(mydirectory.New()) }
//
// A process serves one kind; configure it in flexauth with
// "kind": "identity".
func ServeIdentity(impl IdentityProvider) {
	serve(identityPlugins(impl))
}

func serve(plugins map[int]plugin.PluginSet) {
	go exitWithHost(os.Getppid(), time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  wire.HandshakeConfig(),
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

// deliveryPlugins returns the plugin sets per protocol version of a
// delivery plugin process serving impl; logger records the repeats its
// ledger answers. Add a set here when wire.ProtocolVersion moves on,
// keeping the old one.
func deliveryPlugins(impl Delivery, logger *slog.Logger) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		wire.ProtocolVersion: {KindDelivery: &deliveryPlugin{impl: impl, logger: logger}},
	}
}

// identityPlugins returns the plugin sets per protocol version of an
// identity plugin process serving impl. A process serves one kind, so the
// set holds only the identity plugin: a host dispensing it as delivery gets
// ErrWrongKind on its first call.
func identityPlugins(impl IdentityProvider) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		wire.ProtocolVersion: {KindIdentity: &identityPlugin{impl: impl}},
	}
}

// errServeOnly is what the plugin's sets answer when asked for a client:
// the host's end is plugins/internal/grpcclient.
var errServeOnly = errors.New("a plugin's plugin set only serves")

// deliveryPlugin serves a Delivery over gRPC in the plugin process.
type deliveryPlugin struct {
	// The net/rpc protocol is not offered: gRPC lets plugins be written in
	// other languages.
	plugin.NetRPCUnsupportedPlugin

	impl   Delivery
	logger *slog.Logger
}

var _ plugin.GRPCPlugin = (*deliveryPlugin)(nil)

// GRPCServer registers impl on the plugin's gRPC server, behind the
// process's ledger. go-plugin calls it once per process.
func (p *deliveryPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.impl == nil {
		return errors.New("serve delivery plugin: no implementation")
	}
	proto.RegisterDeliveryServer(s, &deliveryServer{impl: p.impl, sent: newLedger(ledgerCapacity, p.logger)})
	return nil
}

func (*deliveryPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errServeOnly
}

// identityPlugin serves an IdentityProvider over gRPC in the plugin
// process.
type identityPlugin struct {
	plugin.NetRPCUnsupportedPlugin

	impl IdentityProvider
}

var _ plugin.GRPCPlugin = (*identityPlugin)(nil)

// GRPCServer registers impl on the plugin's gRPC server.
func (p *identityPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.impl == nil {
		return errors.New("serve identity plugin: no implementation")
	}
	proto.RegisterIdentityServer(s, &identityServer{impl: p.impl})
	return nil
}

func (*identityPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errServeOnly
}
