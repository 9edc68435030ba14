package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flexauth/flexauth/internal/apitest"
	"github.com/flexauth/flexauth/policies"
)

func TestDirectoryGroupsDecideThroughThePolicy(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "people.csv")
	csv := "authid,name,email,phone,groups,department\n" +
		"nina,Nina,nina@corp.example,,staff;vpn-users,engineering\n" +
		"omar,Omar,omar@corp.example,,contractors,sales\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	// The default policy plus one rule of the account's: the VPN is for staff.
	modules := policies.Default()
	modules["staff.rego"] = `package flexauth.risk

deny contains sprintf("%s is for staff; %s is in %v (%s)", [input.system.name, input.subject.authid, input.subject.groups, object.get(input.subject.attributes, "department", "?")]) if {
	input.system.name == "vpn"
	not "staff" in input.subject.groups
}
`
	engine, err := policies.New(context.Background(), modules)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, withDirectory(file), withPolicy(engine))
	h.Admin(http.MethodPost, "/v1/admin/systems", req{"name": "vpn", "methods": []string{"pin"}, "sensitivity": "low"}, http.StatusCreated)
	for _, who := range []string{"nina", "omar"} {
		// No email in flexauth: the directory's address is used.
		h.Admin(http.MethodPost, "/v1/admin/users", req{"authid": who}, http.StatusCreated)
		h.Admin(http.MethodPut, "/v1/admin/users/"+who+"/systems", req{"assignments": []req{{"system": "vpn", "method": "pin"}}}, http.StatusOK)
	}

	h.Expect("/v1/start", req{"system": "vpn", "authid": "nina"}, http.StatusOK, "success")
	msg := h.waitMessage("nina@corp.example", 1)
	h.Expect("/v1/check", req{"system": "vpn", "authid": "nina", "pin": msg.Code}, http.StatusOK, "authenticated")

	h.Expect("/v1/start", req{"system": "vpn", "authid": "omar"}, http.StatusForbidden, "security error")
	out := apitest.AdminAs[apitest.AuditEvents](h.Client, http.MethodGet, "/v1/admin/audit?authid=omar&type=attempt.denied", nil, http.StatusOK)
	events := out.Events
	if len(events) != 1 {
		t.Fatalf("denials = %v", out)
	}
	if all := events[0].Reasons; !strings.Contains(strings.Join(all, "|"), "vpn is for staff; omar is in [\"contractors\"] (sales)") {
		t.Fatalf("reasons = %v", all)
	}
}
