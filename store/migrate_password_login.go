package store

// passwordLoginSchema holds the switches and credentials of email and
// password sign-in (issue 9):
//
//   - accounts.email_login is renamed email_delivery: it always meant
//     "links and codes may go by email", while "email login" now names
//     sign-in with email and password. Values are kept.
//   - accounts.email_password_login, the organisation's switch, and
//     users.email_password_login, the per-user switch, both off.
//   - users' password (only its hash, written by the hosted welcome page)
//     and when it was set and last changed.
//   - credential_links: one-time links that let a user create or reset a
//     password or prove an email address. Only a keyed digest of the
//     token is kept; the sealed token stays while its delivery may be
//     retried, so that a retry resends the same link, and is dropped once
//     sent. dispatched_at is set when its delivery workflow has started:
//     the API retries rows left without one (an outbox).
const passwordLoginSchema = `
ALTER TABLE accounts RENAME COLUMN email_login TO email_delivery;
ALTER TABLE accounts ADD COLUMN email_password_login boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN email_password_login boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN password_hash text;
ALTER TABLE users ADD COLUMN password_set_at {{time}};
ALTER TABLE users ADD COLUMN password_changed_at {{time}};
CREATE TABLE credential_links (
	id text PRIMARY KEY,
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	purpose text NOT NULL CHECK (purpose IN ('welcome', 'reset', 'verify_email')),
	digest text UNIQUE,
	sealed {{bytes}},
	created_at {{time}} NOT NULL,
	expires_at {{time}},
	sent_at {{time}},
	used_at {{time}},
	voided_at {{time}},
	dispatched_at {{time}},
	dispatch_failures integer NOT NULL DEFAULT 0
);
CREATE INDEX credential_links_user ON credential_links (user_id, purpose);
CREATE INDEX credential_links_undispatched ON credential_links (created_at)
	WHERE dispatched_at IS NULL AND used_at IS NULL AND voided_at IS NULL
`
