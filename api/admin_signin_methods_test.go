package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/store"
)

// GET /v1/admin/users/{authid}/sign-in-methods: one way per method, with
// the sign-ins of the user's authenticated attempts.

// signInMethods is the answer (SignInMethods in openapi.json), decoded
// strictly with its times parsed.
type signInMethods struct {
	AuthID        string      `json:"authid"`
	NeverSignedIn bool        `json:"never_signed_in"`
	Ways          []signInWay `json:"ways"`
}

type signInWay struct {
	Kind      string     `json:"kind"`
	Method    string     `json:"method"`
	Systems   []string   `json:"systems"`
	Count     int        `json:"count"`
	LastLogin *time.Time `json:"last_login"`
	LastIP    string     `json:"last_ip"`
	SSO       *struct {
		Bound         bool       `json:"bound"`
		Issuer        string     `json:"issuer"`
		Position      *string    `json:"position"`
		Phone         *string    `json:"phone"`
		ProfileReadAt *time.Time `json:"profile_read_at"`
	} `json:"sso"`
	Security *struct {
		EmailPasswordLogin       bool       `json:"email_password_login"`
		PasswordSetAt            *time.Time `json:"password_set_at"`
		PasswordChangedAt        *time.Time `json:"password_changed_at"`
		TOTPEnabled              bool       `json:"totp_enabled"`
		TOTPPending              bool       `json:"totp_pending"`
		TOTPEnrolledAt           *time.Time `json:"totp_enrolled_at"`
		TwoFactorResetAt         *time.Time `json:"two_factor_reset_at"`
		RecoveryCodesLeft        int        `json:"recovery_codes_left"`
		RecoveryCodesGeneratedAt *time.Time `json:"recovery_codes_generated_at"`
		Actions                  []string   `json:"actions"`
	} `json:"security"`
}

func (h *harness) signInMethods(authid string) (signInMethods, map[string]any) {
	h.t.Helper()
	res := h.Do(http.MethodGet, "/v1/admin/users/"+authid+"/sign-in-methods", h.AdminKey, nil)
	if res.Status != http.StatusOK {
		h.t.Fatalf("sign-in methods of %s = %d %s", authid, res.Status, res.Body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		h.t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	// Typed and strict for the values; the raw map is for the tests that
	// check the exact set of fields a way and its sso object show.
	return apitest.Decode[signInMethods](h.t, res), res.JSON(h.t)
}

// signedIn records an attempt of authid that ended in state at, from ip.
func (h *harness) signedIn(authid, method, state, ip string, at time.Time) {
	h.t.Helper()
	a := store.Attempt{ID: "att-" + authid + "-" + at.Format("150405.000000") + "-" + method, AccountID: deploytest.Account, System: "vpn", AuthID: authid,
		WorkflowID: "wf", RunID: "run", State: state, Method: method, IP: ip, UserAgent: "test",
		StartedAt: at.Add(-time.Minute), UpdatedAt: at, CompletedAt: &at}
	if _, err := h.Store.InsertAttempt(context.Background(), &a); err != nil {
		h.t.Fatal(err)
	}
}

func (w signInWay) summary() string {
	last := "never"
	if w.LastLogin != nil {
		last = w.LastLogin.UTC().Format(time.RFC3339)
	}
	return strings.Join([]string{w.Kind, w.Method, strings.Join(w.Systems, "+"), string(rune('0' + w.Count)), last, w.LastIP}, " ")
}

func summaries(ws []signInWay) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.summary()
	}
	return out
}

func TestSignInMethodsOfAUser(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin", "passwordless", "sso", "totp"}, "sensitivity": "low"}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "wiki", "methods": []string{"passwordless", "sso"}, "sensitivity": "low"}, http.StatusCreated)
	user := func(authid, email string, assignments ...req) store.User {
		t.Helper()
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": authid, "email": email}, http.StatusCreated)
		if len(assignments) > 0 {
			h.Admin(http.MethodPut, "/v1/admin/users/"+authid+"/systems", req{"assignments": assignments}, http.StatusOK)
		}
		u, err := h.Store.GetUser(ctx, deploytest.Account, authid)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	t.Run("an unknown user is 404 as on every user route", func(t *testing.T) {
		wantError(t, h.Do(http.MethodGet, "/v1/admin/users/nobody/sign-in-methods", h.AdminKey, nil), http.StatusNotFound, `user "nobody" not found`)
	})

	t.Run("a user who never signed in", func(t *testing.T) {
		user("newbie", "newbie@example.com", req{"system": "vpn", "method": "pin"}, req{"system": "wiki", "method": "passwordless"})
		got, _ := h.signInMethods("newbie")
		want := []string{"passwordless passwordless wiki 0 never ", "pin pin vpn 0 never "}
		if got.AuthID != "newbie" || !got.NeverSignedIn || !slices.Equal(summaries(got.Ways), want) {
			t.Fatalf("answer = %+v, ways %q; want never signed in, ways %q", got, summaries(got.Ways), want)
		}
		user("nothing", "nothing@example.com")
		if got, raw := h.signInMethods("nothing"); !got.NeverSignedIn || len(got.Ways) != 0 || raw["ways"] == nil {
			t.Fatalf("a user with no way = %v, want never signed in and ways []", raw)
		}
	})

	t.Run("Entra ID: position and phone from the directory, and the sign-ins", func(t *testing.T) {
		megan := user("megan", "megan@contoso.example", req{"system": "vpn", "method": "sso"}, req{"system": "wiki", "method": "sso"})
		mustStore(t, bindWithProfile(ctx, h.Store, megan, entraIssuer, "oid-megan",
			store.SSOProfile{Provider: "entra", Read: true, Position: "Marketing Manager", Phone: "+1 412 555 0109"}, base))
		h.signedIn("megan", "sso", store.AttemptAuthenticated, "198.51.100.1", base.Add(time.Hour))
		h.signedIn("megan", "sso", store.AttemptAuthenticated, "2001:db8::7", base.Add(2*time.Hour))
		h.signedIn("megan", "sso", store.AttemptDenied, "203.0.113.9", base.Add(3*time.Hour))
		got, raw := h.signInMethods("megan")
		want := []string{"entra sso vpn+wiki 2 2026-03-01T11:00:00Z 2001:db8::7"}
		if got.NeverSignedIn || !slices.Equal(summaries(got.Ways), want) {
			t.Fatalf("ways %q, want %q", summaries(got.Ways), want)
		}
		sso := got.Ways[0].SSO
		if sso == nil || !sso.Bound || sso.Issuer != entraIssuer || sso.Position == nil || *sso.Position != "Marketing Manager" ||
			sso.Phone == nil || *sso.Phone != "+1 412 555 0109" || sso.ProfileReadAt == nil || !sso.ProfileReadAt.Equal(base) {
			t.Fatalf("sso = %+v", sso)
		}
		// The exact fields of a way: the contract in openapi.json.
		way := raw["ways"].([]any)[0].(map[string]any)
		if keys := sortedKeys(way); !slices.Equal(keys, []string{"count", "kind", "last_ip", "last_login", "method", "sso", "systems"}) {
			t.Errorf("way fields = %q", keys)
		}
		if keys := sortedKeys(way["sso"].(map[string]any)); !slices.Equal(keys, []string{"bound", "issuer", "phone", "position", "profile_read_at"}) {
			t.Errorf("sso fields = %q", keys)
		}
	})

	t.Run("the provider told by issuer when the plugin did not say", func(t *testing.T) {
		for authid, tc := range map[string]struct {
			issuer, kind string
			fields       []string
		}{
			"gina":  {"https://accounts.google.com", "google", []string{"bound", "issuer"}},
			"kenji": {"https://sso.example.com/realms/acme", "sso", []string{"bound", "issuer"}},
			// Entra's v1.0 issuer; no sign-on has read a profile yet.
			"lee": {"https://sts.windows.net/4a5b6c7d-1111-4222-8333-944455556666/", "entra", []string{"bound", "issuer", "phone", "position"}},
		} {
			u := user(authid, authid+"@example.com", req{"system": "wiki", "method": "sso"})
			// Bound by an administrator: the plugin never said which
			// provider it is, the issuer does.
			mustStore(t, h.Store.SetSSOIdentity(ctx, u.ID, tc.issuer, "sub-"+authid, base))
			h.signedIn(authid, "sso", store.AttemptAuthenticated, "192.0.2.4", base.Add(time.Hour))
			got, raw := h.signInMethods(authid)
			want := []string{tc.kind + " sso wiki 1 2026-03-01T10:00:00Z 192.0.2.4"}
			if !slices.Equal(summaries(got.Ways), want) {
				t.Fatalf("%s: ways %q, want %q", authid, summaries(got.Ways), want)
			}
			if keys := sortedKeys(raw["ways"].([]any)[0].(map[string]any)["sso"].(map[string]any)); !slices.Equal(keys, tc.fields) {
				t.Errorf("%s: sso fields = %q, want %q", authid, keys, tc.fields)
			}
		}
		// Not bound yet and never signed on: a single sign-on way all the same.
		user("sam", "sam@example.com", req{"system": "wiki", "method": "sso"})
		if got, _ := h.signInMethods("sam"); len(got.Ways) != 1 || got.Ways[0].Kind != "sso" || got.Ways[0].SSO.Bound {
			t.Fatalf("unbound sso = %+v", got.Ways)
		}
	})

	t.Run("email and password: sign-ins and the two-factor settings to manage", func(t *testing.T) {
		h.Admin(http.MethodPatch, "/v1/admin/account", req{"email_password_login": true}, http.StatusOK)
		user("pat", "pat@example.com", req{"system": "vpn", "method": "pin"})
		h.Admin(http.MethodPatch, "/v1/admin/users/pat", req{"email_password_login": true}, http.StatusOK)
		h.signedIn("pat", "password", store.AttemptAuthenticated, "198.51.100.20", base.Add(time.Hour))
		h.signedIn("pat", "password", store.AttemptAuthenticated, "198.51.100.21", base.Add(5*time.Hour))
		h.signedIn("pat", "password", store.AttemptAuthenticated, "198.51.100.22", base.Add(3*time.Hour))
		h.signedIn("pat", "password", store.AttemptLocked, "203.0.113.66", base.Add(6*time.Hour))
		h.signedIn("pat", "pin", store.AttemptAuthenticated, "198.51.100.30", base.Add(2*time.Hour))
		got, _ := h.signInMethods("pat")
		want := []string{"password password  3 2026-03-01T14:00:00Z 198.51.100.21", "pin pin vpn 1 2026-03-01T11:00:00Z 198.51.100.30"}
		if !slices.Equal(summaries(got.Ways), want) {
			t.Fatalf("ways %q, want %q", summaries(got.Ways), want)
		}
		if got.Ways[1].Security != nil || got.Ways[0].SSO != nil {
			t.Errorf("security on the pin way or sso on the password way: %+v", got.Ways)
		}
		sec := got.Ways[0].Security
		if sec == nil || !sec.EmailPasswordLogin || sec.TOTPEnabled || sec.TOTPEnrolledAt != nil || sec.TwoFactorResetAt != nil ||
			!slices.Equal(sec.Actions, []string{"enrol_totp"}) {
			t.Fatalf("security before enrolment = %+v", sec)
		}

		// Enrolled: its date, and recovery codes and a reset on offer.
		enrol := adminAs[apitest.TOTPEnrolment](h, http.MethodPost, "/v1/admin/users/pat/totp", nil, http.StatusOK)
		if got, _ := h.signInMethods("pat"); !got.Ways[0].Security.TOTPPending ||
			!slices.Equal(got.Ways[0].Security.Actions, []string{"enrol_totp", "reset_two_factor"}) {
			t.Fatalf("security with an enrolment pending = %+v", got.Ways[0].Security)
		}
		code, err := attempt.TOTPCode(enrol.Secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		h.Admin(http.MethodPost, "/v1/admin/users/pat/totp/verify", req{"code": code}, http.StatusOK)
		h.Admin(http.MethodPost, "/v1/admin/users/pat/recovery-codes", nil, http.StatusOK)
		got, _ = h.signInMethods("pat")
		sec = got.Ways[0].Security
		if !sec.TOTPEnabled || sec.TOTPPending || sec.TOTPEnrolledAt == nil || time.Since(*sec.TOTPEnrolledAt) > time.Minute ||
			sec.RecoveryCodesLeft != 10 || sec.RecoveryCodesGeneratedAt == nil ||
			!slices.Equal(sec.Actions, []string{"generate_recovery_codes", "reset_two_factor"}) {
			t.Fatalf("security after enrolment = %+v", sec)
		}

		// Reset: when, and enrolment on offer again.
		if res := h.Do(http.MethodDelete, "/v1/admin/users/pat/totp", h.AdminKey, nil); res.Status != http.StatusNoContent {
			t.Fatalf("reset = %d %s", res.Status, res.Body)
		}
		got, _ = h.signInMethods("pat")
		sec = got.Ways[0].Security
		if sec.TOTPEnabled || sec.TOTPEnrolledAt != nil || sec.TwoFactorResetAt == nil || sec.RecoveryCodesLeft != 0 ||
			!slices.Equal(sec.Actions, []string{"enrol_totp"}) {
			t.Fatalf("security after a reset = %+v", sec)
		}
	})
}

// bindWithProfile binds an identity to u and records the profile its
// sign-on read, as the sso activities do.
func bindWithProfile(ctx context.Context, st *store.Store, u store.User, issuer, subject string, p store.SSOProfile, at time.Time) error {
	if _, err := st.BindSSO(ctx, u.ID, issuer, subject); err != nil {
		return err
	}
	_, err := st.RecordSSOProfile(ctx, u.ID, issuer, subject, p, at)
	return err
}

func mustStore(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
