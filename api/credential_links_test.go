package api

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/workflows"
)

// startingTemporal starts workflows (records them) unless it is down; a
// workflow ID in already answers as Temporal does for one started before.
type startingTemporal struct {
	brokenTemporal
	mu      sync.Mutex
	down    bool
	already map[string]bool
	tries   int
	started []string // workflow IDs
	inputs  []any
}

func (s *startingTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries++
	switch {
	case s.down:
		return nil, serviceerror.NewUnavailable("connection refused")
	case s.already[opts.ID]:
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already started", "", "")
	}
	s.started = append(s.started, opts.ID)
	s.inputs = append(s.inputs, args...)
	return nil, nil
}

func (s *startingTemporal) set(fn func(s *startingTemporal)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *startingTemporal) get(fn func(s *startingTemporal) bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn(s)
}

// requestWelcome turns email and password sign-in on for the fixture's
// account and a new user, with a welcome link, as a committed change
// leaves it: a row whose delivery has not started.
func (f *fixture) requestWelcome(t *testing.T, authid, linkID string) {
	t.Helper()
	ctx := context.Background()
	acc, err := f.st.GetAccount(ctx, "acme")
	must(t, err)
	if !acc.EmailPasswordLogin {
		_, err := f.st.UpdateAccountSettings(ctx, store.SettingsChange{
			AccountID: "acme", From: acc.Settings(), To: store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}, At: time.Now().UTC(),
		})
		must(t, err)
	}
	now := time.Now().UTC()
	u := store.User{ID: "u-" + authid, AccountID: "acme", AuthID: authid, Email: authid + "@example.com", Status: store.UserActive,
		EmailPasswordLogin: true, CreatedAt: now, UpdatedAt: now}
	link := store.CredentialLink{ID: linkID, AccountID: "acme", UserID: u.ID, Purpose: store.LinkWelcome, CreatedAt: now}
	must(t, f.st.ApplyUserChanges(ctx, "acme", []store.UserChange{{User: u, Create: true, EnablesPasswordLogin: true, IssueLink: &link}}))
}

func TestLinkDeliveryStartsAreRetriedAndAuditedOnce(t *testing.T) {
	f := newFixture(t)
	wf := &startingTemporal{down: true, already: map[string]bool{}}
	f.requestWelcome(t, "ada", "link-1")
	s := newServer(Config{PublicURL: "http://example.com", LinkRetryInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil))}, f.st, wf, f.keys)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	ctx := context.Background()

	// Temporal is down: the start is tried again and again, audited once.
	waitFor(t, func() bool { return wf.get(func(s *startingTemporal) bool { return s.tries >= 4 }) }, "four tries to start the delivery")
	delayed, err := f.st.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "welcome.delayed"})
	must(t, err)
	if len(delayed) != 1 || delayed[0].AuthID != "ada" || !strings.Contains(delayed[0].Detail["error"].(string), "connection refused") {
		t.Fatalf("welcome.delayed events = %+v, want one for ada saying why", delayed)
	}
	if l, _ := f.st.GetCredentialLink(ctx, "link-1"); l.DispatchedAt != nil {
		t.Fatal("a link whose start failed is marked started")
	}
	if logs := f.logs.String(); !strings.Contains(logs, "retried later") || strings.Contains(logs, "ada") {
		t.Fatalf("the failed start is not logged, or logged with the user:\n%s", logs)
	}

	// Back up, the next pass starts it, under an ID that names no user.
	wf.set(func(s *startingTemporal) { s.down = false })
	waitFor(t, func() bool {
		l, err := f.st.GetCredentialLink(ctx, "link-1")
		return err == nil && l.DispatchedAt != nil
	}, "the link's delivery to start")
	want := workflows.CredentialLinkWorkflowID("acme", "link-1")
	if !wf.get(func(s *startingTemporal) bool {
		return slices.Equal(s.started, []string{want}) &&
			s.inputs[0] == workflows.CredentialLinkInput{LinkID: "link-1", AccountID: "acme"}
	}) {
		t.Fatalf("started %v %v, want only %s with the link's ID", wf.started, wf.inputs, want)
	}

	// A delivery another replica started first counts as started.
	f.requestWelcome(t, "bob", "link-2")
	wf.set(func(s *startingTemporal) { s.already[workflows.CredentialLinkWorkflowID("acme", "link-2")] = true })
	s.wakeLinkDispatcher()
	waitFor(t, func() bool {
		l, err := f.st.GetCredentialLink(ctx, "link-2")
		return err == nil && l.DispatchedAt != nil
	}, "the link started elsewhere to be marked")
	if n, _ := f.st.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "welcome.delayed"}); len(n) != 1 {
		t.Fatalf("welcome.delayed events = %d, want still 1", len(n))
	}
}

// A link requested while this server was not running (its process
// stopped between the commit and the start) is started when the next one
// starts.
func TestLinksLeftByAStoppedProcessAreStarted(t *testing.T) {
	f := newFixture(t)
	f.requestWelcome(t, "ada", "link-left")
	wf := &startingTemporal{already: map[string]bool{}}
	s := newServer(Config{PublicURL: "http://example.com", Logger: slog.New(slog.NewTextHandler(f.logs, nil))}, f.st, wf, f.keys)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	waitFor(t, func() bool { return wf.get(func(s *startingTemporal) bool { return len(s.started) == 1 }) }, "the left link's delivery to start")
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("a second shutdown: %v", err)
	}
}
