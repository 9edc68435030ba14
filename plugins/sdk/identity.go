package sdk

import "context"

// CapabilityLookup is the capability of an identity plugin whose Lookup
// resolves users.
const CapabilityLookup = "lookup"

// LookupRequest names the user to resolve.
type LookupRequest struct {
	// Account is the flexauth account the sign-in belongs to: a directory
	// may hold different users per account.
	Account string
	// AuthID is the user's identifier as the application gave it; compared
	// exactly (case-sensitive).
	AuthID string
}

// Identity is what an identity plugin knows about a user. The other fields
// are meaningful only when Found is true; the host zeroes them otherwise.
type Identity struct {
	// Found is false when the plugin does not know the user: an answer,
	// not an error.
	Found bool
	Name  string
	Email string
	// Phone is an E.164 number, if known.
	Phone  string
	Groups []string
	// Attributes are anything else the plugin holds about the user
	// (department, location...), passed to the risk policy as is.
	Attributes map[string]string
}

// IdentityProvider is what an identity plugin implements.
//
// The host calls Configure after every launch of the plugin process, before
// any Lookup, and may call Lookup concurrently. Errors wrapped with
// Permanent are not retried; every other error is.
type IdentityProvider interface {
	// Info describes the plugin; it must work before Configure. Its
	// Capabilities list CapabilityLookup when Lookup resolves users.
	Info(ctx context.Context) (Info, error)
	// Configure applies the operator's configuration for this plugin.
	Configure(ctx context.Context, config map[string]string) error
	// Lookup resolves one user. An unknown user is Identity{Found: false}
	// and a nil error.
	Lookup(ctx context.Context, req LookupRequest) (Identity, error)
}
