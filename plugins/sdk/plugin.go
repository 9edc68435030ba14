package sdk

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/flexauth/flexauth/plugins/proto"
)

// ProtocolVersion is the plugin protocol version this SDK speaks, for every
// plugin kind. Bump it (and add a plugin set in VersionedPlugins,
// VersionedIdentityPlugins and VersionedHostPlugins, keeping the old one)
// when the protocol changes incompatibly, so old plugins and new hosts can
// still agree on a version. Adding a service or a field is compatible.
const ProtocolVersion = 1

// DeliveryPluginName and IdentityPluginName are the names the plugin kinds
// are dispensed under within a plugin process (see KindDelivery).
const (
	DeliveryPluginName = "delivery"
	IdentityPluginName = "identity"
)

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

// VersionedPlugins returns the plugin sets per protocol version of a
// delivery plugin process, serving impl. The host consumes with
// VersionedHostPlugins instead, which can dispense every kind;
// VersionedPlugins(nil) is a host set for delivery plugins only.
func VersionedPlugins(impl Delivery) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {DeliveryPluginName: &GRPCDeliveryPlugin{Impl: impl}},
	}
}

// VersionedIdentityPlugins returns the plugin sets per protocol version of
// an identity plugin process, serving impl. A process serves one kind, so
// the set holds only the identity plugin: a host dispensing it as delivery
// gets ErrWrongKind on its first call.
func VersionedIdentityPlugins(impl IdentityProvider) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {IdentityPluginName: &GRPCIdentityPlugin{Impl: impl}},
	}
}

// VersionedHostPlugins returns the plugin sets the host consumes: every
// kind, so that one client can dispense whichever kind the operator
// configured (or, for a check, try each).
func VersionedHostPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {
			DeliveryPluginName: &GRPCDeliveryPlugin{},
			IdentityPluginName: &GRPCIdentityPlugin{},
		},
	}
}

// DispenseDelivery returns the Delivery served by a started plugin process.
// Dispensing makes no call: a process of another kind is detected by the
// first call, which fails with ErrWrongKind.
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

// DispenseIdentity returns the IdentityProvider served by a started plugin
// process. Dispensing makes no call: a process of another kind is detected
// by the first call, which fails with ErrWrongKind.
func DispenseIdentity(c plugin.ClientProtocol) (IdentityProvider, error) {
	raw, err := c.Dispense(IdentityPluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense %s plugin: %w", IdentityPluginName, err)
	}
	p, ok := raw.(IdentityProvider)
	if !ok {
		return nil, fmt.Errorf("dispense %s plugin: got %T, not an IdentityProvider", IdentityPluginName, raw)
	}
	return p, nil
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
	proto.RegisterDeliveryServer(s, &gRPCServer{impl: p.Impl, sent: newLedger(ledgerCapacity, Logger())})
	return nil
}

// GRPCClient returns a Delivery backed by the plugin process. doneCtx is
// cancelled by go-plugin when that process exits.
func (p *GRPCDeliveryPlugin) GRPCClient(doneCtx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &gRPCClient{client: proto.NewDeliveryClient(c), caller: caller{kind: KindDelivery, doneCtx: doneCtx}}, nil
}

// GRPCIdentityPlugin is the go-plugin adapter for IdentityProvider: on the
// plugin side it serves Impl over gRPC, on the host side it returns an
// IdentityProvider that calls the plugin over gRPC.
type GRPCIdentityPlugin struct {
	plugin.NetRPCUnsupportedPlugin

	// Impl is the real implementation; set only in the plugin process.
	Impl IdentityProvider
}

var _ plugin.GRPCPlugin = (*GRPCIdentityPlugin)(nil)

// GRPCServer registers Impl on the plugin's gRPC server.
func (p *GRPCIdentityPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("serve identity plugin: no implementation")
	}
	proto.RegisterIdentityServer(s, &identityServer{impl: p.Impl})
	return nil
}

// GRPCClient returns an IdentityProvider backed by the plugin process.
// doneCtx is cancelled by go-plugin when that process exits.
func (p *GRPCIdentityPlugin) GRPCClient(doneCtx context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &identityClient{client: proto.NewIdentityClient(c), caller: caller{kind: KindIdentity, doneCtx: doneCtx}}, nil
}
