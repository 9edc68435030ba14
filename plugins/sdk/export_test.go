package sdk

import (
	"log/slog"

	"github.com/hashicorp/go-plugin"
)

// The plugin sets ServeDelivery and ServeIdentity serve, for the tests
// that connect the host's end (plugins/internal/grpcclient) to them in memory.

func DeliveryPlugins(impl Delivery) map[int]plugin.PluginSet {
	return deliveryPlugins(impl, slog.New(slog.DiscardHandler))
}

func IdentityPlugins(impl IdentityProvider) map[int]plugin.PluginSet {
	return identityPlugins(impl)
}
