package store

// passwordAttemptSchema serves sign-in by password on the pages flexauth
// hosts (issue 9):
//
//   - attempts.page_digest finds a password or sso attempt from the URL
//     that start answered (only a keyed digest of its token is kept);
//     attempts.step is where a password attempt stands (password, totp,
//     enrol) and attempts.browser_digest binds its later steps to the
//     browser that gave the right password.
//   - attempt_secrets holds, sealed with the attempt ID, what a step must
//     pass to the workflow's activities without it entering workflow
//     history: a submitted password until it is checked, new recovery
//     codes until they are shown once. Each row is deleted when used.
//   - systems.return_url is where the hosted pages send the user when done.
const passwordAttemptSchema = `
ALTER TABLE attempts ADD COLUMN page_digest text;
ALTER TABLE attempts ADD COLUMN step text NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN browser_digest text;
CREATE UNIQUE INDEX attempts_page_digest ON attempts (page_digest) WHERE page_digest IS NOT NULL;
CREATE TABLE attempt_secrets (
	attempt_id text NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
	secret_key text NOT NULL,
	sealed {{bytes}} NOT NULL,
	created_at {{time}} NOT NULL,
	PRIMARY KEY (attempt_id, secret_key)
);
ALTER TABLE systems ADD COLUMN return_url text NOT NULL DEFAULT ''
`
