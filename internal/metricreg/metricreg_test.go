package metricreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterReusesTheCollectorOfTheSameName(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "flexauth_things_total", Help: "Things."}
	first, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	second.Inc()
	if first != second {
		t.Fatal("a second registration under the same name made a second counter")
	}
	// A different kind under the same name is refused, not hidden.
	if _, err := Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "flexauth_things_total", Help: "Things."})); err == nil {
		t.Fatal("a gauge registered over a counter of the same name")
	}
}
