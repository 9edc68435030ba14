package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/store"
)

// lookupBlockingStore holds every "Forgot password?" lookup until release
// closes.
type lookupBlockingStore struct {
	*store.Store
	entered chan string
	release chan struct{}
}

func (b lookupBlockingStore) UsersByEmail(ctx context.Context, accountID, email string, limit int) ([]store.User, error) {
	b.entered <- email
	<-b.release
	return b.Store.UsersByEmail(ctx, accountID, email, limit)
}

// The answer to "Forgot password?" is written before anything is looked
// up: a known address cannot take longer than an unknown one, however
// slow the lookup.
func TestForgotAnswersBeforeLookingAnythingUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	acc, err := f.st.GetAccount(ctx, "acme")
	must(t, err)
	_, err = f.st.UpdateAccountSettings(ctx, store.SettingsChange{AccountID: "acme", From: acc.Settings(),
		To: store.AccountSettings{EmailDelivery: true, EmailPasswordLogin: true}, At: time.Now().UTC()})
	must(t, err)
	now := time.Now().UTC()
	must(t, f.st.ApplyUserChanges(ctx, "acme", []store.UserChange{{Create: true, EnablesPasswordLogin: true, User: store.User{
		ID: "u-ada", AccountID: "acme", AuthID: "ada", Email: "ada@example.com", Status: store.UserActive, EmailPasswordLogin: true,
		CreatedAt: now, UpdatedAt: now}}}))

	st := lookupBlockingStore{Store: f.st, entered: make(chan string, 4), release: make(chan struct{})}
	s := newServer(Config{PublicURL: "http://example.com"}, st, nil, f.keys)
	post := func(email string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "http://example.com/forgot/acme", strings.NewReader(url.Values{"email": {email}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "http://example.com")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w
	}
	known, unknown := post("ada@example.com"), post("nobody@example.com")
	if known.Code != http.StatusOK || known.Body.String() != unknown.Body.String() {
		t.Fatalf("known %d, unknown %d; bodies equal: %v", known.Code, unknown.Code, known.Body.String() == unknown.Body.String())
	}
	// Both answered while their lookups wait.
	for range 2 {
		select {
		case <-st.entered:
		case <-time.After(5 * time.Second):
			t.Fatal("the lookup never ran")
		}
	}
	close(st.release)
	must(t, s.Shutdown(ctx))
	events, err := f.st.ListAudit(ctx, store.AuditFilter{AccountID: "acme", Type: "welcome.requested"})
	must(t, err)
	if len(events) != 1 || events[0].AuthID != "ada" {
		t.Fatalf("welcome.requested = %+v, want one for ada (no password yet) once the lookup went on", events)
	}
}
