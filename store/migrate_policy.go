package store

// policySchema holds the tables for per-account policy versions.
// Type placeholders ({{time}}, {{bytes}}, {{json}}, {{serial}}) are
// replaced per dialect; statements are separated by ";\n".
//
// policy_versions keeps every uploaded version, so that a rollback can
// re-activate any of them; account_policies says which one is active (no
// row, or version 0, is the built-in default policy, which is not stored).
const policySchema = `
CREATE TABLE policy_versions (
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	version integer NOT NULL,
	rego text NOT NULL,
	tests text NOT NULL,
	created_at {{time}} NOT NULL,
	created_by text NOT NULL,
	PRIMARY KEY (account_id, version)
);
CREATE TABLE account_policies (
	account_id text PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	active_version integer NOT NULL,
	updated_at {{time}} NOT NULL
)
`
