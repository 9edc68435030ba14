// Package oidc is an identity plugin that signs users on through an OpenID
// Connect provider (Microsoft Entra ID, Google, Okta, Keycloak... any
// provider with discovery): capability sdk.CapabilitySignOn ("oidc").
//
// Configuration:
//
//	issuer          the provider's issuer URL; https, or http on a loopback
//	                address only (tests, local providers)
//	tenant          Entra ID only, instead of issuer: the tenant ID or
//	                domain; the issuer becomes
//	                https://login.microsoftonline.com/<tenant ID>/v2.0
//	authority       Entra ID only: the authority host of a national cloud
//	                (https://login.microsoftonline.us); default
//	                https://login.microsoftonline.com
//	verified_domains Entra ID only: comma-separated domains verified in the
//	                tenant (Entra admin center, Custom domain names): a
//	                member's email, preferred_username or upn there is
//	                vouched for
//	graph_url       Entra ID only: Microsoft Graph's endpoint, where the
//	                user's position and phone are read at each sign-in
//	                (GET /v1.0/me); default https://graph.microsoft.com,
//	                a national cloud's own (https://graph.microsoft.us),
//	                or "off"
//	client_id       the client (application) ID registered with the provider
//	client_secret   its secret (never logged)
//	scopes          space- or comma-separated; default "openid email profile"
//	                (and "User.Read" for Entra ID unless graph_url is off)
//	allowed_domains optional comma-separated email domains: a sign-in whose
//	                email is in none of them is refused (sdk.Refused)
//
// Claims.EmailVerified says the provider vouches for Claims.Email, and
// Claims.EmailProof how: for a generic provider its email_verified claim;
// for Entra ID (which sends no email_verified) see entra.go: the token's
// tid must be the tenant's, the subject is the object ID (oid), and the
// email is vouched for by a verified domain (members only) or by the
// xms_edov claim.
//
// Configure discovers the provider (/.well-known/openid-configuration): an
// unreachable or failing provider is a temporary error, a bad configuration
// (or an issuer that is not an OIDC provider) a permanent one.
//
// Authorize builds the authorization-code URL (state, nonce, PKCE S256
// challenge, optional login_hint). Exchange redeems the code with the PKCE
// verifier and verifies the ID token: signature against the provider's
// JWKS, issuer, audience (client_id), expiry and nonce. A refused token or
// code is permanent; a genuine token for someone allowed_domains does not
// admit is a refusal (sdk.Refused, permanent too); a provider that fails
// (5xx, unreachable) is temporary.
//
// For Entra ID, Exchange then reads the user's job title and phone from
// Microsoft Graph with the access token the sign-in was granted (delegated
// permission User.Read) and returns them in Claims.Position and
// Claims.Phone with Claims.ProfileRead set; Graph failing, slow (5 s) or
// refusing is logged (never the token) and leaves ProfileRead false: the
// sign-in goes on. Claims.Provider names the provider kind: "entra" for a
// tenant, "google" for the issuer https://accounts.google.com.
//
// The plugin lists no users: Lookup answers "not found" for everyone.
// Codes, tokens and the client secret are never logged nor put in errors.
package oidc
