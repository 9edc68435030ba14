package store

// signInMethodsSchema serves the administrator's view of how a user signs
// in (issue 9, item 9):
//
//   - users.sso_provider is the kind of provider ("entra", "google") the
//     sign-on plugin reported at the user's last single sign-on; "" until
//     then, or for another provider.
//   - users.sso_position and users.sso_phone are the user's job title and
//     phone in the provider's directory (Entra ID: Microsoft Graph /me),
//     refreshed at each sign-on that read them; sso_profile_at says when.
//     They belong to the bound identity: unbinding or replacing it clears
//     them.
//   - attempts_user_logins answers LoginsByMethod (per method: count, last
//     sign-in and its address) from the index alone: only authenticated
//     attempts are in it, so it grows with sign-ins, not with attempts.
const signInMethodsSchema = `
ALTER TABLE users ADD COLUMN sso_provider text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN sso_position text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN sso_phone text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN sso_profile_at {{time}};
CREATE INDEX attempts_user_logins ON attempts (account_id, authid, method, completed_at DESC, ip)
	WHERE state = 'authenticated'
`
