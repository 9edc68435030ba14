package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/flexauth/flexauth/workflows"
)

// The benchmarks below measure the two hot paths of an attempt on real
// parts (PostgreSQL, Temporal, the plugin process) and the design choice
// behind check: answering polls from the attempt row instead of a Temporal
// query per poll.
//
//	go test -run '^$' -bench . -benchtime 200x ./e2e/

func BenchmarkCheckPending(b *testing.B) {
	h := newHarness(b)
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")
	body := req{"system": "vpn", "authid": "alice"}
	h.Expect("/v1/start", body, http.StatusOK, "success")
	b.ResetTimer()
	for b.Loop() {
		if res := h.App("/v1/check", body); res.Status != http.StatusAccepted {
			b.Fatalf("check = %d %s", res.Status, res.Body)
		}
	}
}

func BenchmarkQueryAttemptState(b *testing.B) {
	h := newHarness(b)
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")
	h.Expect("/v1/start", req{"system": "vpn", "authid": "alice"}, http.StatusOK, "success")
	id := h.workflowID("vpn", "alice")
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		v, err := h.tc.QueryWorkflow(ctx, id, "", workflows.QueryState)
		if err != nil {
			b.Fatal(err)
		}
		var st workflows.State
		if err := v.Get(&st); err != nil || st.State != workflows.StatePending {
			b.Fatalf("state = %+v, %v", st, err)
		}
	}
}

func BenchmarkStart(b *testing.B) {
	h := newHarness(b, withoutStartLimits())
	h.Setup("vpn", []string{"pin"}, "low", "alice", "pin")
	body := req{"system": "vpn", "authid": "alice"}
	b.ResetTimer()
	for b.Loop() {
		// Each start supersedes the previous attempt, as a user retrying does.
		if res := h.App("/v1/start", body); res.Status != http.StatusOK {
			b.Fatalf("start = %d %s", res.Status, res.Body)
		}
	}
}
