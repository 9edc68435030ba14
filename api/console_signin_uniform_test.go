package api_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/api"
	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/internal/deploytest"
	"github.com/flexauth/flexauth/store"
)

// The console's sign-in reveals nobody: an administrator, a user who is
// not one, an unknown user and an unknown account get the same answers,
// until the sign-in ends; only the administrator receives a message.
func TestConsoleSignInRevealsNobody(t *testing.T) {
	t.Parallel()
	h := consoleHarness(t)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "outsider", "email": "o@example.com"}, http.StatusCreated)

	people := []struct {
		name, account, authid string
	}{
		{"an administrator", deploytest.Account, "pinner"},
		{"a user who is not an administrator", deploytest.Account, "outsider"},
		{"an unknown user", deploytest.Account, "nobody"},
		{"an unknown account", "no-such-account", "pinner"},
	}
	browsers := make([]*browser, len(people))
	for i := range people {
		browsers[i] = newBrowser(t, h)
	}
	// answers sends one step for everybody and checks that they were all
	// answered alike.
	answers := func(step string, send func(i int) apitest.Response) string {
		t.Helper()
		var first string
		for i, p := range people {
			got := shape(send(i))
			if i == 0 {
				first = got
				continue
			}
			if got != first {
				t.Errorf("%s for %s:\n%s\nwant as for %s:\n%s", step, p.name, got, people[0].name, first)
			}
		}
		return first
	}

	signIn := answers("sign-in", func(i int) apitest.Response {
		return browsers[i].do(http.MethodPost, "/v1/admin/session", req{"account": people[i].account, "authid": people[i].authid}, false)
	})
	if !strings.HasPrefix(signIn, "200\n") || !strings.Contains(signIn, "Set-Cookie: flexauth_signin=…; Path=/v1/admin/session; Max-Age=900; HttpOnly; SameSite=Strict") ||
		!strings.HasSuffix(signIn, `{"result":"pending","expires_at":"…"}`) {
		t.Fatalf("sign-in answered\n%s\nwant 200 pending with a sign-in cookie", signIn)
	}
	for _, step := range []struct {
		name string
		body any
	}{{"check", nil}, {"check with a wrong code", req{"pin": "00000000"}}} {
		got := answers(step.name, func(i int) apitest.Response {
			began := time.Now()
			res := browsers[i].do(http.MethodPost, "/v1/admin/session/check", step.body, false)
			if took := time.Since(began); step.body != nil && took < time.Second {
				t.Errorf("a wrong code of %s was answered after %v, before the 1s floor", people[i].name, took)
			}
			return res
		})
		if !strings.HasPrefix(got, "202\n") || !strings.HasSuffix(got, `{"result":"pending"}`) {
			t.Fatalf("%s answered\n%s\nwant 202 pending", step.name, got)
		}
	}

	// Behind the same answers: the administrator's attempt waits for its
	// code, the non-administrator's was denied, and the unknown account
	// started nothing.
	api.WaitBackground(h.API)
	ctx := context.Background()
	if att := h.latestConsoleAttempt("pinner"); att.State != store.AttemptPending || att.Method != "pin" {
		t.Fatalf("the administrator's attempt = %+v, want a pending PIN attempt", att)
	}
	h.outbox.message(t, h.latestConsoleAttempt("pinner").ID)
	if att := h.latestConsoleAttempt("outsider"); att.State != store.AttemptDenied {
		t.Fatalf("the non-administrator's attempt = %+v, want denied", att)
	}
	if _, err := h.Store.LatestAttempt(ctx, "no-such-account", "console", "pinner"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the unknown account has an attempt: err = %v", err)
	}

	// When the sign-in's 15 minutes are over, every one has expired.
	t.Cleanup(func() { h.skew.Store(0) })
	h.skew.Store(int64(15*time.Minute + time.Second))
	expired := answers("check after 15 minutes", func(i int) apitest.Response {
		return browsers[i].do(http.MethodPost, "/v1/admin/session/check", nil, false)
	})
	if !strings.HasPrefix(expired, "403\n") || !strings.HasSuffix(expired, `{"result":"expired"}`) {
		t.Fatalf("checks after 15 minutes answered\n%s\nwant 403 expired", expired)
	}

	// Malformed sign-ins are still told what is wrong.
	b := newBrowser(t, h)
	wantError(t, b.do(http.MethodPost, "/v1/admin/session", req{"authid": "root"}, false), http.StatusBadRequest, "account is required")
	wantError(t, b.do(http.MethodPost, "/v1/admin/session", req{"account": deploytest.Account}, false), http.StatusBadRequest, "authid is required")
	wantError(t, b.do(http.MethodPost, "/v1/admin/session", req{"account": strings.Repeat("a", 101), "authid": "root"}, false), http.StatusBadRequest, "at most 100")
	r, err := http.NewRequest(http.MethodPost, h.URL+"/v1/admin/session", strings.NewReader(`{"account":`))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	wantError(t, b.send(r), http.StatusBadRequest, "")
	if b.cookie("flexauth_signin") != "" {
		t.Fatal("a malformed sign-in set a sign-in cookie")
	}
}

var (
	cookieValue = regexp.MustCompile(`^([^=]+)=[^;]*`)
	expiresAt   = regexp.MustCompile(`"expires_at":"[^"]*"`)
)

// shape is an answer without what differs between any two requests: the
// date, cookie values and the sign-in's end.
func shape(res apitest.Response) string {
	var lines []string
	for k, vs := range res.Header {
		if k == "Date" {
			continue
		}
		for _, v := range vs {
			if k == "Set-Cookie" {
				v = cookieValue.ReplaceAllString(v, "$1=…")
			}
			lines = append(lines, k+": "+v)
		}
	}
	sort.Strings(lines)
	return strconv.Itoa(res.Status) + "\n" + strings.Join(lines, "\n") + "\n" + expiresAt.ReplaceAllString(res.Body, `"expires_at":"…"`)
}
