package grpcclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flexauth/flexauth/plugins/internal/wire"
	"github.com/flexauth/flexauth/plugins/proto"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// VersionedPlugins returns the plugin sets a host launches plugins with:
// every kind, under its sdk.Kind name, so that one client can dispense
// whichever kind the operator configured (or, for a check, try each).
func VersionedPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		wire.ProtocolVersion: {
			sdk.KindDelivery: &deliveryPlugin{},
			sdk.KindIdentity: &identityPlugin{},
		},
	}
}

// DispenseDelivery returns the sdk.Delivery served by a started plugin
// process. Dispensing makes no call: a process of another kind is detected
// by the first call, which fails with sdk.ErrWrongKind.
func DispenseDelivery(c plugin.ClientProtocol) (sdk.Delivery, error) {
	raw, err := c.Dispense(sdk.KindDelivery)
	if err != nil {
		return nil, fmt.Errorf("dispense %s plugin: %w", sdk.KindDelivery, err)
	}
	d, ok := raw.(sdk.Delivery)
	if !ok {
		return nil, fmt.Errorf("dispense %s plugin: got %T, not a Delivery", sdk.KindDelivery, raw)
	}
	return d, nil
}

// DispenseIdentity returns the sdk.IdentityProvider served by a started
// plugin process. Dispensing makes no call: a process of another kind is
// detected by the first call, which fails with sdk.ErrWrongKind.
func DispenseIdentity(c plugin.ClientProtocol) (sdk.IdentityProvider, error) {
	raw, err := c.Dispense(sdk.KindIdentity)
	if err != nil {
		return nil, fmt.Errorf("dispense %s plugin: %w", sdk.KindIdentity, err)
	}
	p, ok := raw.(sdk.IdentityProvider)
	if !ok {
		return nil, fmt.Errorf("dispense %s plugin: got %T, not an IdentityProvider", sdk.KindIdentity, raw)
	}
	return p, nil
}

// errNotServed is what the host's plugin sets answer when asked to serve:
// serving is the SDK's end.
var errNotServed = errors.New("the host's plugin set does not serve plugins")

// deliveryPlugin dispenses a Delivery that calls the plugin over gRPC.
type deliveryPlugin struct {
	// The net/rpc protocol is not offered: gRPC lets plugins be written in
	// other languages.
	plugin.NetRPCUnsupportedPlugin
}

var _ plugin.GRPCPlugin = (*deliveryPlugin)(nil)

func (*deliveryPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return errNotServed }

// GRPCClient returns a Delivery backed by the plugin process. doneCtx is
// cancelled by go-plugin when that process exits.
func (*deliveryPlugin) GRPCClient(doneCtx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &deliveryClient{client: proto.NewDeliveryClient(c), caller: caller{kind: sdk.KindDelivery, doneCtx: doneCtx}}, nil
}

// identityPlugin dispenses an IdentityProvider (and SignOn) that calls the
// plugin over gRPC.
type identityPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

var _ plugin.GRPCPlugin = (*identityPlugin)(nil)

func (*identityPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return errNotServed }

// GRPCClient returns an IdentityProvider backed by the plugin process.
// doneCtx is cancelled by go-plugin when that process exits.
func (*identityPlugin) GRPCClient(doneCtx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &identityClient{client: proto.NewIdentityClient(c), caller: caller{kind: sdk.KindIdentity, doneCtx: doneCtx}}, nil
}
