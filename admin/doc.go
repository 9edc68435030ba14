// Package admin holds the administration rules that the admin API, the
// console and the command line share, so that none of them lives in an
// HTTP handler or is written twice:
//
//   - an account keeps an active console administrator (ConsoleAdmins, and
//     KeepConsoleAdmins for an import). The store enforces it inside every
//     write transaction that can take one away (store.ErrLastConsoleAdmin);
//     the checks here answer first, in the caller's words, and name the
//     user or the file's row;
//   - what a change of a user means for email and password sign-in
//     (PasswordLoginPlan: the welcome link to send, the links to void);
//   - a users file's import: compare each row with the organisation it
//     names, plan the store's changes and their audit events, apply them in
//     one transaction (Importer);
//   - setting up an account outside the admin API, as `flexauth account
//     create` and `flexauth dev` do (Accounts).
//
// It must not know HTTP: callers decode requests, map its errors to status
// codes and say who acts (EventFunc builds the audit events). It reaches
// the database only through the small store interfaces each file declares.
package admin
