package workflows_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/flexauth/flexauth/internal/historytest"
	"github.com/flexauth/flexauth/internal/tracing"
	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/secret"
	"github.com/flexauth/flexauth/workflows"
)

// TestReplay replays histories recorded from real runs (see e2e's
// FLEXAUTH_SAVE_HISTORIES) against the current workflow code: a change
// that would break attempts already in flight fails here.
//
// It replays as a worker reads histories, through the payload codec: the
// histories recorded before the codec are in clear and must replay as they
// are; those recorded since are encrypted with historytest.MasterKey. Keep
// both kinds in testdata.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata")
	}
	keys, err := secret.New(historytest.MasterKey())
	if err != nil {
		t.Fatal(err)
	}
	logger := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	traces, err := tracing.NewWithProcessor(context.Background(), "replay", tracetest.NewSpanRecorder())
	if err != nil {
		t.Fatal(err)
	}
	tracer, err := traces.TemporalInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	var clear, encrypted int
	for _, f := range files {
		isEncrypted := encryptedHistory(t, f)
		if isEncrypted {
			encrypted++
		} else {
			clear++
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			r, err := worker.NewWorkflowReplayerWithOptions(payloadcodec.ReplayerOptions(keys))
			if err != nil {
				t.Fatal(err)
			}
			r.RegisterWorkflow(workflows.Attempt)
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
			// A worker with tracing on (its interceptor reads and writes
			// trace headers) replays histories recorded without it.
			traced := payloadcodec.ReplayerOptions(keys)
			traced.Interceptors = []interceptor.WorkerInterceptor{tracer}
			tr, err := worker.NewWorkflowReplayerWithOptions(traced)
			if err != nil {
				t.Fatal(err)
			}
			tr.RegisterWorkflow(workflows.Attempt)
			if err := tr.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replay %s with tracing: %v", f, err)
			}
			if !isEncrypted {
				return
			}
			// The codec really is in the way: without the key, the
			// history does not replay.
			plain := worker.NewWorkflowReplayer()
			plain.RegisterWorkflow(workflows.Attempt)
			if err := plain.ReplayWorkflowHistoryFromJSONFile(logger, f); err == nil {
				t.Fatalf("encrypted history %s replayed without the codec", f)
			}
		})
	}
	if clear == 0 || encrypted == 0 {
		t.Fatalf("testdata holds %d histories in clear and %d encrypted; keep at least one of each", clear, encrypted)
	}
}

// encryptedHistory tells whether every payload of the recorded history is
// encrypted by the payload codec (none in clear), failing on a mix.
func encryptedHistory(t *testing.T, file string) bool {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var hist historypb.History
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &hist); err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	var enc, plain int
	for _, p := range historytest.Payloads(&hist) {
		if string(p.GetMetadata()["encoding"]) == payloadcodec.EncodingEncrypted {
			enc++
		} else {
			plain++
		}
	}
	if enc > 0 && plain > 0 {
		t.Fatalf("%s mixes %d encrypted and %d clear payloads", file, enc, plain)
	}
	return enc > 0
}
