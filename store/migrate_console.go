package store

// consoleSchema holds the tables for console sessions and TOTP recovery codes.
// Type placeholders ({{time}}, {{bytes}}, {{json}}, {{serial}}) are
// replaced per dialect; statements are separated by ";\n".
//
// A session row is keyed by a keyed digest of its cookie, never the cookie
// itself: a leaked table opens no session. console_sign_ins remembers every
// sign-in attempt that has opened a session, so one attempt opens one
// session, even after that session is signed out.
const consoleSchema = `
CREATE TABLE console_sessions (
	id text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	authid text NOT NULL,
	attempt_id text NOT NULL,
	signed_in_at {{time}} NOT NULL,
	last_seen_at {{time}} NOT NULL,
	expires_at {{time}} NOT NULL,
	ip text NOT NULL,
	user_agent text NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE TABLE console_sign_ins (
	attempt_id text PRIMARY KEY,
	used_at {{time}} NOT NULL
);
CREATE TABLE user_recovery_codes (
	id text PRIMARY KEY,
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	sealed {{bytes}} NOT NULL,
	created_at {{time}} NOT NULL,
	used_at {{time}}
);
CREATE INDEX user_recovery_codes_user ON user_recovery_codes (user_id)
`
