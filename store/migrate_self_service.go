package store

// selfServiceSchema serves the security settings users manage themselves
// (issue 9, item 6):
//
//   - users.totp_enabled_at (when the current authenticator was enrolled,
//     on every path that activates one), users.email_verified_at (when a
//     link proved the address; a changed address clears it, and so does
//     using it as a way back in) and users.two_factor_reset_at (when the
//     user's second factor was last reset, by the user, by email or by an
//     administrator). Authenticators enrolled before keep a NULL date.
//   - user_sessions: a user signed in to the hosted security settings.
//     id is a keyed digest of the cookie; authenticated_at is when the
//     sign-in proved both factors (a sensitive change needs it recent);
//     attempt_id is the sign-in that opened it, once. password_failures
//     counts wrong current passwords typed in the session.
//   - credential_links carries three things more: 'recover' links (a
//     user who lost the authenticator resets it by email from a password
//     attempt's TOTP step: attempt_id names that attempt), and 'notice'
//     rows, messages with no token that tell a user what happened to
//     their credentials (notice holds what it says, as JSON).
//
// A CHECK constraint cannot be changed in place on SQLite, so the table is
// rebuilt with its rows (nothing references it).
//
// It runs after resetSchema, which added 'notice' and the notice column:
// this rebuild keeps both and adds 'recover' and attempt_id.
const selfServiceSchema = `
ALTER TABLE users ADD COLUMN totp_enabled_at {{time}};
ALTER TABLE users ADD COLUMN email_verified_at {{time}};
ALTER TABLE users ADD COLUMN two_factor_reset_at {{time}};
CREATE TABLE user_sessions (
	id text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	attempt_id text NOT NULL UNIQUE,
	authenticated_at {{time}} NOT NULL,
	last_seen_at {{time}} NOT NULL,
	expires_at {{time}} NOT NULL,
	password_failures integer NOT NULL DEFAULT 0,
	ip text NOT NULL,
	user_agent text NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id, expires_at);
CREATE TABLE credential_links_v2 (
	id text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	purpose text NOT NULL CHECK (purpose IN ('welcome', 'reset', 'verify_email', 'notice', 'recover')),
	digest text UNIQUE,
	sealed {{bytes}},
	created_at {{time}} NOT NULL,
	expires_at {{time}},
	sent_at {{time}},
	used_at {{time}},
	voided_at {{time}},
	dispatched_at {{time}},
	dispatch_failures integer NOT NULL DEFAULT 0,
	notice {{json}},
	attempt_id text
);
INSERT INTO credential_links_v2 (id, account_id, user_id, purpose, digest, sealed, created_at, expires_at, sent_at, used_at, voided_at, dispatched_at, dispatch_failures, notice)
	SELECT id, account_id, user_id, purpose, digest, sealed, created_at, expires_at, sent_at, used_at, voided_at, dispatched_at, dispatch_failures, notice FROM credential_links;
DROP TABLE credential_links;
ALTER TABLE credential_links_v2 RENAME TO credential_links;
CREATE INDEX credential_links_user ON credential_links (user_id, purpose, created_at);
CREATE INDEX credential_links_undispatched ON credential_links (created_at)
	WHERE dispatched_at IS NULL AND used_at IS NULL AND voided_at IS NULL
`
