package policies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/storetest"
	"github.com/flexauth/flexauth/store"
)

// openStore returns a migrated SQLite store holding accounts a and b.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := t.Context()
	st := storetest.SQLite(t)
	for _, id := range []string{"a", "b"} {
		if err := st.CreateAccount(ctx, &store.Account{ID: id, Name: id, CreatedAt: time.Now().UTC()}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// vpnSignIn is a sign-in of account's user to system vpn.
func vpnSignIn(account string) Input {
	in := signIn()
	in.Subject.Account = account
	in.System.Name = "vpn"
	return in
}

func upload(t testing.TB, st *store.Store, account, rego string) int {
	t.Helper()
	v := store.PolicyVersion{AccountID: account, Rego: rego, Tests: closedVPNTests, CreatedAt: time.Now().UTC(), CreatedBy: "test"}
	if err := st.CreatePolicyVersion(t.Context(), &v); err != nil {
		t.Fatal(err)
	}
	return v.Version
}

func TestRegistryDecidesWithEachAccountsActivePolicy(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	reg := NewRegistry(st)
	if err := reg.Preload(ctx); err != nil {
		t.Fatalf("Preload: %v", err)
	}
	v1 := upload(t, st, "a", closedVPN)

	t.Run("an account with an uploaded policy decides with it", func(t *testing.T) {
		d, version, err := reg.DecideVersion(ctx, vpnSignIn("a"))
		if err != nil || d.Allow || version != v1 || !slices.Contains(d.Reasons, "vpn is closed by the uploaded policy") {
			t.Fatalf("decision = %+v, version %d, %v; want a denial by version %d", d, version, err, v1)
		}
	})
	t.Run("an account without one decides with the built-in policy", func(t *testing.T) {
		d, version, err := reg.DecideVersion(ctx, vpnSignIn("b"))
		if err != nil || !d.Allow || version != store.BuiltinPolicyVersion || !slices.Contains(d.Reasons, "sensitivity low") {
			t.Fatalf("decision = %+v, version %d, %v; want the default's allow", d, version, err)
		}
	})
	t.Run("a rollback takes effect at the next decision", func(t *testing.T) {
		if err := st.ActivatePolicyVersion(ctx, "a", store.BuiltinPolicyVersion, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		d, version, err := reg.DecideVersion(ctx, vpnSignIn("a"))
		if err != nil || !d.Allow || version != store.BuiltinPolicyVersion {
			t.Fatalf("after rollback: decision = %+v, version %d, %v; want the default's allow", d, version, err)
		}
		if err := st.ActivatePolicyVersion(ctx, "a", v1, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if d, _ := reg.Decide(ctx, vpnSignIn("a")); d.Allow {
			t.Fatalf("after re-activating version %d: decision = %+v, want a denial", v1, d)
		}
	})
	t.Run("a stored policy that does not compile fails closed with the reason", func(t *testing.T) {
		broken := upload(t, st, "a", strings.Replace(closedVPN, `"risk": "high",`, `"risk": "high",,`, 1))
		d, err := reg.Decide(ctx, vpnSignIn("a"))
		if err == nil || d.Allow || len(d.Reasons) != 1 ||
			!strings.HasPrefix(d.Reasons[0], fmt.Sprintf("policy error: policy unavailable: policy version %d:", broken)) {
			t.Fatalf("decision = %+v, %v; want a denial naming version %d", d, err, broken)
		}
		// Account b is not affected by a's broken policy.
		if d, err := reg.Decide(ctx, vpnSignIn("b")); err != nil || !d.Allow {
			t.Fatalf("account b: decision = %+v, %v", d, err)
		}
	})
	t.Run("a stored policy that loops at sign-in is stopped and denies with the reason", func(t *testing.T) {
		// It passes review: it loops only for a real sign-in, which has a
		// client IP.
		rego := strings.Replace(closedVPN, `"max_attempts": 3,`, `"max_attempts": attempts,`, 1) + `
default attempts := 3

attempts := 4 if {
	input.request.ip
	r := numbers.range(1, 100000)
	count([x | some x in r; some y in r; x == 0 - y]) == 0
}
`
		if r, err := ReviewUpload(ctx, rego, closedVPNTests); err != nil || !r.Accepted() {
			t.Fatalf("review = %+v, %v; want accepted", r, err)
		}
		slow := upload(t, st, "a", rego)
		start := time.Now()
		d, version, err := reg.DecideVersion(ctx, vpnSignIn("a"))
		// Stopped at the step bound, or at the timeout on a loaded machine.
		if !(errors.Is(err, ErrEvaluationSteps) || errors.Is(err, ErrEvaluationTimeout)) || d.Allow || version != slow ||
			!slices.Equal(d.Reasons, []string{"policy error: " + err.Error()}) {
			t.Fatalf("decision = %+v, version %d, %v; want a denial for taking too long", d, version, err)
		}
		if took := time.Since(start); took > EvaluationTimeout+3*time.Second {
			t.Errorf("denied after %s, want soon after %s", took, EvaluationTimeout)
		}
		if d, err := reg.Decide(ctx, vpnSignIn("b")); err != nil || !d.Allow {
			t.Fatalf("account b: decision = %+v, %v", d, err)
		}
	})
}

// countingVersions counts how often a version's source is read, which is
// how often it is compiled.
type countingVersions struct {
	*store.Store
	loads atomic.Int32
}

func (c *countingVersions) PolicyRego(ctx context.Context, accountID string, version int) (string, error) {
	c.loads.Add(1)
	return c.Store.PolicyRego(ctx, accountID, version)
}

func TestBuiltinVersionIsTheStores(t *testing.T) {
	if BuiltinVersion != store.BuiltinPolicyVersion {
		t.Fatalf("BuiltinVersion = %d, store.BuiltinPolicyVersion = %d", BuiltinVersion, store.BuiltinPolicyVersion)
	}
}

func TestRegistryCompilesEachVersionOnce(t *testing.T) {
	ctx := t.Context()
	st := &countingVersions{Store: openStore(t)}
	reg := NewRegistry(st)
	upload(t, st.Store, "a", closedVPN)
	for range 5 {
		if d, err := reg.Decide(ctx, vpnSignIn("a")); err != nil || d.Allow {
			t.Fatalf("decision = %+v, %v", d, err)
		}
	}
	if n := st.loads.Load(); n != 1 {
		t.Fatalf("version loaded %d times for 5 decisions, want 1", n)
	}
	upload(t, st.Store, "a", strings.Replace(closedVPN, `"vpn"`, `"mail"`, 1))
	if d, err := reg.Decide(ctx, vpnSignIn("a")); err != nil || !d.Allow {
		t.Fatalf("after a new upload: decision = %+v, %v; want the new version's allow", d, err)
	}
	if n := st.loads.Load(); n != 2 {
		t.Fatalf("versions loaded %d times, want 2 (once per version)", n)
	}
}

// hookedVersions runs a hook before loading a version's source.
type hookedVersions struct {
	*store.Store
	before func() error
}

func (h *hookedVersions) PolicyRego(ctx context.Context, accountID string, version int) (string, error) {
	if err := h.before(); err != nil {
		return "", err
	}
	return h.Store.PolicyRego(ctx, accountID, version)
}

func TestRegistryRetriesAfterFailuresThatAreNotThePolicys(t *testing.T) {
	tests := []struct {
		name string
		// fail makes the first load fail; it may cancel the decision's context.
		fail func(cancel context.CancelFunc) error
	}{
		{"the store could not be read", func(context.CancelFunc) error { return errors.New("connection reset") }},
		{"the caller gave up while it compiled", func(cancel context.CancelFunc) error { cancel(); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			first := true
			st := &hookedVersions{Store: openStore(t), before: func() error {
				if !first {
					return nil
				}
				first = false
				return tt.fail(cancel)
			}}
			reg := NewRegistry(st)
			upload(t, st.Store, "a", closedVPN)
			if d, err := reg.Decide(ctx, vpnSignIn("a")); err == nil || d.Allow {
				t.Fatalf("first decision = %+v, %v; want a denial with an error", d, err)
			}
			d, err := reg.Decide(t.Context(), vpnSignIn("a"))
			if err != nil || d.Allow || !slices.Contains(d.Reasons, "vpn is closed by the uploaded policy") {
				t.Fatalf("next decision = %+v, %v; want the uploaded policy's own denial", d, err)
			}
		})
	}
}

// BenchmarkRegistryDecide is BenchmarkDecide through the registry: the
// account's active version is read from the store (SQLite here) on every
// decision, the compiled policy comes from the cache.
func BenchmarkRegistryDecide(b *testing.B) {
	for _, c := range []struct{ name, account string }{{"built-in", "b"}, {"uploaded", "a"}} {
		b.Run(c.name, func(b *testing.B) {
			st := openStore(b)
			upload(b, st, "a", strings.Replace(closedVPN, `"vpn"`, `"nothing"`, 1))
			r := NewRegistry(st)
			in := signIn()
			in.Subject.Account = c.account
			in.System.Sensitivity = "high"
			in.Subject.TOTPEnrolled = true
			in.History.NewIP = true
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Decide(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestRegistryInheritsTheNearestAncestorsPolicy(t *testing.T) {
	ctx := t.Context()
	st := openStore(t)
	// a ── child ── grandchild
	for _, o := range []store.Account{{ID: "child", ParentID: "a"}, {ID: "grandchild", ParentID: "child"}} {
		o.Name, o.CreatedAt = o.ID, time.Now().UTC()
		if err := st.CreateOrganisation(ctx, "a", &o); err != nil {
			t.Fatal(err)
		}
	}
	reg := NewRegistry(st)
	v1 := upload(t, st, "a", closedVPN)

	t.Run("a sub-organisation without its own policy decides with its parent's, at any depth", func(t *testing.T) {
		for _, id := range []string{"child", "grandchild"} {
			d, version, err := reg.DecideVersion(ctx, vpnSignIn(id))
			if err != nil || d.Allow || version != v1 || !slices.Contains(d.Reasons, "vpn is closed by the uploaded policy") {
				t.Fatalf("%s: decision = %+v, version %d, %v; want a's uploaded policy to deny", id, d, version, err)
			}
		}
	})
	t.Run("uploading one makes it its own, for its branch", func(t *testing.T) {
		upload(t, st, "child", strings.Replace(closedVPN, "vpn is closed by the uploaded policy", "vpn is closed by the child's policy", 1))
		for _, id := range []string{"child", "grandchild"} {
			if d, _ := reg.Decide(ctx, vpnSignIn(id)); !slices.Contains(d.Reasons, "vpn is closed by the child's policy") {
				t.Fatalf("%s: decision = %+v, want the child's policy", id, d)
			}
		}
		if d, _ := reg.Decide(ctx, vpnSignIn("a")); !slices.Contains(d.Reasons, "vpn is closed by the uploaded policy") {
			t.Fatalf("a: decision = %+v, want its own policy still", d)
		}
	})
	t.Run("returning to the built-in version returns to inheriting", func(t *testing.T) {
		if err := st.ActivatePolicyVersion(ctx, "child", store.BuiltinPolicyVersion, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if d, version, _ := reg.DecideVersion(ctx, vpnSignIn("grandchild")); version != v1 || !slices.Contains(d.Reasons, "vpn is closed by the uploaded policy") {
			t.Fatalf("grandchild: decision = %+v, version %d; want a's policy again", d, version)
		}
	})
	t.Run("with no policy up to the top, the built-in one decides", func(t *testing.T) {
		if err := st.ActivatePolicyVersion(ctx, "a", store.BuiltinPolicyVersion, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if d, version, err := reg.DecideVersion(ctx, vpnSignIn("grandchild")); err != nil || !d.Allow || version != store.BuiltinPolicyVersion {
			t.Fatalf("grandchild: decision = %+v, version %d, %v; want the default's allow", d, version, err)
		}
	})
}
