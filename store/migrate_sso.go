package store

// ssoSchema serves sign-on through an OpenID Connect provider: the attempt
// keeps the digest of its current state parameter (the callback finds the
// attempt by it) and, sealed, the nonce, PKCE verifier and returned code;
// the user keeps the provider identity bound to it.
const ssoSchema = `
ALTER TABLE attempts ADD COLUMN sso_state_digest text;
ALTER TABLE attempts ADD COLUMN sso_sealed {{bytes}};
CREATE UNIQUE INDEX attempts_sso_state ON attempts (sso_state_digest) WHERE sso_state_digest IS NOT NULL;
ALTER TABLE users ADD COLUMN sso_issuer text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN sso_subject text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_sso_identity ON users (account_id, sso_issuer, sso_subject) WHERE sso_subject <> ''
`
