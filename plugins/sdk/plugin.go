package sdk

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flexauth/flexauth/plugins/proto"
)

// ProtocolVersion is the delivery protocol version this SDK speaks. Bump it
// (and add a plugin set in VersionedPlugins, keeping the old one) when the
// protocol changes incompatibly, so old plugins and new hosts can still
// agree on a version.
const ProtocolVersion = 1

// DeliveryPluginName is the name the delivery plugin is dispensed under
// within a plugin process.
const DeliveryPluginName = "delivery"

// HandshakeConfig is shared by host and plugin. The magic cookie is not a
// secret: it only stops a plugin binary from doing anything when a person
// runs it by hand.
func HandshakeConfig() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		// With VersionedPlugins, go-plugin negotiates the version from the
		// plugin sets; this is the fallback for a plugin that announces none.
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "FLEXAUTH_PLUGIN",
		MagicCookieValue: "6f1c3b5e9a7d4e02b8c1f0a4d3e29b7c",
	}
}

// VersionedPlugins returns the plugin sets per protocol version. The plugin
// process passes its implementation; the host passes nil (it only consumes).
func VersionedPlugins(impl Delivery) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {DeliveryPluginName: &GRPCDeliveryPlugin{Impl: impl}},
	}
}

// DispenseDelivery returns the Delivery served by a started plugin process.
func DispenseDelivery(c plugin.ClientProtocol) (Delivery, error) {
	raw, err := c.Dispense(DeliveryPluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense %s plugin: %w", DeliveryPluginName, err)
	}
	d, ok := raw.(Delivery)
	if !ok {
		return nil, fmt.Errorf("dispense %s plugin: got %T, not a Delivery", DeliveryPluginName, raw)
	}
	return d, nil
}

// GRPCDeliveryPlugin is the go-plugin adapter for Delivery: on the plugin
// side it serves Impl over gRPC, on the host side it returns a Delivery that
// calls the plugin over gRPC.
type GRPCDeliveryPlugin struct {
	// The net/rpc protocol is not offered: gRPC lets plugins be written in
	// other languages.
	plugin.NetRPCUnsupportedPlugin

	// Impl is the real implementation; set only in the plugin process.
	Impl Delivery
}

var _ plugin.GRPCPlugin = (*GRPCDeliveryPlugin)(nil)

// GRPCServer registers Impl on the plugin's gRPC server.
func (p *GRPCDeliveryPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("serve delivery plugin: no implementation")
	}
	proto.RegisterDeliveryServer(s, &gRPCServer{impl: p.Impl})
	return nil
}

// GRPCClient returns a Delivery backed by the plugin process. doneCtx is
// cancelled by go-plugin when that process exits.
func (p *GRPCDeliveryPlugin) GRPCClient(doneCtx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &gRPCClient{client: proto.NewDeliveryClient(c), doneCtx: doneCtx}, nil
}
