package e2e

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
)

// TestConcurrentWrongCodesAreCountedOnce sends a burst of wrong PINs at once
// on PostgreSQL, the way concurrent workflow updates make Temporal drop and
// rerun speculative workflow tasks: every side effect of a submission
// happens once, so no more failures are counted (or audited) than the
// policy's limit, none after the attempt locked, and every answer is the
// app API's security error.
func TestConcurrentWrongCodesAreCountedOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.Setup("vpn", []string{"pin"}, "low", "ivy", "pin")
	h.Expect("/v1/start", req{"system": "vpn", "authid": "ivy"}, http.StatusOK, "success")
	msg := h.waitMessage("ivy@example.com", 1)
	wrong := "12345678"
	if wrong == msg.Code {
		wrong = "87654321"
	}
	const burst = 12
	statuses := make([]int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			statuses[i] = h.App("/v1/check", req{"system": "vpn", "authid": "ivy", "pin": wrong}).Status
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusForbidden {
			t.Errorf("submission %d answered %d, want 403", i, st)
		}
	}
	h.saveHistory(h.workflowID("vpn", "ivy"), "pin_concurrent_wrong_codes")

	events, err := h.Store.ListAudit(context.Background(), store.AuditFilter{AccountID: "acme", AuthID: "ivy", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rejected, locked, lockedID := 0, 0, int64(0)
	for _, e := range events {
		if e.Type == attempt.EventLocked {
			locked++
			lockedID = e.ID
		}
	}
	for _, e := range events {
		if e.Type != attempt.EventRejected {
			continue
		}
		rejected++
		if e.ID > lockedID {
			t.Errorf("a rejection (event %d) recorded after attempt.locked (event %d)", e.ID, lockedID)
		}
	}
	if rejected != 5 || locked != 1 {
		t.Fatalf("%d code.rejected and %d attempt.locked events, want 5 and 1", rejected, locked)
	}
	user, err := h.Store.GetUser(context.Background(), "acme", "ivy")
	if err != nil {
		t.Fatal(err)
	}
	locks, err := h.Store.FactorLocks(context.Background(), user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(locks) != 1 || locks[0].Factor != store.FactorPIN || locks[0].Failures != 5 {
		t.Fatalf("factor locks = %+v, want the pin's 5 failures", locks)
	}
}
