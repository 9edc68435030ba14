// Package userio reads and writes an account's users as a spreadsheet, CSV
// or XLSX, for the admin console's export and import. One row is one user:
// authid, name, email, phone, status and systems ("vpn:pin;mail:totp").
//
// It owns the file format, the checks on every field (shared with the admin
// and app APIs), the defusing of cells a spreadsheet program would run as
// formulas (EscapeCell, shared with the audit trail's CSV export) and the
// comparison of a file with the account's current users (Diff). It does no I/O beyond the reader and writer it is
// given and knows nothing of the store: applying an import is the caller's
// job, in one transaction.
package userio
