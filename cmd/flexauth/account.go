package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"time"

	"github.com/google/uuid"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// consoleSystem is every account's built-in system: its users are the
// account's console administrators.
const consoleSystem = "console"

// maxAccountIDLength matches what the console's sign-in accepts.
const maxAccountIDLength = 100

// runAccount manages accounts outside the admin API, which needs an
// account and a key to begin with: `flexauth account create` bootstraps a
// production deployment as `flexauth dev` does its dev account.
func runAccount(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: flexauth account create --id ID [--name NAME] [--admin AUTHID --admin-email EMAIL] [--database URL]")
	}
	fs := flag.NewFlagSet("account create", flag.ContinueOnError)
	database := fs.String("database", envOr("FLEXAUTH_DATABASE_URL", ""), "database URL or SQLite file")
	id := fs.String("id", "", "the account's ID (letters, digits, '.', '_', '-'), as applications and the console name it")
	name := fs.String("name", "", "the account's display name (default: the ID)")
	admin := fs.String("admin", "", "authid of a first console administrator to create (optional)")
	adminEmail := fs.String("admin-email", "", "the administrator's email: their sign-in link goes there")
	adminMethod := fs.String("admin-method", attempt.MethodPasswordless, "how the administrator signs in to the console: passwordless or pin")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := checkAccountFlags(*id, *admin, *adminEmail, *adminMethod); err != nil {
		return err
	}
	if *name == "" {
		*name = *id
	}
	st, err := openStore(ctx, *database)
	if err != nil {
		return err
	}
	defer st.Close()

	now := time.Now().UTC()
	err = st.CreateAccount(ctx, &store.Account{ID: *id, Name: *name, CreatedAt: now})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("account %q exists already", *id)
	}
	if err != nil {
		return fmt.Errorf("create account %s: %w", *id, err)
	}
	key, err := secret.NewAPIKey(secret.AdminKeyPrefix)
	if err != nil {
		return err
	}
	err = st.CreateAPIKey(ctx, &store.APIKey{
		ID: uuid.NewString(), AccountID: *id, Name: "initial admin key", Scope: store.ScopeAdmin,
		Hash: secret.HashAPIKey(key), CreatedAt: now,
	}, cliAudit(*id, now, "key.created", "", ""))
	if err != nil {
		return fmt.Errorf("create the account's admin key: %w", err)
	}
	var first *consoleAdmin
	if *admin != "" {
		first = &consoleAdmin{AuthID: *admin, Email: *adminEmail, Name: "Console administrator", Method: *adminMethod}
	}
	if err := ensureConsole(ctx, st, *id, first, "flexauth account create"); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "account    %s\nadmin key  %s\n           (shown once: it is stored only hashed)\n", *id, key)
	if first != nil {
		fmt.Fprintf(stdout, "console    sign in at <public URL>/console/ as account %s, user %s\n", *id, first.AuthID)
		if first.Method == attempt.MethodPasswordless {
			fmt.Fprintf(stdout, "           a sign-in link goes to %s: open it in the browser you sign in with and confirm there;\n"+
				"           that browser gets the console session, whoever started the sign-in\n", first.Email)
		} else {
			fmt.Fprintf(stdout, "           a sign-in code goes to %s: enter it on the sign-in page\n", first.Email)
		}
	}
	return nil
}

func checkAccountFlags(id, admin, email, method string) error {
	var errs []error
	switch {
	case id == "":
		errs = append(errs, errors.New("--id is required"))
	case len(id) > maxAccountIDLength:
		errs = append(errs, fmt.Errorf("--id must be at most %d characters", maxAccountIDLength))
	default:
		for _, ch := range id {
			if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-') {
				errs = append(errs, fmt.Errorf("--id %q may hold only letters, digits, '.', '_' and '-'", id))
				break
			}
		}
	}
	if admin != "" {
		if _, err := mail.ParseAddress(email); err != nil || email == "" {
			errs = append(errs, errors.New("--admin needs --admin-email, a valid address: the sign-in link is sent there"))
		}
		if method != attempt.MethodPasswordless && method != attempt.MethodPIN {
			errs = append(errs, fmt.Errorf("--admin-method must be passwordless or pin (TOTP needs an enrolment first), not %q", method))
		}
	}
	return errors.Join(errs...)
}

// consoleAdmin is a console administrator to create.
type consoleAdmin struct {
	AuthID, Email, Name, Method string
}

// ensureConsole makes sure the account has its console system and, when
// admin is set, that user assigned to it. It creates only what is missing
// (an existing user is left as it is), so it can run at every start.
func ensureConsole(ctx context.Context, st *store.Store, account string, admin *consoleAdmin, actor string) error {
	now := time.Now().UTC()
	audit := func(typ, system, authid string) store.AuditEvent {
		ev := cliAudit(account, now, typ, system, authid)
		ev.Detail["actor"] = actor
		return ev
	}
	sys, err := st.GetSystem(ctx, account, consoleSystem)
	if errors.Is(err, store.ErrNotFound) {
		sys = store.System{
			ID: uuid.NewString(), AccountID: account, Name: consoleSystem,
			Methods: []string{attempt.MethodPasswordless, attempt.MethodPIN, attempt.MethodTOTP}, Sensitivity: "medium", TTLSeconds: 600,
			CreatedAt: now, UpdatedAt: now,
		}
		err = st.CreateSystem(ctx, &sys, audit("system.created", consoleSystem, ""))
	}
	if err != nil {
		return fmt.Errorf("create the console system of %s: %w", account, err)
	}
	if admin == nil {
		return nil
	}
	if _, err := st.GetUser(ctx, account, admin.AuthID); !errors.Is(err, store.ErrNotFound) {
		if err != nil {
			return fmt.Errorf("load console administrator %s: %w", admin.AuthID, err)
		}
		return nil
	}
	u := store.User{
		ID: uuid.NewString(), AccountID: account, AuthID: admin.AuthID, Name: admin.Name,
		Email: admin.Email, Status: store.UserActive, CreatedAt: now, UpdatedAt: now,
	}
	if err := st.CreateUser(ctx, &u, audit("user.created", "", admin.AuthID)); err != nil {
		return fmt.Errorf("create console administrator %s: %w", admin.AuthID, err)
	}
	err = st.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: sys.ID, Method: admin.Method}},
		audit("assignments.updated", "", admin.AuthID))
	if err != nil {
		return fmt.Errorf("assign console administrator %s: %w", admin.AuthID, err)
	}
	return nil
}

// cliAudit is the audit event of a change made from the command line.
func cliAudit(account string, at time.Time, typ, system, authid string) store.AuditEvent {
	return store.AuditEvent{
		AccountID: account, Time: at, Type: typ, System: system, AuthID: authid,
		Detail: map[string]any{"actor": "flexauth"},
	}
}
