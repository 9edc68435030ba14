package activities

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/internal/metricreg"
	"github.com/flexauth/flexauth/plugins/sdk"
	"github.com/flexauth/flexauth/policies"
)

// metrics are what the activities count for Prometheus. Labels are
// bounded and name no user: a final state, a factor, a method, a plugin
// and channel from the operator's configuration, an outcome word.
type metrics struct {
	// ended counts attempts reaching a final state, once per attempt:
	// only the publication that moved the row from pending counts.
	ended *prometheus.CounterVec
	// lockouts counts factors locked by a wrong code (a retried activity
	// that finds its check applied already may count it again).
	lockouts *prometheus.CounterVec
	// decisions and decisionTime count and time the policy's decisions
	// (meteredPolicy).
	decisions    *prometheus.CounterVec
	decisionTime prometheus.Histogram
	// pluginCalls and pluginTime count and time the calls to plugins
	// (meteredPlugins).
	pluginCalls *prometheus.CounterVec
	pluginTime  *prometheus.HistogramVec
}

// newMetrics registers the activities' metrics on reg; nil keeps them
// unregistered (counted, served nowhere). A registry holding them already
// (two workers in one process) shares its collectors.
func newMetrics(reg prometheus.Registerer) (metrics, error) {
	m := metrics{
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexauth_attempts_ended_total",
			Help: "Attempts that reached a final state, by state: authenticated, expired, locked, denied.",
		}, []string{"state"}),
		lockouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexauth_lockouts_total",
			Help: "Factors locked by wrong codes, by factor: pin, totp, recovery.",
		}, []string{"factor"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexauth_policy_decisions_total",
			Help: "Policy decisions on sign-in attempts, by outcome: the method allowed, deny, or error (the policy failed; the attempt is denied).",
		}, []string{"outcome"}),
		decisionTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "flexauth_policy_decision_duration_seconds",
			Help:    "Time to decide a sign-in attempt's policy, failed decisions included.",
			Buckets: prometheus.DefBuckets,
		}),
		pluginCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flexauth_plugin_calls_total",
			Help: "Calls to plugins, by plugin, call (send, lookup, authorize, exchange), channel (send only) and outcome: ok, temporary, permanent, refused, timeout, canceled.",
		}, []string{"plugin", "call", "channel", "outcome"}),
		pluginTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flexauth_plugin_call_duration_seconds",
			Help:    "Time of a call to a plugin, by plugin, call and channel (send only), failed calls included.",
			Buckets: prometheus.DefBuckets,
		}, []string{"plugin", "call", "channel"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	for _, c := range []**prometheus.CounterVec{&m.ended, &m.lockouts, &m.decisions, &m.pluginCalls} {
		if *c, err = metricreg.Register(reg, *c); err != nil {
			return m, err
		}
	}
	if m.decisionTime, err = metricreg.Register(reg, m.decisionTime); err != nil {
		return m, err
	}
	if m.pluginTime, err = metricreg.Register(reg, m.pluginTime); err != nil {
		return m, err
	}
	return m, nil
}

// Outcomes of a policy decision other than the method it allowed.
const (
	decisionDeny  = "deny"
	decisionError = "error"
	// decisionOther stands for an allowed method that is none of
	// attempt.Methods: only a Policy other than the engine (which
	// validates the method) can return one, and the label stays bounded.
	decisionOther = "other"
)

// meteredPolicy counts and times every decision of the policy it wraps.
// It changes nothing in the decision: a failing policy still denies, and
// its error is returned as it was.
type meteredPolicy struct {
	Policy
	m metrics
}

func (p meteredPolicy) Decide(ctx context.Context, in policies.Input) (policies.Decision, error) {
	began := time.Now()
	d, err := p.Policy.Decide(ctx, in)
	p.m.decisionTime.Observe(time.Since(began).Seconds())
	p.m.decisions.WithLabelValues(decisionOutcome(d, err)).Inc()
	return d, err
}

// DecideWith is Decide with the policy's versions read from versions,
// when the policy reads any (see versionedPolicy).
func (p meteredPolicy) DecideWith(ctx context.Context, versions policies.ActiveVersions, in policies.Input) (policies.Decision, error) {
	began := time.Now()
	d, err := decideWith(ctx, p.Policy, versions, in)
	p.m.decisionTime.Observe(time.Since(began).Seconds())
	p.m.decisions.WithLabelValues(decisionOutcome(d, err)).Inc()
	return d, err
}

func decisionOutcome(d policies.Decision, err error) string {
	switch {
	case err != nil:
		return decisionError
	case !d.Allow:
		return decisionDeny
	case slices.Contains(attempt.Methods(), d.Method):
		return d.Method
	}
	return decisionOther
}

// Calls to plugins, the call label.
const (
	callSend      = "send"
	callLookup    = "lookup"
	callAuthorize = "authorize"
	callExchange  = "exchange"
)

// Outcomes of a plugin call: ok, or how it failed as the host classifies
// it (plugins/sdk).
const (
	pluginOK        = "ok"
	pluginTemporary = "temporary"
	pluginPermanent = "permanent"
	pluginRefused   = "refused"
	pluginTimeout   = "timeout"
	pluginCanceled  = "canceled"
)

// meteredPlugins counts and times every call to the plugins it wraps. The
// plugin label is a name from the operator's configuration and the channel
// one of the channels configured for it (both bounded); nothing from the
// request (recipient, attempt) becomes a label.
type meteredPlugins struct {
	Plugins
	m metrics
}

func (p meteredPlugins) observe(plugin, call, channel string, began time.Time, err error) {
	p.m.pluginTime.WithLabelValues(plugin, call, channel).Observe(time.Since(began).Seconds())
	p.m.pluginCalls.WithLabelValues(plugin, call, channel, pluginOutcome(err)).Inc()
}

func (p meteredPlugins) Send(ctx context.Context, plugin string, req sdk.SendRequest) (sdk.SendResponse, error) {
	began := time.Now()
	resp, err := p.Plugins.Send(ctx, plugin, req)
	p.observe(plugin, callSend, req.Channel, began, err)
	return resp, err
}

func (p meteredPlugins) Lookup(ctx context.Context, plugin string, req sdk.LookupRequest) (sdk.Identity, error) {
	began := time.Now()
	id, err := p.Plugins.Lookup(ctx, plugin, req)
	p.observe(plugin, callLookup, "", began, err)
	return id, err
}

func (p meteredPlugins) Authorize(ctx context.Context, plugin string, req sdk.AuthorizeRequest) (sdk.AuthorizeResponse, error) {
	began := time.Now()
	resp, err := p.Plugins.Authorize(ctx, plugin, req)
	p.observe(plugin, callAuthorize, "", began, err)
	return resp, err
}

func (p meteredPlugins) Exchange(ctx context.Context, plugin string, req sdk.ExchangeRequest) (sdk.Claims, error) {
	began := time.Now()
	c, err := p.Plugins.Exchange(ctx, plugin, req)
	p.observe(plugin, callExchange, "", began, err)
	return c, err
}

// pluginOutcome classifies a plugin call's error as the host reports it;
// a refused sign-on is permanent too, so it is tested first.
func pluginOutcome(err error) string {
	switch {
	case err == nil:
		return pluginOK
	case errors.Is(err, sdk.ErrRefused):
		return pluginRefused
	case errors.Is(err, sdk.ErrPermanent):
		return pluginPermanent
	case errors.Is(err, context.DeadlineExceeded):
		return pluginTimeout
	case errors.Is(err, context.Canceled):
		return pluginCanceled
	}
	return pluginTemporary
}
