package sdk

// Plugin kinds. A plugin process serves exactly one kind; the kind is also
// the name its plugin set is dispensed under, and which gRPC service it
// answers on (flexauth.plugins.v1.Delivery or .Identity).
const (
	KindDelivery = "delivery"
	KindIdentity = "identity"
)

// Info describes a plugin.
type Info struct {
	Name    string
	Version string
	// Channels are the channels a delivery plugin delivers ("email", "sms").
	Channels []string
	// Capabilities are the optional calls the plugin supports, for kinds
	// that have some: an identity plugin that answers Lookup lists
	// CapabilityLookup. Room for later identity capabilities (OIDC sign-in)
	// without a new plugin kind.
	Capabilities []string
	// Kind is KindDelivery or KindIdentity. The host sets it from the
	// protocol the plugin answered on, so plugins need not set it (and
	// cannot claim a kind they do not serve).
	Kind string
}
