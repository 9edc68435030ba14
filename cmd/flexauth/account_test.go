package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

var adminKeyRE = regexp.MustCompile(`admin key  (fa_admin_\S+)`)

func TestAccountCreateBootstrapsAnAccount(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "flexauth.db")
	var out bytes.Buffer
	err := run(ctx, []string{"account", "create", "--database", db, "--id", "acme", "--name", "Acme Corp",
		"--admin", "root", "--admin-email", "root@acme.example"}, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	m := adminKeyRE.FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "as account acme, user root") ||
		!strings.Contains(out.String(), "a sign-in link goes to root@acme.example: open it in the browser you sign in with and confirm there") {
		t.Fatalf("output = %q", out.String())
	}

	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if acc, err := st.GetAccount(ctx, "acme"); err != nil || acc.Name != "Acme Corp" || !acc.EmailDelivery {
		t.Fatalf("account = %+v, %v", acc, err)
	}
	key, err := st.APIKeyByHash(ctx, secret.HashAPIKey(m[1]))
	if err != nil || key.AccountID != "acme" || key.Scope != store.ScopeAdmin {
		t.Fatalf("printed key = %+v, %v; want acme's admin key", key, err)
	}
	root, err := st.GetUser(ctx, "acme", "root")
	if err != nil || root.Email != "root@acme.example" || root.Status != store.UserActive {
		t.Fatalf("root = %+v, %v", root, err)
	}
	if _, err := st.ConsoleUser(ctx, root.ID, consoleSystem); err != nil {
		t.Fatalf("root is not a console administrator: %v", err)
	}
	if as, _ := st.ListAssignments(ctx, root.ID); len(as) != 1 || as[0].Method != "passwordless" {
		t.Fatalf("root's assignments = %+v", as)
	}
	events, err := st.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Limit: 10})
	if err != nil || len(events) != 4 {
		t.Fatalf("audit = %+v, %v; want key, system, user and assignment events", events, err)
	}

	// Refusals change nothing.
	refused := []struct {
		args []string
		want string
	}{
		{[]string{"--id", "acme"}, "exists already"},
		{[]string{}, "--id is required"},
		{[]string{"--id", "a b"}, "may hold only"},
		{[]string{"--id", "beta", "--admin", "root"}, "--admin-email"},
		{[]string{"--id", "beta", "--admin", "root", "--admin-email", "root@beta.example", "--admin-method", "totp"}, "passwordless or pin"},
	}
	for _, r := range refused {
		err := run(ctx, append([]string{"account", "create", "--database", db}, r.args...), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("account create %v: err = %v, want %q", r.args, err, r.want)
		}
	}
	if _, err := st.GetAccount(ctx, "beta"); err == nil {
		t.Fatal("a refused create made account beta")
	}

	// Without --admin: the account, its key and its console system.
	out.Reset()
	if err := run(ctx, []string{"account", "create", "--database", db, "--id", "beta"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSystem(ctx, "beta", consoleSystem); err != nil || strings.Contains(out.String(), "console ") {
		t.Fatalf("beta: console system err %v, output %q", err, out.String())
	}
}
