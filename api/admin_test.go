package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
)

// wantError asserts an admin API error answer and the message it carries.
func wantError(t *testing.T, res apitest.Response, status int, contains string) {
	t.Helper()
	// Loosely: error is in the body of several schemas (Error,
	// PolicyRefused, AffectedUsers...); the tests that read the rest
	// decode the whole body.
	var body struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(res.Body), &body)
	got := body.Error
	if res.Status != status || !strings.Contains(got, contains) {
		t.Fatalf("answer = %d %s, want %d with %q", res.Status, res.Body, status, contains)
	}
}

func TestAdminKeys(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	tests := []struct {
		name   string
		key    string
		status int
		error  string
	}{
		{"a missing key is refused", "", http.StatusUnauthorized, "invalid api key"},
		{"an unknown key is refused", "fa_admin_nope", http.StatusUnauthorized, "invalid api key"},
		{"an app key is not enough", h.AppKey, http.StatusForbidden, "admin key required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/v1/admin/systems", "/v1/admin/users", "/v1/admin/audit"} {
				wantError(t, h.Do(http.MethodGet, path, tt.key, nil), tt.status, tt.error)
			}
			wantError(t, h.Do(http.MethodPost, "/v1/admin/systems", tt.key, req{"name": "x", "methods": []string{"pin"}}), tt.status, tt.error)
		})
	}
	t.Run("the admin key is let in", func(t *testing.T) {
		h.Admin(http.MethodGet, "/v1/admin/systems", nil, http.StatusOK)
	})
}

func TestSystems(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})

	created := adminAs[apitest.System](h, http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin", "totp"}}, http.StatusCreated)
	if created.Name != "vpn" || created.Sensitivity != "medium" || created.TTLSeconds != 300 ||
		len(created.Methods) != 2 || created.CreatedAt == "" || created.UpdatedAt == "" {
		t.Fatalf("created system = %v, want defaults medium and 300s", created)
	}
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "wiki.internal_v2", "methods": []string{"passwordless"}, "sensitivity": "low", "ttl_seconds": 30}, http.StatusCreated)

	invalid := []struct {
		name  string
		body  any
		error string
	}{
		{"a duplicate name is a conflict", req{"name": "vpn", "methods": []string{"pin"}}, `system "vpn" already exists`},
		{"a missing name", req{"methods": []string{"pin"}}, "name is required"},
		{"a name with a space", req{"name": "my vpn", "methods": []string{"pin"}}, "may hold only"},
		{"a name over 100 characters", req{"name": strings.Repeat("n", 101), "methods": []string{"pin"}}, "at most 100"},
		{"no methods", req{"name": "a", "methods": []string{}}, "methods must name at least one"},
		{"an unknown method", req{"name": "a", "methods": []string{"sms"}}, `unknown method "sms"`},
		{"a method listed twice", req{"name": "a", "methods": []string{"pin", "pin"}}, `method "pin" is listed twice`},
		{"an unknown sensitivity", req{"name": "a", "methods": []string{"pin"}, "sensitivity": "extreme"}, "sensitivity"},
		{"a ttl under 30 seconds", req{"name": "a", "methods": []string{"pin"}, "ttl_seconds": 29}, "between 30 and 3600"},
		{"a ttl over an hour", req{"name": "a", "methods": []string{"pin"}, "ttl_seconds": 3601}, "between 30 and 3600"},
		{"a ttl that is not an integer", req{"name": "a", "methods": []string{"pin"}, "ttl_seconds": 30.5}, "ttl_seconds must be an integer"},
		{"methods as a string", req{"name": "a", "methods": "pin"}, "methods must be an array"},
		{"an unknown field", req{"name": "a", "methods": []string{"pin"}, "colour": "red"}, `unknown field "colour"`},
		{"malformed JSON", `{"name":`, "malformed JSON"},
	}
	for _, tt := range invalid {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			status := http.StatusBadRequest
			if strings.Contains(tt.name, "conflict") {
				status = http.StatusConflict
			}
			wantError(t, h.Do(http.MethodPost, "/v1/admin/systems", h.AdminKey, tt.body), status, tt.error)
		})
	}

	t.Run("systems are listed by name", func(t *testing.T) {
		list := adminAs[apitest.Systems](h, http.MethodGet, "/v1/admin/systems", nil, http.StatusOK).Systems
		if len(list) != 2 || list[0].Name != "vpn" || list[1].Name != "wiki.internal_v2" {
			t.Fatalf("systems = %v", list)
		}
	})

	t.Run("a patch changes only what it names", func(t *testing.T) {
		got := adminAs[apitest.System](h, http.MethodPatch, "/v1/admin/systems/vpn", req{"sensitivity": "high", "ttl_seconds": 120}, http.StatusOK)
		if got.Sensitivity != "high" || got.TTLSeconds != 120 || len(got.Methods) != 2 {
			t.Fatalf("patched = %v", got)
		}
		got = adminAs[apitest.System](h, http.MethodGet, "/v1/admin/systems/vpn", nil, http.StatusOK)
		if got.Sensitivity != "high" {
			t.Fatalf("system after patch = %v", got)
		}
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/systems/vpn", h.AdminKey, req{"name": "other"}), http.StatusBadRequest, `unknown field "name"`)
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/systems/vpn", h.AdminKey, req{"methods": []string{}}), http.StatusBadRequest, "at least one")
	})

	t.Run("dropping a method users are assigned is a conflict", func(t *testing.T) {
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "alice", "email": "alice@example.com"}, http.StatusCreated)
		h.Admin(http.MethodPut, "/v1/admin/users/alice/systems", req{"assignments": []req{{"system": "vpn", "method": "totp"}}}, http.StatusOK)
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/systems/vpn", h.AdminKey, req{"methods": []string{"pin"}}), http.StatusConflict, "1 user is assigned a method")
		h.Admin(http.MethodPatch, "/v1/admin/systems/vpn", req{"methods": []string{"totp"}}, http.StatusOK)
	})

	t.Run("the console system cannot be deleted", func(t *testing.T) {
		h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "console", "methods": []string{"passwordless"}}, http.StatusCreated)
		wantError(t, h.Do(http.MethodDelete, "/v1/admin/systems/console", h.AdminKey, nil), http.StatusConflict, "cannot be deleted")
		h.Admin(http.MethodGet, "/v1/admin/systems/console", nil, http.StatusOK)
	})

	t.Run("a deleted system is gone", func(t *testing.T) {
		h.Admin(http.MethodDelete, "/v1/admin/systems/vpn", nil, http.StatusNoContent)
		wantError(t, h.Do(http.MethodGet, "/v1/admin/systems/vpn", h.AdminKey, nil), http.StatusNotFound, `system "vpn" not found`)
		if as := adminAs[apitest.Assignments](h, http.MethodGet, "/v1/admin/users/alice/systems", nil, http.StatusOK).Assignments; len(as) != 0 {
			t.Fatalf("assignments of a deleted system remain: %v", as)
		}
	})

	for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
		t.Run(method+" of an unknown system is 404", func(t *testing.T) {
			wantError(t, h.Do(method, "/v1/admin/systems/nope", h.AdminKey, req{"ttl_seconds": 60}), http.StatusNotFound, `system "nope" not found`)
		})
	}

	t.Run("every change is audited with the admin key's name", func(t *testing.T) {
		out := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?system=vpn", nil, http.StatusOK)
		var types []string
		for _, ev := range out.Events {
			types = append(types, ev.Type)
			if ev.Detail["by"] != "admin key" {
				t.Fatalf("event %v does not name the admin key", ev)
			}
		}
		want := "system.deleted,system.updated,system.updated,system.created"
		if strings.Join(types, ",") != want {
			t.Fatalf("audit of vpn = %v, want %s", types, want)
		}
	})
}

func TestUsers(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})

	created := adminAs[apitest.User](h, http.MethodPost, "/v1/admin/users", req{"authid": "alice", "name": "Alice", "email": "alice@example.com", "phone": "+15555550100"}, http.StatusCreated)
	if c := created; c.Authid != "alice" || c.Name != "Alice" || c.Email != "alice@example.com" || c.Phone != "+15555550100" ||
		c.Status != "active" || c.TOTPEnabled || c.LastLoginAt != nil || c.LoginCount != 0 || c.LastIP != "" {
		t.Fatalf("created user = %+v", created)
	}
	// [], not null.
	if as := created.Assignments; as == nil || len(as) != 0 {
		t.Fatalf("created user assignments = %v, want []", created.Assignments)
	}
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "dept/bob", "name": "Bob", "status": "disabled"}, http.StatusCreated)

	invalid := []struct {
		name   string
		body   any
		status int
		error  string
	}{
		{"a duplicate authid", req{"authid": "alice"}, http.StatusConflict, `user "alice" already exists`},
		{"a missing authid", req{"name": "x"}, http.StatusBadRequest, "authid is required"},
		{"an authid over 256 characters", req{"authid": strings.Repeat("a", 257)}, http.StatusBadRequest, "at most 256"},
		{"an authid with a control character", req{"authid": "al\nice"}, http.StatusBadRequest, "control characters"},
		{"an email that is not an address", req{"authid": "c", "email": "not-an-address"}, http.StatusBadRequest, "not a bare address"},
		{"an email with a display name", req{"authid": "c", "email": "Carol <carol@example.com>"}, http.StatusBadRequest, "not a bare address"},
		{"a phone without +", req{"authid": "c", "phone": "15555550100"}, http.StatusBadRequest, "E.164"},
		{"a phone too short", req{"authid": "c", "phone": "+1234567"}, http.StatusBadRequest, "E.164"},
		{"a phone with letters", req{"authid": "c", "phone": "+1555CALLME"}, http.StatusBadRequest, "E.164"},
		{"an unknown status", req{"authid": "c", "status": "banned"}, http.StatusBadRequest, `status "banned"`},
		{"an authid that is a number", req{"authid": 7}, http.StatusBadRequest, "authid must be a string"},
		{"an unknown field", req{"authid": "c", "role": "admin"}, http.StatusBadRequest, `unknown field "role"`},
	}
	for _, tt := range invalid {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			wantError(t, h.Do(http.MethodPost, "/v1/admin/users", h.AdminKey, tt.body), tt.status, tt.error)
		})
	}

	t.Run("users are listed, searched and paged", func(t *testing.T) {
		tests := []struct {
			query string
			want  string
		}{
			{"", "alice,dept/bob"},
			{"?q=BOB", "dept/bob"},
			{"?q=example.com", "alice"},
			{"?limit=1", "alice"},
			{"?limit=1&offset=1", "dept/bob"},
		}
		for _, tt := range tests {
			list := adminAs[apitest.Users](h, http.MethodGet, "/v1/admin/users"+tt.query, nil, http.StatusOK).Users
			var got []string
			for _, u := range list {
				got = append(got, u.Authid)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("users%s = %v, want %s", tt.query, got, tt.want)
			}
		}
		wantError(t, h.Do(http.MethodGet, "/v1/admin/users?limit=0", h.AdminKey, nil), http.StatusBadRequest, "limit must be")
		wantError(t, h.Do(http.MethodGet, "/v1/admin/users?offset=-1", h.AdminKey, nil), http.StatusBadRequest, "offset must be")
	})

	t.Run("an authid holding a slash is addressed escaped", func(t *testing.T) {
		got := adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/dept%2Fbob", nil, http.StatusOK)
		if got.Authid != "dept/bob" || got.Status != "disabled" {
			t.Fatalf("user = %v", got)
		}
	})

	t.Run("a patch changes only what it names", func(t *testing.T) {
		got := adminAs[apitest.User](h, http.MethodPatch, "/v1/admin/users/alice", req{"phone": "", "status": "disabled"}, http.StatusOK)
		if got.Phone != "" || got.Status != "disabled" || got.Email != "alice@example.com" || got.Name != "Alice" {
			t.Fatalf("patched = %v", got)
		}
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/alice", h.AdminKey, req{"email": "nope"}), http.StatusBadRequest, "not a bare address")
		wantError(t, h.Do(http.MethodPatch, "/v1/admin/users/alice", h.AdminKey, req{"authid": "alicia"}), http.StatusBadRequest, `unknown field "authid"`)
	})

	t.Run("a deleted user is gone", func(t *testing.T) {
		h.Admin(http.MethodDelete, "/v1/admin/users/dept%2Fbob", nil, http.StatusNoContent)
		wantError(t, h.Do(http.MethodGet, "/v1/admin/users/dept%2Fbob", h.AdminKey, nil), http.StatusNotFound, `user "dept/bob" not found`)
	})

	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/v1/admin/users/nobody"},
		{http.MethodPatch, "/v1/admin/users/nobody"},
		{http.MethodDelete, "/v1/admin/users/nobody"},
		{http.MethodGet, "/v1/admin/users/nobody/systems"},
		{http.MethodPut, "/v1/admin/users/nobody/systems"},
		{http.MethodPost, "/v1/admin/users/nobody/totp"},
	} {
		t.Run(tt.method+" "+tt.path+" is 404", func(t *testing.T) {
			var body any
			if tt.method == http.MethodPatch {
				body = req{"name": "x"}
			}
			if tt.method == http.MethodPut {
				body = req{"assignments": []req{}}
			}
			wantError(t, h.Do(tt.method, tt.path, h.AdminKey, body), http.StatusNotFound, `user "nobody" not found`)
		})
	}

	t.Run("every change is audited, and the trail pages backwards", func(t *testing.T) {
		types := h.AuditTypes("authid=alice")
		if strings.Join(types, ",") != "user.updated,user.created" {
			t.Fatalf("audit of alice = %v", types)
		}
		newest := adminAs[apitest.AuditEvents](h, http.MethodGet, "/v1/admin/audit?authid=alice&limit=1", nil, http.StatusOK).Events
		if len(newest) != 1 {
			t.Fatalf("limit=1 gave %d events", len(newest))
		}
		id := strconv.FormatInt(newest[0].ID, 10)
		if older := h.AuditTypes("authid=alice&before=" + id); strings.Join(older, ",") != "user.created" {
			t.Fatalf("events before %s = %v", id, older)
		}
		wantError(t, h.Do(http.MethodGet, "/v1/admin/audit?before=x", h.AdminKey, nil), http.StatusBadRequest, "before must be")
	})
}

func TestAssignments(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessOptions{adminOnly: true})
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin", "totp"}}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "wiki", "methods": []string{"passwordless"}}, http.StatusCreated)
	h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": "alice", "email": "alice@example.com"}, http.StatusCreated)
	path := "/v1/admin/users/alice/systems"

	invalid := []struct {
		name   string
		body   any
		status int
		error  string
	}{
		{"a method the system does not enable", req{"assignments": []req{{"system": "wiki", "method": "pin"}}}, http.StatusBadRequest, `system "wiki" does not enable method "pin"`},
		{"an unknown system", req{"assignments": []req{{"system": "nope", "method": "pin"}}}, http.StatusNotFound, `system "nope" not found`},
		{"a system listed twice", req{"assignments": []req{{"system": "vpn", "method": "pin"}, {"system": "vpn", "method": "totp"}}}, http.StatusBadRequest, `system "vpn" is listed twice`},
		{"an assignment without a method", req{"assignments": []req{{"system": "vpn"}}}, http.StatusBadRequest, "needs both system and method"},
		{"no assignments field", req{}, http.StatusBadRequest, "assignments is required"},
		{"an unknown field in an assignment", req{"assignments": []req{{"system": "vpn", "method": "pin", "x": 1}}}, http.StatusBadRequest, `unknown field "x"`},
	}
	for _, tt := range invalid {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			wantError(t, h.Do(http.MethodPut, path, h.AdminKey, tt.body), tt.status, tt.error)
		})
	}

	t.Run("assignments are replaced all at once", func(t *testing.T) {
		got := adminAs[apitest.Assignments](h, http.MethodPut, path, req{"assignments": []req{{"system": "wiki", "method": "passwordless"}, {"system": "vpn", "method": "totp"}}}, http.StatusOK)
		if s := assignmentList(got.Assignments); s != "vpn:totp,wiki:passwordless" {
			t.Fatalf("assignments = %s", s)
		}
		got = adminAs[apitest.Assignments](h, http.MethodPut, path, req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)
		if s := assignmentList(got.Assignments); s != "vpn:pin" {
			t.Fatalf("assignments after replacing = %s", s)
		}
		if s := assignmentList(adminAs[apitest.Assignments](h, http.MethodGet, path, nil, http.StatusOK).Assignments); s != "vpn:pin" {
			t.Fatalf("GET assignments = %s", s)
		}
		if s := assignmentList(adminAs[apitest.User](h, http.MethodGet, "/v1/admin/users/alice", nil, http.StatusOK).Assignments); s != "vpn:pin" {
			t.Fatalf("user's assignments = %s", s)
		}
		if types := h.AuditTypes("authid=alice&type=assignments.updated"); len(types) != 2 {
			t.Fatalf("assignment events = %v, want 2", types)
		}
	})
}

func assignmentList(as []apitest.Assignment) string {
	var out []string
	for _, a := range as {
		out = append(out, a.System+":"+a.Method)
	}
	return strings.Join(out, ",")
}
