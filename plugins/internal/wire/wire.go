package wire

import "github.com/hashicorp/go-plugin"

// ProtocolVersion is the plugin protocol version both ends speak, for
// every plugin kind. Bump it (and add a plugin set for the new version on
// both ends, keeping the old one) when the protocol changes incompatibly,
// so old plugins and new hosts can still agree on a version. Adding a
// service or a field is compatible.
const ProtocolVersion = 1

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

// ErrorDomain is the google.rpc.ErrorInfo domain that marks a status as
// produced by a plugin's own code, so the host can tell "the plugin said
// no" from "the connection broke" (which may mean the process died).
// Plugins in other languages may attach the same ErrorInfo; without it the
// host only waits a moment longer to check whether the process is alive.
const ErrorDomain = "plugins.flexauth"

// ErrorInfo reasons a plugin gives its errors. The status code decides
// permanence (INVALID_ARGUMENT and FAILED_PRECONDITION are permanent);
// ReasonRefused further marks a permanent sign-on refusal.
const (
	ReasonTemporary = "TEMPORARY"
	ReasonPermanent = "PERMANENT"
	ReasonRefused   = "REFUSED"
)
