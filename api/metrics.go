package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flexauth/flexauth/internal/metricreg"
)

// metricsPath serves the Prometheus metrics; like the probes, for any Host.
const metricsPath = "/metrics"

// httpMetrics count and time every request. Labels are bounded and carry
// nothing about the caller: route is the route's template (never the raw
// path, which holds authids and link tokens), method one of the known
// methods or "other", status the code answered.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// results are the app API's answers (start and check) by route and
	// result word; started the attempts a start began, by method;
	// limited the calls refused by a per-IP limit, by limit.
	results *prometheus.CounterVec
	started *prometheus.CounterVec
	limited *prometheus.CounterVec
}

// Context keys with which the app API tells observe what it answered.
const (
	resultContext = "flexauth.result"
	methodContext = "flexauth.method"
)

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexauth_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flexauth_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	m.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flexauth_app_results_total",
		Help: "App API answers (start and check), by route template and result: success, pending, authenticated, expired, security error.",
	}, []string{"route", "result"})
	m.started = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flexauth_attempts_started_total",
		Help: "Attempts a start began, by the method the policy chose.",
	}, []string{"method"})
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flexauth_rate_limited_total",
		Help: "Calls refused by a per-client-IP limit, by limit: app, browser, signin.",
	}, []string{"limit"})
	var err error
	if m.requests, err = metricreg.Register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = metricreg.Register(reg, m.duration); err != nil {
		return nil, err
	}
	for _, v := range []**prometheus.CounterVec{&m.results, &m.started, &m.limited} {
		if *v, err = metricreg.Register(reg, *v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe is the first middleware: it sees the status every later one
// and the handler chose.
func (m *httpMetrics) observe(c *gin.Context) {
	began := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	method := metricMethod(c.Request.Method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(route, method).Observe(time.Since(began).Seconds())
	// The words are the protocol's few; the method one of policies'.
	if r := c.GetString(resultContext); r != "" {
		m.results.WithLabelValues(route, r).Inc()
	}
	if meth := c.GetString(methodContext); meth != "" {
		m.started.WithLabelValues(meth).Inc()
	}
}

// metricMethod bounds the method label: a client can send any token as a
// method, and each would otherwise be a new series.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// metricsHandler serves what reg gathers.
func metricsHandler(reg prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
