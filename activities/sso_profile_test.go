package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/store"
)

// signOnPlugins is a sign-on plugin that answers every code with claims.
type signOnPlugins struct {
	recorder
	claims sdk.Claims
}

func (p *signOnPlugins) Exchange(context.Context, string, sdk.ExchangeRequest) (sdk.Claims, error) {
	return p.claims, nil
}

// A valid sign-on stores the provider kind and the directory profile on
// the user; one whose plugin could not read the directory keeps them.
func TestSignOnRecordsTheDirectoryProfile(t *testing.T) {
	ctx := context.Background()
	f := newFixtureWith(t, nil, activities.Config{SignOn: "idp"})
	plugins := &signOnPlugins{claims: sdk.Claims{
		Issuer: "https://login.microsoftonline.com/t1/v2.0", Subject: "oid-1", Email: "alice@example.com",
		EmailVerified: true, EmailProof: sdk.EmailProofVerifiedDomain,
		Provider: sdk.ProviderEntra, ProfileRead: true, Position: "Marketing Manager", Phone: "+1 412 555 0109",
	}}
	acts := activities.New(f.st, nil, plugins, f.keys, activities.Config{PublicURL: "https://auth.example.com", SignOn: "idp"},
		func() time.Time { return f.now })

	signOn := func(id string) activities.SignOnResult {
		t.Helper()
		a := store.Attempt{ID: id, AccountID: "acc", System: "vpn", AuthID: "alice", WorkflowID: "wf-" + id, RunID: "r",
			State: store.AttemptPending, Method: "sso", IP: "198.51.100.7", UserAgent: "test", StartedAt: f.now, UpdatedAt: f.now}
		_, err := f.st.InsertAttempt(ctx, &a)
		must(t, err)
		sealed, err := attempt.SealSSO(f.keys, id, attempt.SSOSession{Plugin: "idp", Nonce: "n", Verifier: "v", Code: "code"})
		must(t, err)
		ok, err := f.st.SetSSOAuthorization(ctx, id, "digest-"+id, sealed)
		must(t, err)
		if !ok {
			t.Fatal("attempt not pending")
		}
		in := f.input
		in.AttemptID = id
		res, err := acts.ExchangeSSO(ctx, activities.SSOInput{Subject: in, UserID: f.user.ID})
		must(t, err)
		return res
	}
	profile := func() string {
		t.Helper()
		u, err := f.st.UserByID(ctx, f.user.ID)
		must(t, err)
		at := "never"
		if u.SSOProfileAt != nil {
			at = u.SSOProfileAt.UTC().Format(time.RFC3339)
		}
		return u.SSOProvider + "|" + u.SSOPosition + "|" + u.SSOPhone + "|" + at
	}

	if res := signOn("att-1"); !res.Valid {
		t.Fatalf("first sign-on = %+v, want valid", res)
	}
	want := "entra|Marketing Manager|+1 412 555 0109|" + f.now.Format(time.RFC3339)
	if got := profile(); got != want {
		t.Fatalf("profile after the first sign-on = %s, want %s", got, want)
	}

	// Graph was down at the next sign-on: it still signs in, and what was
	// read before stays.
	plugins.claims.ProfileRead, plugins.claims.Position, plugins.claims.Phone = false, "", ""
	f.now = f.now.Add(time.Hour)
	if res := signOn("att-2"); !res.Valid {
		t.Fatalf("second sign-on = %+v, want valid", res)
	}
	if got := profile(); got != want {
		t.Fatalf("profile after a sign-on without it = %s, want %s", got, want)
	}

	// Another identity is refused and records nothing.
	plugins.claims.Subject, plugins.claims.ProfileRead, plugins.claims.Position = "oid-2", true, "Intruder"
	if res := signOn("att-3"); res.Valid {
		t.Fatalf("another identity = %+v, want refused", res)
	}
	if got := profile(); got != want {
		t.Fatalf("profile after a refused sign-on = %s, want %s", got, want)
	}
}
