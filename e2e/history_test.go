package e2e

import (
	"context"
	"os"
	"path/filepath"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// saveHistoryEnv names the folder where tests save the workflow histories
// they produce; workflows/testdata keeps them for the replay test:
//
//	FLEXAUTH_SAVE_HISTORIES=$PWD/workflows/testdata go test ./e2e/
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
	iter := h.tc.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			h.t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	raw, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&hist)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), raw, 0o644); err != nil {
		h.t.Fatal(err)
	}
}
