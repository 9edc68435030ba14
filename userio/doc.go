// Package userio reads and writes an account's users as a spreadsheet, CSV
// or XLSX, for the admin console's export and import. One row is one user:
// authid, name, email, phone, status, systems ("vpn:pin;mail:totp"), the
// email login switch and the user's organisation (empty: the one imported
// into).
//
// It owns the file format, the checks on every field (shared with the admin
// and app APIs), the defusing of cells a spreadsheet program would run as
// formulas (EscapeCell, shared with the audit trail's CSV export) and the
// comparison of a file with an organisation's current users (Diff). It does
// no I/O beyond the reader and writer it is given and knows nothing of the
// store: which organisations a file may name, keeping a console
// administrator, and applying an import in one transaction are the
// caller's (admin.Importer).
package userio
