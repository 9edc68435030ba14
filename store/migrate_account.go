package store

// accountSchema holds the account's own settings. email_login defaults to
// true so that existing accounts keep signing users in by email; an
// administrator turns it off (UpdateAccountSettings). A released migration:
// passwordLoginSchema renames the column email_delivery.
const accountSchema = `
ALTER TABLE accounts ADD COLUMN email_login boolean NOT NULL DEFAULT true
`
