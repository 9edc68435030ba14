package activities

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are what the activities count for Prometheus. Labels are
// bounded and name no user: a final state, a factor.
type metrics struct {
	// ended counts attempts reaching a final state, once per attempt:
	// only the publication that moved the row from pending counts.
	ended *prometheus.CounterVec
	// lockouts counts factors locked by a wrong code (a retried activity
	// that finds its check applied already may count it again).
	lockouts *prometheus.CounterVec
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
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []**prometheus.CounterVec{&m.ended, &m.lockouts} {
		if err := reg.Register(*c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return m, err
			}
			existing, ok := already.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return m, err
			}
			*c = existing
		}
	}
	return m, nil
}
