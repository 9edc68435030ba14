// Package historytest helps tests record, inspect and replay workflow
// histories: the master key that recorded histories are encrypted with,
// fetching a history from Temporal, and every payload in it.
//
// It is for tests only; nothing in production imports it.
package historytest

import (
	"context"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MasterKey is the master key of the test deployments that record
// histories (e2e with FLEXAUTH_SAVE_HISTORIES): the replay test decrypts
// workflows/testdata with it. It protects nothing but test data.
func MasterKey() []byte {
	return []byte("flexauth recorded histories key!") // 32 bytes
}

// Fetch reads the whole history of the workflow's latest run.
func Fetch(ctx context.Context, c client.Client, workflowID string) (*historypb.History, error) {
	iter := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", workflowID, err)
		}
		hist.Events = append(hist.Events, ev)
	}
	return &hist, nil
}

// Payloads returns every payload in m, however deeply nested: inputs,
// results, update arguments, marker data, failure attributes, memos; not
// search attributes, which Temporal indexes in clear (see walk).
func Payloads(m proto.Message) []*commonpb.Payload {
	var out []*commonpb.Payload
	walk(m.ProtoReflect(), func(p *commonpb.Payload) { out = append(out, p) })
	return out
}

func walk(m protoreflect.Message, f func(*commonpb.Payload)) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		f(p)
		return
	}
	if _, ok := m.Interface().(*commonpb.SearchAttributes); ok {
		// Search attributes are indexed by Temporal, so no codec touches
		// them. flexauth sets none; the SDK's own TemporalChangeVersion,
		// recorded by workflow.GetVersion, names a code change only.
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := range v.List().Len() {
				walk(v.List().Get(i).Message(), f)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				walk(mv.Message(), f)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			walk(v.Message(), f)
		}
		return true
	})
}
