package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"

	"github.com/flexauth/flexauth/admin"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// consoleSystem is every account's built-in system: its users are the
// account's console administrators.
const consoleSystem = admin.ConsoleSystem

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
	database := fs.String("database", "", "database URL or SQLite file (default: env FLEXAUTH_DATABASE_URL)")
	id := fs.String("id", "", "the account's ID (letters, digits, '.', '_', '-'), as applications and the console name it")
	name := fs.String("name", "", "the account's display name (default: the ID)")
	adminID := fs.String("admin", "", "authid of a first console administrator to create (optional)")
	adminEmail := fs.String("admin-email", "", "the administrator's email: their sign-in link goes there")
	adminMethod := fs.String("admin-method", attempt.MethodPasswordless, "how the administrator signs in to the console: passwordless or pin")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := checkAccountFlags(*id, *adminID, *adminEmail, *adminMethod); err != nil {
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

	var first *admin.ConsoleAdmin
	if *adminID != "" {
		first = &admin.ConsoleAdmin{AuthID: *adminID, Email: *adminEmail, Name: "Console administrator", Method: *adminMethod}
	}
	keys, err := admin.NewAccounts(st, nil).Create(ctx, admin.NewAccount{
		ID: *id, Name: *name, Keys: []admin.NewKey{{Name: "initial admin key", Scope: store.ScopeAdmin}},
		Admin: first, Actor: "flexauth account create",
	})
	if errors.Is(err, admin.ErrAccountExists) {
		return fmt.Errorf("account %q exists already", *id)
	}
	if err != nil {
		return err
	}
	key := keys[0]
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
