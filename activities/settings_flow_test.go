package activities_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/admission"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/store"
)

// childUser adds sub-organisation eu under the fixture's account, with
// system vpn and user eve (email and password sign-in on) assigned to it.
func (f *fixture) childUser(t *testing.T) activities.Subject {
	t.Helper()
	ctx := context.Background()
	must(t, f.st.CreateOrganisation(ctx, "acc", &store.Account{ID: "eu", Name: "Europe", ParentID: "acc", CreatedAt: f.now}))
	sys := store.System{ID: "s-eu", AccountID: "eu", Name: "vpn", Methods: []string{"pin", "password"},
		Sensitivity: "low", TTLSeconds: 300, CreatedAt: f.now, UpdatedAt: f.now}
	must(t, f.st.CreateSystem(ctx, &sys))
	eve := store.User{ID: "u-eu", AccountID: "eu", AuthID: "eve", Email: "eve@example.com", Status: store.UserActive, CreatedAt: f.now, UpdatedAt: f.now}
	must(t, f.st.CreateUser(ctx, &eve))
	must(t, f.st.SetAssignments(ctx, eve.ID, []store.Assignment{{UserID: eve.ID, SystemID: sys.ID, Method: "pin"}}))
	_, err := f.st.DB().NewUpdate().Model((*store.User)(nil)).Set("email_password_login = ?", true).Where("id = ?", eve.ID).Exec(ctx)
	must(t, err)
	return activities.Subject{AttemptID: "att-eu", AccountID: "eu", System: "vpn", AuthID: "eve", IP: "198.51.100.7"}
}

func TestPolicyInputTakesTheTopOrganisationsSwitch(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	eve := f.childUser(t)
	resolve := func() bool {
		t.Helper()
		r, err := admission.ResolveInput(ctx, f.st, admission.InputRequest{AccountID: eve.AccountID, System: eve.System, AuthID: eve.AuthID, Time: f.now})
		must(t, err)
		if r.Refusal != "" {
			t.Fatalf("refused: %s", r.Refusal)
		}
		return r.Input.Subject.PasswordLogin
	}
	if resolve() {
		t.Fatal("password_login is true while the top organisation's switch is off")
	}
	acc, err := f.st.GetAccount(ctx, "acc")
	must(t, err)
	on := acc.Settings()
	on.EmailPasswordLogin = true
	_, err = f.st.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acc", From: acc.Settings(), To: on, At: f.now})
	must(t, err)
	if !resolve() {
		t.Fatal("password_login is false for a sub-organisation's user while the top organisation's switch is on")
	}
}

func TestBeginDecidesWithTheParentsPolicy(t *testing.T) {
	rego, err := os.ReadFile("../testdata/uploaded-policies/closed-vpn/risk.rego")
	must(t, err)
	f := newFixture(t, nil)
	// The registry the worker uses, over the fixture's store.
	f.acts = activities.New(f.st, policies.NewRegistry(f.st), f.sent, f.keys,
		activities.Config{PublicURL: "https://auth.example.com"}, func() time.Time { return f.now })
	eve := f.childUser(t)
	if res := f.begin(t, eve); !res.Allowed {
		t.Fatalf("begin = %+v, want the built-in policy's allow", res)
	}
	must(t, f.st.CreatePolicyVersion(context.Background(), &store.PolicyVersion{AccountID: "acc", Rego: string(rego), CreatedAt: f.now, CreatedBy: "test"}))
	eve.AttemptID = "att-eu-2"
	res := f.begin(t, eve)
	if res.Allowed || !slices.Contains(res.Reasons, "vpn is closed by the uploaded policy") {
		t.Fatalf("begin = %+v, want the parent's uploaded policy to deny", res)
	}
}
