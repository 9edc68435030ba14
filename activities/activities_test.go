package activities_test

import (
	"context"
	"encoding/base32"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/flexauth/flexauth/activities"
	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/storetest"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/store"
)

// TestTOTPCodeRFC6238 checks the SHA-1 test vectors of RFC 6238, appendix B
// (the last six of their eight digits: flexauth's codes have six).
func TestTOTPCodeRFC6238(t *testing.T) {
	seed := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	vectors := []struct {
		unix int64
		want string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	}
	for _, v := range vectors {
		got, err := attempt.TOTPCode(seed, time.Unix(v.unix, 0))
		if err != nil {
			t.Fatal(err)
		}
		if got != v.want {
			t.Errorf("TOTP at %d = %s, want %s", v.unix, got, v.want)
		}
	}
}

// recorder is the plugin boundary: it keeps what would be sent, and plays
// a directory that knows the people in it.
type recorder struct {
	mu        sync.Mutex
	sent      []sdk.SendRequest
	plugins   []string
	err       error
	people    map[string]sdk.Identity
	lookupErr error
}

// Authorize and Exchange answer as a host without a sign-on plugin; the
// sign-on tests use ssoPlugins.
func (r *recorder) Authorize(context.Context, string, sdk.AuthorizeRequest) (sdk.AuthorizeResponse, error) {
	return sdk.AuthorizeResponse{}, sdk.Permanent(errors.New("no sign-on plugin"))
}

func (r *recorder) Exchange(context.Context, string, sdk.ExchangeRequest) (sdk.Claims, error) {
	return sdk.Claims{}, sdk.Permanent(errors.New("no sign-on plugin"))
}

func (r *recorder) Lookup(_ context.Context, _ string, req sdk.LookupRequest) (sdk.Identity, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lookupErr != nil {
		return sdk.Identity{}, r.lookupErr
	}
	return r.people[req.AuthID], nil
}

func (r *recorder) Send(_ context.Context, plugin string, req sdk.SendRequest) (sdk.SendResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return sdk.SendResponse{}, r.err
	}
	r.sent = append(r.sent, req)
	r.plugins = append(r.plugins, plugin)
	return sdk.SendResponse{MessageID: req.ID}, nil
}

type fixture struct {
	st    *store.Store
	keys  *secret.Keyring
	sent  *recorder
	acts  *activities.Activities
	now   time.Time
	user  store.User
	input activities.Subject
}

func newFixture(t *testing.T, policy activities.Policy) *fixture {
	return newFixtureWith(t, policy, activities.Config{})
}

func newFixtureWith(t *testing.T, policy activities.Policy, cfg activities.Config) *fixture {
	t.Helper()
	return newFixtureOn(t, storetest.SQLite(t), policy, cfg)
}

// newFixtureOn is newFixtureWith on a store of the test's choosing.
func newFixtureOn(t testing.TB, st *store.Store, policy activities.Policy, cfg activities.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	keys, err := secret.New([]byte(strings.Repeat("k", secret.MasterKeySize)))
	if err != nil {
		t.Fatal(err)
	}
	if policy == nil {
		engine, err := policies.New(ctx, policies.Default())
		if err != nil {
			t.Fatal(err)
		}
		policy = engine
	}
	f := &fixture{st: st, keys: keys, sent: &recorder{}, now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	cfg.PublicURL = "https://auth.example.com"
	f.acts = activities.New(st, policy, f.sent, keys, cfg, func() time.Time { return f.now })

	must(t, st.CreateAccount(ctx, &store.Account{ID: "acc", Name: "Acme", CreatedAt: f.now}))
	sys := store.System{ID: "s1", AccountID: "acc", Name: "vpn", Methods: []string{"pin", "passwordless", "totp"},
		Sensitivity: "low", TTLSeconds: 300, CreatedAt: f.now, UpdatedAt: f.now}
	must(t, st.CreateSystem(ctx, &sys))
	f.user = store.User{ID: "u1", AccountID: "acc", AuthID: "alice", Email: "alice@example.com", Status: store.UserActive,
		CreatedAt: f.now, UpdatedAt: f.now}
	must(t, st.CreateUser(ctx, &f.user))
	must(t, st.SetAssignments(ctx, f.user.ID, []store.Assignment{{UserID: f.user.ID, SystemID: sys.ID, Method: "pin"}}))
	f.input = activities.Subject{AttemptID: "att1", AccountID: "acc", System: "vpn", AuthID: "alice", IP: "198.51.100.7"}
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) begin(t *testing.T, s activities.Subject) activities.BeginResult {
	t.Helper()
	res, err := f.acts.Begin(context.Background(), activities.BeginInput{Subject: s, WorkflowID: "wf", RunID: "run", StartedAt: f.now})
	must(t, err)
	return res
}

func (f *fixture) auditTypes(t *testing.T, authid string) []string {
	t.Helper()
	events, err := f.st.ListAudit(context.Background(), store.AuditFilter{AccountID: "acc", AuthID: authid})
	must(t, err)
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	return types
}

func TestBeginDecidesAndRecords(t *testing.T) {
	f := newFixture(t, nil)
	res := f.begin(t, f.input)
	if !res.Allowed || res.Method != "pin" || res.UserID != "u1" || res.MaxAttempts != 5 || res.TTL != 5*time.Minute {
		t.Fatalf("begin = %+v", res)
	}
	row, err := f.st.GetAttempt(context.Background(), "att1")
	must(t, err)
	if row.State != store.AttemptPending || row.Method != "pin" || row.ExpiresAt == nil || !row.ExpiresAt.Equal(f.now.Add(5*time.Minute)) {
		t.Fatalf("attempt row = %+v", row)
	}
	if got := strings.Join(f.auditTypes(t, "alice"), ","); got != "policy.decision,attempt.started" {
		t.Fatalf("audit = %s", got)
	}
}

func TestBeginDeniesWithTheRealReason(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*testing.T, *fixture, *activities.Subject)
		reason string
	}{
		{"unknown user", func(_ *testing.T, _ *fixture, s *activities.Subject) { s.AuthID = "nobody" }, "unknown user"},
		{"unknown system", func(_ *testing.T, _ *fixture, s *activities.Subject) { s.System = "nothing" }, "unknown system"},
		{"disabled user", func(t *testing.T, f *fixture, _ *activities.Subject) {
			f.user.Status = store.UserDisabled
			must(t, f.st.UpdateUserProfile(context.Background(), &f.user))
		}, "user is disabled"},
		{"unassigned user", func(t *testing.T, f *fixture, _ *activities.Subject) {
			must(t, f.st.SetAssignments(context.Background(), f.user.ID, nil))
		}, "user is not assigned to the system"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			s := f.input
			c.mutate(t, f, &s)
			if res := f.begin(t, s); res.Allowed {
				t.Fatal("allowed")
			}
			row, err := f.st.GetAttempt(context.Background(), s.AttemptID)
			must(t, err)
			if row.State != store.AttemptDenied {
				t.Fatalf("state = %s", row.State)
			}
			events, err := f.st.ListAudit(context.Background(), store.AuditFilter{AccountID: "acc", Type: attempt.EventDenied})
			must(t, err)
			if len(events) != 1 || events[0].Reasons[0] != c.reason {
				t.Fatalf("denial events = %+v, want reason %q", events, c.reason)
			}
		})
	}
}

func TestSSOWithoutASignOnPluginIsDeniedAtBegin(t *testing.T) {
	for _, c := range []struct {
		name    string
		cfg     activities.Config
		allowed bool
	}{
		{"none configured", activities.Config{}, false},
		{"another account's", activities.Config{AccountSignOn: map[string]string{"other": "idp"}}, false},
		{"the account's", activities.Config{AccountSignOn: map[string]string{"acc": "idp"}}, true},
		{"everyone's", activities.Config{SignOn: "idp"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixtureWith(t, nil, c.cfg)
			ctx := context.Background()
			sys, err := f.st.GetSystem(ctx, "acc", "vpn")
			must(t, err)
			sys.Methods = append(sys.Methods, attempt.MethodSSO)
			must(t, f.st.UpdateSystem(ctx, &sys))
			must(t, f.st.SetAssignments(ctx, f.user.ID, []store.Assignment{{UserID: f.user.ID, SystemID: sys.ID, Method: attempt.MethodSSO}}))
			res := f.begin(t, f.input)
			if res.Allowed != c.allowed {
				t.Fatalf("allowed = %v, want %v", res.Allowed, c.allowed)
			}
			if !c.allowed {
				events, err := f.st.ListAudit(ctx, store.AuditFilter{AccountID: "acc", Type: attempt.EventDenied})
				must(t, err)
				if len(events) != 1 || events[0].Reasons[0] != "no sign-on plugin configured for method sso" {
					t.Fatalf("denials = %+v", events)
				}
			}
		})
	}
}

func TestIssueChallengeResendsTheSameSecretOnRetry(t *testing.T) {
	for _, method := range []string{attempt.MethodPIN, attempt.MethodPasswordless} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t, nil)
			f.begin(t, f.input)
			in := activities.IssueInput{Subject: f.input, UserID: "u1", Method: method, ExpiresAt: f.now.Add(5 * time.Minute)}
			first, err := f.acts.IssueChallenge(context.Background(), in)
			must(t, err)
			second, err := f.acts.IssueChallenge(context.Background(), in)
			must(t, err)
			if first.Digest != second.Digest || len(f.sent.sent) != 2 {
				t.Fatalf("digests %s / %s after %d sends", first.Digest, second.Digest, len(f.sent.sent))
			}
			a, b := f.sent.sent[0], f.sent.sent[1]
			if a.Code != b.Code || a.Link != b.Link || a.ID != "att1" || a.To != "alice@example.com" {
				t.Fatalf("a retry sent %+v after %+v", b, a)
			}
			switch method {
			case attempt.MethodPIN:
				if len(a.Code) != 8 || first.Digest != attempt.CodeDigest(f.keys, "att1", a.Code) {
					t.Fatalf("pin %q does not match its digest", a.Code)
				}
			case attempt.MethodPasswordless:
				token := strings.TrimPrefix(a.Link, "https://auth.example.com"+attempt.LinkPath)
				row, err := f.st.AttemptByLinkDigest(context.Background(), attempt.LinkDigest(f.keys, token))
				must(t, err)
				if row.ID != "att1" || first.Digest != row.LinkDigest {
					t.Fatalf("link lookup found %+v", row)
				}
			}
			row, err := f.st.GetAttempt(context.Background(), "att1")
			must(t, err)
			if strings.Contains(string(row.Challenge), a.Code+a.Link) {
				t.Fatal("the challenge is stored in clear")
			}
		})
	}
}

func TestPermanentDeliveryFailureIsNotRetried(t *testing.T) {
	f := newFixture(t, nil)
	f.begin(t, f.input)
	f.sent.err = sdk.Permanent(errors.New("invalid number"))
	_, err := f.acts.IssueChallenge(context.Background(), activities.IssueInput{Subject: f.input, UserID: "u1", Method: "pin", ExpiresAt: f.now.Add(time.Minute)})
	if err == nil || !strings.Contains(err.Error(), "invalid number") {
		t.Fatalf("err = %v", err)
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() {
		t.Fatalf("a permanent failure is retryable: %v", err)
	}
}

func TestDeliveryRouting(t *testing.T) {
	cfg := activities.Config{
		Channels:        map[string]string{"email": "mail", "sms": "texts"},
		AccountChannels: map[string]map[string]string{"acc": {"sms": "acme-texts"}},
	}
	cases := []struct {
		name, channel      string
		wantTo, wantPlugin string
	}{
		{"contact data picks email first", "", "alice@example.com", "mail"},
		{"the policy's sms choice wins, through the account's own plugin", "sms", "+15555550100", "acme-texts"},
		{"the policy's email choice", "email", "alice@example.com", "mail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixtureWith(t, nil, cfg)
			f.user.Phone = "+15555550100"
			must(t, f.st.UpdateUserProfile(context.Background(), &f.user))
			f.begin(t, f.input)
			_, err := f.acts.IssueChallenge(context.Background(), activities.IssueInput{
				Subject: f.input, UserID: "u1", Method: "pin", Channel: c.channel, ExpiresAt: f.now.Add(time.Minute),
			})
			must(t, err)
			if got := f.sent.sent[0].To; got != c.wantTo || f.sent.plugins[0] != c.wantPlugin {
				t.Fatalf("sent to %s through %s, want %s through %s", got, f.sent.plugins[0], c.wantTo, c.wantPlugin)
			}
		})
	}
}

func TestDirectoryFeedsThePolicy(t *testing.T) {
	// Only staff may sign in: a policy that reads the directory's groups.
	staffOnly, err := policies.New(context.Background(), map[string]string{"risk.rego": `package flexauth.risk

decision := {"allow": allow, "method": "pin", "ttl_seconds": 60, "max_attempts": 3, "risk": "low", "reasons": reasons}

allow if "staff" in input.subject.groups

default allow := false

reasons := ["in group staff"] if allow else := [sprintf("not staff (in directory: %v, department %q)", [input.subject.in_directory, object.get(input.subject.attributes, "department", "")])]
`})
	must(t, err)
	cases := []struct {
		name      string
		person    sdk.Identity
		lookupErr error
		allowed   bool
		reason    string
	}{
		{"a member of staff is allowed", sdk.Identity{Found: true, Groups: []string{"staff"}}, nil, true, "in group staff"},
		{"attributes reach the policy", sdk.Identity{Found: true, Groups: []string{"contractors"}, Attributes: map[string]string{"department": "sales"}}, nil,
			false, `not staff (in directory: true, department "sales")`},
		{"someone the directory does not know", sdk.Identity{}, nil, false, `not staff (in directory: false, department "")`},
		{"a broken directory denies", sdk.Identity{}, sdk.Permanent(errors.New("bad file")), false, "directory people failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixtureWith(t, staffOnly, activities.Config{Directory: "people"})
			f.sent.people = map[string]sdk.Identity{"alice": c.person}
			f.sent.lookupErr = c.lookupErr
			res := f.begin(t, f.input)
			if res.Allowed != c.allowed || !strings.HasPrefix(res.Reasons[0], c.reason) {
				t.Fatalf("begin = %+v, want allowed=%v with reason %q", res, c.allowed, c.reason)
			}
		})
	}
	t.Run("a temporary directory failure is retried", func(t *testing.T) {
		f := newFixtureWith(t, staffOnly, activities.Config{Directory: "people"})
		f.sent.lookupErr = errors.New("plugin restarting")
		if _, err := f.acts.Begin(context.Background(), activities.BeginInput{Subject: f.input, StartedAt: f.now}); err == nil {
			t.Fatal("a temporary failure did not fail the activity")
		}
	})
}

func TestDirectoryFillsMissingContactData(t *testing.T) {
	f := newFixtureWith(t, nil, activities.Config{Directory: "people"})
	f.user.Email = ""
	must(t, f.st.UpdateUserProfile(context.Background(), &f.user))
	f.sent.people = map[string]sdk.Identity{"alice": {Found: true, Email: "alice@corp.example"}}
	f.begin(t, f.input)
	_, err := f.acts.IssueChallenge(context.Background(), activities.IssueInput{Subject: f.input, UserID: "u1", Method: "pin", ExpiresAt: f.now.Add(time.Minute)})
	must(t, err)
	if got := f.sent.sent[0].To; got != "alice@corp.example" {
		t.Fatalf("sent to %q, want the directory's address", got)
	}
}

// TestDeliveryRoutingFlowsDown: a sub-organisation without a routing of
// its own sends through its nearest ancestor's, and one with its own
// through that.
func TestDeliveryRoutingFlowsDown(t *testing.T) {
	ctx := context.Background()
	f := newFixtureWith(t, nil, activities.Config{
		Channels:        map[string]string{"email": "mail"},
		AccountChannels: map[string]map[string]string{"acc": {"email": "acme-mail"}, "south": {"email": "south-mail"}},
	})
	for _, org := range []store.Account{{ID: "north", ParentID: "acc"}, {ID: "north-east", ParentID: "north"}, {ID: "south", ParentID: "acc"}} {
		org.Name, org.CreatedAt = org.ID, f.now
		must(t, f.st.CreateAccount(ctx, &org))
	}
	for i, org := range []string{"north-east", "south"} {
		sys := store.System{ID: "sys-" + org, AccountID: org, Name: "vpn", Methods: []string{"pin"}, Sensitivity: "low", TTLSeconds: 300, CreatedAt: f.now, UpdatedAt: f.now}
		must(t, f.st.CreateSystem(ctx, &sys))
		u := store.User{ID: "u-" + org, AccountID: org, AuthID: "bob", Email: "bob@" + org + ".example", Status: store.UserActive, CreatedAt: f.now, UpdatedAt: f.now}
		must(t, f.st.CreateUser(ctx, &u))
		must(t, f.st.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: sys.ID, Method: "pin"}}))
		s := activities.Subject{AttemptID: "att-" + org, AccountID: org, System: "vpn", AuthID: "bob", IP: "198.51.100.7"}
		if res := f.begin(t, s); !res.Allowed {
			t.Fatalf("begin in %s = %+v", org, res)
		}
		_, err := f.acts.IssueChallenge(ctx, activities.IssueInput{Subject: s, UserID: u.ID, Method: "pin", ExpiresAt: f.now.Add(time.Minute)})
		must(t, err)
		want := map[string]string{"north-east": "acme-mail", "south": "south-mail"}[org]
		if got := f.sent.plugins[i]; got != want {
			t.Fatalf("%s's message went through %s, want %s", org, got, want)
		}
	}
}

// TestSignOnProviderFlowsDown: a sub-organisation without a sign-on
// provider of its own uses its parent's; outside the tree there is none.
func TestSignOnProviderFlowsDown(t *testing.T) {
	ctx := context.Background()
	f := newFixtureWith(t, nil, activities.Config{AccountSignOn: map[string]string{"acc": "acme-oidc"}})
	for _, org := range []store.Account{{ID: "north", ParentID: "acc"}, {ID: "other"}} {
		org.Name, org.CreatedAt = org.ID, f.now
		must(t, f.st.CreateAccount(ctx, &org))
		sys := store.System{ID: "sys-" + org.ID, AccountID: org.ID, Name: "portal", Methods: []string{"sso"}, Sensitivity: "low", TTLSeconds: 300, CreatedAt: f.now, UpdatedAt: f.now}
		must(t, f.st.CreateSystem(ctx, &sys))
		u := store.User{ID: "u-" + org.ID, AccountID: org.ID, AuthID: "bob", Email: "bob@example.com", Status: store.UserActive, CreatedAt: f.now, UpdatedAt: f.now}
		must(t, f.st.CreateUser(ctx, &u))
		must(t, f.st.SetAssignments(ctx, u.ID, []store.Assignment{{UserID: u.ID, SystemID: sys.ID, Method: "sso"}}))
	}
	north := f.begin(t, activities.Subject{AttemptID: "att-north", AccountID: "north", System: "portal", AuthID: "bob"})
	other := f.begin(t, activities.Subject{AttemptID: "att-other", AccountID: "other", System: "portal", AuthID: "bob"})
	if !north.Allowed || other.Allowed || !strings.Contains(strings.Join(other.Reasons, ";"), "no sign-on plugin") {
		t.Fatalf("north allowed %v (%v), other allowed %v (%v): want the parent's provider for north and none for other",
			north.Allowed, north.Reasons, other.Allowed, other.Reasons)
	}
}
