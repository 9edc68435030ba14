package store

// resetSchema lets the credential link outbox carry security notices as
// well as links (issue 9, password reset):
//
//   - purpose 'notice': a message that tells a user what happened to their
//     credentials ("your password was changed"), delivered like a link but
//     with no token: digest, sealed and expires_at stay NULL.
//   - notice: what the notice says (its kind, when, from which address), as
//     JSON; NULL for links.
//
// A CHECK constraint cannot be changed in place on SQLite, so the table is
// rebuilt with its rows (nothing references it).
const resetSchema = `
CREATE TABLE credential_links_v2 (
	id text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	purpose text NOT NULL CHECK (purpose IN ('welcome', 'reset', 'verify_email', 'notice')),
	digest text UNIQUE,
	sealed {{bytes}},
	created_at {{time}} NOT NULL,
	expires_at {{time}},
	sent_at {{time}},
	used_at {{time}},
	voided_at {{time}},
	dispatched_at {{time}},
	dispatch_failures integer NOT NULL DEFAULT 0,
	notice {{json}}
);
INSERT INTO credential_links_v2 (id, account_id, user_id, purpose, digest, sealed, created_at, expires_at, sent_at, used_at, voided_at, dispatched_at, dispatch_failures)
	SELECT id, account_id, user_id, purpose, digest, sealed, created_at, expires_at, sent_at, used_at, voided_at, dispatched_at, dispatch_failures FROM credential_links;
DROP TABLE credential_links;
ALTER TABLE credential_links_v2 RENAME TO credential_links;
CREATE INDEX credential_links_user ON credential_links (user_id, purpose, created_at);
CREATE INDEX credential_links_undispatched ON credential_links (created_at)
	WHERE dispatched_at IS NULL AND used_at IS NULL AND voided_at IS NULL
`
