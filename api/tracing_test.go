package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A request's span is named for its route, records no path, query or
// header, joins a caller's trace, and probes make none.
func TestRequestSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tr := &Tracing{Provider: tp, Propagator: propagation.TraceContext{}}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(tr.middleware())
	var inHandler trace.SpanContext
	e.POST("/l/:token", func(c *gin.Context) {
		inHandler = trace.SpanContextFromContext(c.Request.Context())
		c.Status(http.StatusOK)
	})
	e.GET(healthzPath, func(c *gin.Context) { c.Status(http.StatusOK) })
	e.GET("/boom", func(c *gin.Context) { c.Status(http.StatusInternalServerError) })

	const token, caller = "s3cr3t-link-token", "4bf92f3577b34da6a3ce929d0e0e4736"
	req := httptest.NewRequest(http.MethodPost, "/l/"+token+"?email=carol@example.com", nil)
	req.Header.Set("traceparent", "00-"+caller+"-00f067aa0ba902b7-01")
	req.Header.Set("Apikey", "fa_app_secret")
	e.ServeHTTP(httptest.NewRecorder(), req)
	for _, path := range []string{healthzPath, "/boom", "/nowhere/" + token} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}

	spans := rec.Ended()
	var names []string
	for _, s := range spans {
		names = append(names, s.Name())
		for _, a := range s.Attributes() {
			v := a.Value.String()
			if strings.Contains(v, token) || strings.Contains(v, "carol") || strings.Contains(v, "fa_app_secret") {
				t.Errorf("span %s: %s = %q", s.Name(), a.Key, v)
			}
		}
	}
	if got := strings.Join(names, ","); got != "POST /l/:token,GET /boom,GET unmatched" {
		t.Fatalf("spans = %s", got)
	}
	link := spans[0]
	if link.SpanKind() != trace.SpanKindServer || link.SpanContext().TraceID().String() != caller || link.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("link span: kind %v, trace %s, parent %s; want a server span in the caller's trace", link.SpanKind(), link.SpanContext().TraceID(), link.Parent().SpanID())
	}
	if !inHandler.Equal(link.SpanContext()) {
		t.Error("the handler's context does not carry the request's span")
	}
	if spans[1].Status().Code.String() != "Error" {
		t.Errorf("a 500 span's status = %v", spans[1].Status())
	}
}
