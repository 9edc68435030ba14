package apitest

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// contractTypes are the types of contract.go by the schema of
// api/openapi.json each mirrors ("Schema" or "Schema.field" for a nested
// object, an array's items for an array).
var contractTypes = map[string]any{
	"Policy": Policy{}, "Policy.active": PolicyActive{}, "Policy.versions": PolicyVersion{},
	"PolicyTestResult": PolicyTestResult{}, "PolicyUploaded": PolicyUploaded{},
	"PolicyRefused": PolicyRefused{}, "PolicyRefused.problems": PolicyRefusedProblem{},
	"PolicyRollback": PolicyRollback{}, "PolicyEvaluation": PolicyEvaluation{}, "PolicyEvaluation.decision": PolicyEvaluationDecision{},
	"StartSuccess": StartSuccess{}, "Result": Result{}, "SecurityError": SecurityError{}, "Error": Error{},
	"System": System{}, "Systems": Systems{}, "Assignment": Assignment{}, "Assignments": Assignments{},
	"User": User{}, "Users": Users{},
	"ImportResult": ImportResult{}, "ImportResult.summary": ImportResultSummary{}, "ImportResult.rows": ImportResultRow{},
	"ConsoleSignInPending": ConsoleSignInPending{}, "ConsoleCheckEnded": ConsoleCheckEnded{},
	"ConsoleAuthenticated": ConsoleAuthenticated{}, "ConsoleSession": ConsoleSession{},
	"DevOutbox": DevOutbox{}, "DevOutbox.messages": DevOutboxMessage{},
	"Stats": Stats{}, "Stats.days": StatsDay{}, "Stats.totals": StatsTotals{},
	"UserAttempts": UserAttempts{}, "UserAttempts.attempts": UserAttemptsAttempt{}, "UserAttempts.by_method": UserAttemptsByMethodItem{},
	"RecoveryCodes": RecoveryCodes{}, "SSOIdentity": SSOIdentity{}, "TOTPEnrolment": TOTPEnrolment{}, "TOTPEnabled": TOTPEnabled{},
	"AuditEvent": AuditEvent{}, "AuditEvents": AuditEvents{}, "Health": Health{},
	"APIKey": APIKey{}, "APIKeys": APIKeys{}, "Account": Account{}, "Account.credentials_deleted": AccountCredentialsDeleted{},
	"Lockout": Lockout{}, "EffectiveMethod": EffectiveMethod{}, "Effective": Effective{},
	"PolicyEffective": PolicyEffective{}, "PolicyEffective.sensitivities": PolicyEffectiveSensitivity{},
	"EmailLoginResults": EmailLoginResults{}, "EmailLoginResults.results": EmailLoginResultsResult{}, "EmailLoginResults.summary": EmailLoginResultsSummary{},
	"SignInMethods": SignInMethods{}, "SignInWay": SignInWay{}, "SignInWay.sso": SignInWaySSO{}, "SignInWay.security": SignInWaySecurity{},
	"PasswordResetSent": PasswordResetSent{}, "AffectedUsers": AffectedUsers{},
	"Organisation": Organisation{}, "Organisations": Organisations{}, "UserMoved": UserMoved{},
	"Readiness": Readiness{}, "Readiness.checks": ReadinessChecks{},
	"Messages": Messages{}, "Messages.brand": MessagesBrand{}, "MessagePreview": MessagePreview{},
}

// TestContractMatchesOpenAPI: each contract type declares exactly the
// properties its schema documents, by the same names, so that the tests
// decoding with it check the documented contract and nothing else.
func TestContractMatchesOpenAPI(t *testing.T) {
	raw, err := os.ReadFile("../../api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	for name, v := range contractTypes {
		t.Run(name, func(t *testing.T) {
			top, field, nested := strings.Cut(name, ".")
			s, ok := schemas[top]
			if !ok {
				t.Fatalf("openapi.json has no schema %s", top)
			}
			if nested {
				p, ok := s.properties(schemas)[field]
				if !ok {
					t.Fatalf("schema %s has no property %s", top, field)
				}
				if p.Items != nil {
					p = *p.Items
				}
				s = p
			}
			want := slices.Sorted(func(yield func(string) bool) {
				for k := range s.properties(schemas) {
					if !yield(k) {
						return
					}
				}
			})
			if got := jsonNames(reflect.TypeOf(v)); !slices.Equal(got, want) {
				t.Errorf("%T declares %q, the schema documents %q", v, got, want)
			}
		})
	}
}

// schema is the part of an OpenAPI schema that names properties.
type schema struct {
	Ref        string            `json:"$ref"`
	AllOf      []schema          `json:"allOf"`
	Properties map[string]schema `json:"properties"`
	Items      *schema           `json:"items"`
}

// properties are the schema's properties, through $ref and allOf.
func (s schema) properties(all map[string]schema) map[string]schema {
	if s.Ref != "" {
		return all[strings.TrimPrefix(s.Ref, "#/components/schemas/")].properties(all)
	}
	out := map[string]schema{}
	for _, part := range s.AllOf {
		for k, v := range part.properties(all) {
			out[k] = v
		}
	}
	for k, v := range s.Properties {
		out[k] = v
	}
	return out
}

// jsonNames are the JSON names of a struct's fields, embedded structs'
// included, sorted.
func jsonNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if f.Anonymous {
			out = append(out, jsonNames(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
