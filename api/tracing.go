package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is what the API traces requests with: the process's tracer
// provider and the propagator that reads a caller's trace context.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
}

const tracerName = "github.com/flexauth/flexauth/api"

// middleware makes a server span of each request, the parent of what the
// request does (store queries, the workflow it starts or updates). The
// span is named for the route template ("POST /v1/start", "GET
// /v1/link/:token"), never the path: paths hold link tokens and user ids.
// Only the method, the route and the status are recorded: no query
// string, header, body or client address.
func (t *Tracing) middleware() gin.HandlerFunc {
	tracer := t.Provider.Tracer(tracerName)
	prop := t.Propagator
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator()
	}
	return func(c *gin.Context) {
		route := c.FullPath()
		switch route {
		case healthzPath, readyzPath, metricsPath:
			// Probes and scrapes every few seconds would bury the
			// sign-ins.
			c.Next()
			return
		case "":
			route = "unmatched"
		}
		// A caller (an application server) may pass its trace context:
		// flexauth's spans then join its trace.
		ctx := prop.Extract(c.Request.Context(), propagation.HeaderCarrier(c.Request.Header))
		method := metricMethod(c.Request.Method)
		ctx, span := tracer.Start(ctx, method+" "+route,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.HTTPRoute(route)))
		defer span.End()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
		status := c.Writer.Status()
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
}
