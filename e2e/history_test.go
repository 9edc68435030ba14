package e2e

import (
	"context"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flexauth/flexauth/internal/historytest"
)

// saveHistoryEnv names the folder where tests save the workflow histories
// they produce; workflows/testdata keeps them for the replay test:
//
//	FLEXAUTH_SAVE_HISTORIES=$PWD/workflows/testdata go test ./e2e/
//
// The payloads are encrypted, as in production, with
// historytest.MasterKey, which the replay test decrypts them with.
const saveHistoryEnv = "FLEXAUTH_SAVE_HISTORIES"

// saveHistory writes the workflow's history as JSON when saveHistoryEnv is
// set, so the replay test can check that workflow changes stay
// deterministic for attempts already in flight.
func (h *harness) saveHistory(workflowID, name string) {
	h.t.Helper()
	dir := os.Getenv(saveHistoryEnv)
	if dir == "" {
		return
	}
	hist, err := historytest.Fetch(context.Background(), h.Temporal, workflowID)
	if err != nil {
		h.t.Fatal(err)
	}
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), raw, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// workflowID is the workflow ID of the subject's latest attempt, as its row
// records it (the ID is a keyed digest: tests cannot derive it).
func (h *harness) workflowID(system, authid string) string {
	h.t.Helper()
	att, err := h.Store.LatestAttempt(context.Background(), "acme", system, authid)
	if err != nil {
		h.t.Fatal(err)
	}
	return att.WorkflowID
}
