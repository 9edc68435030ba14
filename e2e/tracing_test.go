package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/historytest"
	"github.com/flexauth/flexauth/internal/tracing"
	"github.com/flexauth/flexauth/payloadcodec"
	"github.com/flexauth/flexauth/workflows"
)

// TestTraceLinksRequestWorkflowPluginAndStore signs in through the API
// with the API, the worker, the plugin host and the store traced by one
// provider, as `flexauth dev` runs them, and follows the trace: the server
// span of POST /v1/start is the ancestor of the Temporal spans of the
// attempt workflow and its activities, of the delivery plugin's gRPC call
// and of store queries. No secret of the test is in any span.
func TestTraceLinksRequestWorkflowPluginAndStore(t *testing.T) {
	t.Parallel()
	exported := tracetest.NewInMemoryExporter()
	// The recorder also holds the spans still open (the attempt workflow's
	// runs until the attempt ends), so parents can be followed.
	recorder := tracetest.NewSpanRecorder()
	tr, err := tracing.NewWithProcessor(context.Background(), "flexauth-test", sdktrace.NewSimpleSpanProcessor(exported), recorder)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	h := newHarness(t, withTracing(tr))
	h.Setup("wiki", []string{"passwordless"}, "low", "alice", "passwordless")
	h.Setup("vpn", []string{"pin"}, "low", "bob", "pin")

	h.Expect("/v1/start", req{"system": "wiki", "authid": "alice"}, http.StatusOK, "success")
	msg := h.waitMessage("alice@example.com", 1)
	token := msg.Link[strings.LastIndex(msg.Link, "/")+1:]
	if res := h.Page(http.MethodPost, msg.Link); res.Status != http.StatusOK {
		t.Fatalf("POST link = %d", res.Status)
	}
	h.Expect("/v1/check", req{"system": "wiki", "authid": "alice"}, http.StatusOK, "authenticated")
	h.Expect("/v1/start", req{"system": "vpn", "authid": "bob"}, http.StatusOK, "success")
	pin := h.waitMessage("bob@example.com", 1).Code

	// The delivery's gRPC span ends after the plugin wrote the message:
	// wait for it rather than for a time.
	var spans []sdktrace.ReadOnlySpan
	var sends []sdktrace.ReadOnlySpan
	for deadline := time.Now().Add(15 * time.Second); ; {
		spans = spans[:0]
		for _, s := range recorder.Started() {
			spans = append(spans, s)
		}
		sends = sends[:0]
		for _, s := range recorder.Ended() {
			if s.Name() == "flexauth.plugins.v1.Delivery/Send" {
				sends = append(sends, s)
			}
		}
		if len(sends) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(sends) < 2 {
		t.Fatalf("%d plugin Send spans, want 2 (one per delivery); spans: %v", len(sends), names(spans))
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	// chain is a span's ancestors, nearest first, as far as they were
	// recorded.
	chain := func(s sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
		var out []sdktrace.ReadOnlySpan
		for p := s.Parent(); p.IsValid(); {
			parent, ok := byID[p.SpanID()]
			if !ok {
				break
			}
			if parent.SpanContext().TraceID() != s.SpanContext().TraceID() {
				t.Errorf("%s: parent %s is in another trace", s.Name(), parent.Name())
			}
			out = append(out, parent)
			p = parent.Parent()
		}
		return out
	}

	send := sends[0]
	if send.SpanKind() != trace.SpanKindClient {
		t.Errorf("Send span kind = %v, want client", send.SpanKind())
	}
	up := chain(send)
	var path []string
	for _, s := range up {
		path = append(path, s.Name())
	}
	t.Logf("Send ← %s", strings.Join(path, " ← "))
	if len(up) == 0 || up[len(up)-1].Name() != "POST /v1/start" || up[len(up)-1].SpanKind() != trace.SpanKindServer {
		t.Fatalf("the plugin call's root is not the server span of POST /v1/start: Send ← %v", path)
	}
	server := up[len(up)-1]
	for _, prefix := range []string{"RunActivity:", "StartActivity:", "RunWorkflow:"} {
		if !hasPrefix(path, prefix) {
			t.Errorf("no %s span between the request and the plugin call: %v", prefix, path)
		}
	}
	if !hasPrefix(path, "StartWorkflow:") && !hasPrefix(path, "UpdateWithStartWorkflow:") && !hasPrefix(path, "SignalWithStartWorkflow:") {
		t.Errorf("no span of the API starting the workflow: %v", path)
	}

	// Store queries: the request's own and the activities'.
	var requestQueries, activityQueries int
	for _, s := range spans {
		if !isQuery(s) || s.SpanContext().TraceID() != server.SpanContext().TraceID() {
			continue
		}
		anc := chain(s)
		if len(anc) == 0 || anc[len(anc)-1].SpanContext().SpanID() != server.SpanContext().SpanID() {
			t.Errorf("query %s does not lead up to the request's span", s.Name())
			continue
		}
		if anc[0].SpanContext().SpanID() == server.SpanContext().SpanID() {
			requestQueries++
		}
		if strings.HasPrefix(anc[0].Name(), "RunActivity:") {
			activityQueries++
		}
	}
	if requestQueries == 0 || activityQueries == 0 {
		t.Errorf("store queries in the trace: %d by the request, %d by activities; want some of each", requestQueries, activityQueries)
	}
	t.Logf("trace of POST /v1/start: %d spans, %d queries by the request, %d by activities", countTrace(spans, server), requestQueries, activityQueries)
	logTree(t, spans, server)

	// The workflow's history holds the trace context in clear (the
	// interceptor's header, outside the payload codec) and nothing else;
	// it replays with tracing off and on.
	assertTracedHistory(t, h, tr, h.workflowID("wiki", "alice"), token)

	// No secret and no personal data in any span: names, attributes,
	// events, status.
	secrets := map[string]string{
		"link token": token, "PIN": pin, "app key": h.AppKey, "admin key": h.AdminKey,
		"email": "alice@example.com", "other email": "bob@example.com",
	}
	if token == "" || pin == "" {
		t.Fatalf("token %q or PIN %q not delivered", token, pin)
	}
	for _, s := range append(exported.GetSpans().Snapshots(), spans...) {
		var texts []string
		texts = append(texts, s.Name(), s.Status().Description)
		for _, a := range s.Attributes() {
			texts = append(texts, string(a.Key), a.Value.String())
		}
		for _, e := range s.Events() {
			texts = append(texts, e.Name)
			for _, a := range e.Attributes {
				texts = append(texts, string(a.Key), a.Value.String())
			}
		}
		for _, text := range texts {
			for what, secret := range secrets {
				if strings.Contains(text, secret) {
					t.Errorf("span %q holds the %s: %q", s.Name(), what, text)
				}
			}
		}
	}
	// The link page's span is named for its route, not its path.
	confirm := "POST " + attempt.LinkPath + ":token"
	if !slices.Contains(names(spans), confirm) {
		t.Errorf("no span %q among %v", confirm, names(spans))
	}
}

func isQuery(s sdktrace.ReadOnlySpan) bool {
	for _, a := range s.Attributes() {
		if a.Key == attribute.Key("db.system.name") {
			return true
		}
	}
	return false
}

func hasPrefix(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

func countTrace(spans []sdktrace.ReadOnlySpan, root sdktrace.ReadOnlySpan) int {
	n := 0
	for _, s := range spans {
		if s.SpanContext().TraceID() == root.SpanContext().TraceID() {
			n++
		}
	}
	return n
}

// logTree logs the trace of root as an indented tree, for the reader.
func logTree(t *testing.T, spans []sdktrace.ReadOnlySpan, root sdktrace.ReadOnlySpan) {
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if s.SpanContext().TraceID() == root.SpanContext().TraceID() {
			children[s.Parent().SpanID()] = append(children[s.Parent().SpanID()], s)
		}
	}
	var b strings.Builder
	var walk func(s sdktrace.ReadOnlySpan, depth int)
	walk = func(s sdktrace.ReadOnlySpan, depth int) {
		b.WriteString(strings.Repeat("  ", depth) + s.Name() + " [" + s.SpanKind().String() + "]\n")
		for _, c := range children[s.SpanContext().SpanID()] {
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	t.Logf("trace:\n%s", b.String())
}

// assertTracedHistory checks a history recorded with tracing on: its only
// payloads in clear are trace headers holding a span context, it does not
// hold secret, and it replays both on a worker without tracing and on one
// with it.
func assertTracedHistory(t *testing.T, h *harness, tr *tracing.Tracing, workflowID, secret string) {
	t.Helper()
	h.assertHistoryHasNo(workflowID, secret)
	hist, err := historytest.Fetch(context.Background(), h.Temporal, workflowID)
	if err != nil {
		t.Fatal(err)
	}
	headers := 0
	for _, p := range historytest.Payloads(hist) {
		if string(p.GetMetadata()["encoding"]) == payloadcodec.EncodingEncrypted {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal(p.GetData(), &m); err != nil || m["traceparent"] == "" {
			t.Fatalf("payload in clear that is not a trace header: %s", p.GetData())
		}
		for k := range m {
			if k != "traceparent" && k != "tracestate" {
				t.Errorf("trace header holds %q: %s", k, p.GetData())
			}
		}
		headers++
	}
	if headers == 0 {
		t.Error("no trace header in the history: the API's trace did not reach the workflow")
	}
	ti, err := tr.TemporalInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	logger := tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for name, interceptors := range map[string][]interceptor.WorkerInterceptor{"without tracing": nil, "with tracing": {ti}} {
		opts := payloadcodec.ReplayerOptions(h.Keys)
		opts.Interceptors = interceptors
		r, err := sdkworker.NewWorkflowReplayerWithOptions(opts)
		if err != nil {
			t.Fatal(err)
		}
		r.RegisterWorkflow(workflows.Attempt)
		if err := r.ReplayWorkflowHistory(logger, hist); err != nil {
			t.Errorf("replay %s: %v", name, err)
		}
	}
}
