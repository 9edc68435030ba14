package api_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flexauth/flexauth/internal/apitest"
)

func TestUsersTotal(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	for _, id := range []string{"ann", "bob", "bea", "carl"} {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": id}, http.StatusCreated)
	}
	out := adminAs[apitest.Users](h, http.MethodGet, "/v1/admin/users?limit=1&offset=1", nil, http.StatusOK)
	if out.Total != 4 || len(out.Users) != 1 {
		t.Fatalf("page = %v", out)
	}
	if out := adminAs[apitest.Users](h, http.MethodGet, "/v1/admin/users?q=b&limit=50", nil, http.StatusOK); out.Total != 2 {
		t.Fatalf("search total = %v", out.Total)
	}
}

func TestAuditPagingTimesAndCSV(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	for _, id := range []string{"a1", "a2", "a3", "=cmd|calc"} {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": id}, http.StatusCreated)
	}
	page := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?type=user.created&limit=3", nil, http.StatusOK)
	if len(page.Events) != 3 || page.Next == "" {
		t.Fatalf("first page = %v", page)
	}
	page = adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?type=user.created&limit=3&before="+page.Next, nil, http.StatusOK)
	if evs := page.Events; len(evs) != 1 || evs[0].Authid != "a1" || page.Next != "" {
		t.Fatalf("last page = %v", page)
	}

	hourAgo := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	inHour := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if evs := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?type=user.created&until="+hourAgo, nil, http.StatusOK).Events; len(evs) != 0 {
		t.Fatalf("events until an hour ago = %v", evs)
	}
	if evs := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?type=user.created&since="+hourAgo+"&until="+inHour, nil, http.StatusOK).Events; len(evs) != 4 {
		t.Fatalf("events within the hour = %d", len(evs))
	}
	wantError(t, h.Do(http.MethodGet, "/v1/admin/audit?since=yesterday", h.AdminKey, nil), http.StatusBadRequest, "RFC 3339")
	wantError(t, h.Do(http.MethodGet, "/v1/admin/audit?since="+inHour+"&until="+hourAgo, h.AdminKey, nil), http.StatusBadRequest, "since must be before until")
	wantError(t, h.Do(http.MethodGet, "/v1/admin/audit?format=xml", h.AdminKey, nil), http.StatusBadRequest, "format")

	res := h.Do(http.MethodGet, "/v1/admin/audit?type=user.created&format=csv", h.AdminKey, nil)
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(res.Header.Get("Content-Disposition"), `filename="audit.csv"`) {
		t.Fatalf("csv = %d %v", res.Status, res.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || strings.Join(rows[0], ",") != "id,time,type,system,authid,attempt,ip,reasons,detail,organisation" {
		t.Fatalf("csv rows = %v", rows)
	}
	if rows[1][4] != "'=cmd|calc" || rows[4][4] != "a1" || !strings.Contains(rows[1][8], `"actor":"key:`) {
		t.Fatalf("csv rows = %v: want newest first, formulas defused, detail as JSON", rows)
	}
}

func TestDevOutbox(t *testing.T) {
	t.Parallel()
	t.Run("outside dev there is no outbox", func(t *testing.T) {
		h := newHarnessWith(t, harnessOptions{adminOnly: true})
		wantError(t, h.Do(http.MethodGet, "/v1/admin/dev/outbox", "", nil), http.StatusNotFound, "not found")
	})

	t.Run("in dev the last 20 messages, newest first", func(t *testing.T) {
		dir := t.TempDir()
		var lines strings.Builder
		for i := range 25 {
			fmt.Fprintf(&lines, `{"id":"m%d","time":"2026-11-23T08:00:%02dZ","channel":"email","to":"admin@localhost","subject":"Your sign-in link for console","body":"x","link":"http://x/l/%d","attempt":"a%d","metadata":{"system":"console"}}`+"\n", i, i, i, i)
		}
		lines.WriteString(`{"id":"half-written`) // a line being appended
		path := filepath.Join(dir, "outbox.jsonl")
		if err := os.WriteFile(path, []byte(lines.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		h := newHarnessWith(t, harnessOptions{adminOnly: true, devOutbox: path})
		token, _ := devToken(t, h)
		res := send(t, h, http.MethodGet, "/v1/admin/dev/outbox", "", map[string]string{"X-Flexauth-Dev-Token": token}, "")
		if res.Status != http.StatusOK {
			t.Fatalf("outbox = %d %s", res.Status, res.Body)
		}
		msgs := apitest.Decode[apitest.DevOutbox](t, res).Messages
		if len(msgs) != 20 {
			t.Fatalf("outbox = %d, %d messages: %s", res.Status, len(msgs), res.Body)
		}
		first, last := msgs[0], msgs[19]
		if first.ID != "m24" || first.Link != "http://x/l/24" || first.System != "console" || last.ID != "m5" {
			t.Fatalf("outbox = %v ... %v", first, last)
		}
	})
}

func TestConsoleFiles(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		t.Helper()
		res, err := client.Get(h.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := get("/console"); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/console/" {
		t.Fatalf("/console = %d %v", res.StatusCode, res.Header)
	}
	res := get("/console/")
	wantHeaders := map[string]string{
		"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           "no-cache",
	}
	for k, v := range wantHeaders {
		if res.Header.Get(k) != v {
			t.Errorf("/console/ %s = %q, want %q", k, res.Header.Get(k), v)
		}
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/console/ = %d %v", res.StatusCode, res.Header)
	}
	entries, err := os.ReadDir("console/assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".js") {
			if res := get("/console/assets/" + e.Name()); res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), "javascript") {
				t.Fatalf("asset %s = %d %v", e.Name(), res.StatusCode, res.Header.Get("Content-Type"))
			}
			break
		}
	}
	for _, path := range []string{"/console/assets/nope.js", "/console/assets/", "/console/assets/%2e%2e/index.html"} {
		if res := get(path); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s = %d, want 404", path, res.StatusCode)
		}
	}
}
