package sdk

import "context"

// CapabilityLookup is the capability of an identity plugin whose Lookup
// resolves users.
const CapabilityLookup = "lookup"

// CapabilitySignOn is the capability of an identity plugin that signs users
// on through OpenID Connect: it implements SignOn as well.
const CapabilitySignOn = "oidc"

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
	// Capabilities list CapabilityLookup when Lookup resolves users, and
	// CapabilitySignOn when the plugin implements SignOn too.
	Info(ctx context.Context) (Info, error)
	// Configure applies the operator's configuration for this plugin.
	Configure(ctx context.Context, req ConfigureRequest) error
	// Lookup resolves one user. An unknown user is Identity{Found: false}
	// and a nil error.
	Lookup(ctx context.Context, req LookupRequest) (Identity, error)
}

// SignOn is what an identity plugin with CapabilitySignOn implements besides
// IdentityProvider: the two halves of an OpenID Connect authorization-code
// sign-in with PKCE. The caller (flexauth) keeps the state, nonce and code
// verifier between the two calls and checks the state itself.
//
// Served by a plugin whose IdentityProvider does not implement SignOn, both
// calls fail on the host with a permanent error.
type SignOn interface {
	// Authorize returns the provider's authorization URL for req.
	Authorize(ctx context.Context, req AuthorizeRequest) (AuthorizeResponse, error)
	// Exchange redeems the code the provider redirected back with and
	// returns the verified ID token's claims. A token that fails
	// verification (signature, issuer, audience, expiry, nonce) is a
	// Permanent error; a genuine token for someone the plugin does not
	// admit (an email domain not allowed) is a Refused one.
	Exchange(ctx context.Context, req ExchangeRequest) (Claims, error)
}

// AuthorizeRequest starts a sign-in.
type AuthorizeRequest struct {
	// Account is the flexauth account the sign-in belongs to.
	Account string
	// AuthID is the user's identifier as the application gave it, if known.
	AuthID string
	// State is returned by the provider with the code; the caller checks
	// it.
	State string
	// Nonce must come back in the ID token; pass it to Exchange too.
	Nonce string
	// CodeChallenge is the PKCE S256 challenge:
	// BASE64URL(SHA-256(verifier)), unpadded.
	CodeChallenge string
	// RedirectURI is where the provider sends the browser back.
	RedirectURI string
	// LoginHint, optional, pre-fills the provider's sign-in page.
	LoginHint string
}

// AuthorizeResponse is where to send the user's browser.
type AuthorizeResponse struct {
	URL string
}

// ExchangeRequest ends a sign-in. Code and CodeVerifier are secrets: never
// log them.
type ExchangeRequest struct {
	Code         string
	CodeVerifier string
	// Nonce is the one given to Authorize.
	Nonce string
	// RedirectURI is the one given to Authorize.
	RedirectURI string
}

// Claims is who signed in, from a verified ID token.
type Claims struct {
	// Subject is the provider's stable identifier for the user, unique
	// per Issuer: the "sub" claim, or what the plugin documents instead
	// (the oidc plugin gives Entra ID's object ID, "oid").
	Subject string
	Issuer  string
	Email   string
	// EmailVerified is true when the provider vouches that Email is the
	// user's; EmailProof says how. flexauth binds a first sign-on to a user
	// only on such an email.
	EmailVerified bool
	// EmailProof is one of the EmailProof constants when EmailVerified is
	// true; empty means EmailProofClaim.
	EmailProof string
	Name       string
	// Extra holds the token's other claims (tid, oid, hd...): strings as
	// they are, other values as JSON.
	Extra map[string]string

	// Provider is the kind of provider the plugin is configured for: one
	// of the Provider constants, or "" for any other. flexauth shows it to
	// administrators; it decides nothing.
	Provider string
	// ProfileRead is true when the plugin read the user's profile from the
	// provider's directory at this sign-on (the oidc plugin: Microsoft
	// Graph /me for Entra ID); Position and Phone are then current, ""
	// meaning the directory has none. False when it did not or could not:
	// flexauth then keeps what it knew. A directory that fails must not
	// fail the sign-in: leave ProfileRead false instead.
	ProfileRead bool
	// Position is the user's job title in the directory.
	Position string
	// Phone is the user's phone in the directory (the mobile phone, or
	// else the first business phone), as the directory writes it.
	Phone string
}

// Kinds of provider (Claims.Provider).
const (
	ProviderEntra  = "entra"
	ProviderGoogle = "google"
)

// How a provider vouches for a user's email (Claims.EmailProof).
const (
	// EmailProofClaim: the ID token's email_verified claim is true.
	EmailProofClaim = "email_verified"
	// EmailProofVerifiedDomain: Entra ID, a member of the configured tenant
	// whose address is in one of the tenant's verified domains.
	EmailProofVerifiedDomain = "verified_domain"
	// EmailProofDomainOwner: Entra ID, the token's xms_edov claim (email
	// domain owner verified) is true.
	EmailProofDomainOwner = "xms_edov"
)
