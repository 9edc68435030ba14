package store

// organisationSchema serves the organisation tree: a branch is walked from
// parents to their children.
const organisationSchema = `
CREATE INDEX accounts_parent ON accounts (parent_id)
`
