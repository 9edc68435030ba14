package store

// messageSchema keeps the message templates and brand fields an account
// (system empty) or one of its systems (system = its name, which never
// changes) sets over the built-in ones (package messages). Deleting the
// account deletes them; DeleteSystem deletes the system's.
const messageSchema = `
CREATE TABLE message_templates (
	account_id text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	system text NOT NULL,
	message text NOT NULL,
	part text NOT NULL,
	source text NOT NULL,
	updated_at {{time}} NOT NULL,
	PRIMARY KEY (account_id, system, message, part)
)
`
