package store

// deletedOrganisationSchema keeps the ids of deleted organisations, so that
// none is ever used again. An organisation's audit events and attempts
// stay keyed by its id once it is deleted (its audit trail stays): an
// administrator anywhere who could create an organisation of the same id
// would read that trail, its stats and its users' attempts as their own.
// DeleteOrganisation writes the row in its transaction;
// CreateOrganisation and CreateAccount refuse an id found here as one in
// use.
//
// Organisations deleted before this table existed are found by what they
// left behind: an account id that audit events or attempts name and no
// account holds (they are written only for an account that exists). They
// were deleted at their last trace or later.
const deletedOrganisationSchema = `
CREATE TABLE deleted_organisations (
	id text PRIMARY KEY,
	deleted_at {{time}} NOT NULL
);
INSERT INTO deleted_organisations (id, deleted_at)
SELECT account_id, max(at) FROM (
	SELECT account_id, at FROM audit_events
	UNION ALL
	SELECT account_id, updated_at AS at FROM attempts
) AS traces
WHERE account_id NOT IN (SELECT id FROM accounts)
GROUP BY account_id
`
