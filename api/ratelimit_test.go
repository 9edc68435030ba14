package api

import (
	"fmt"
	"testing"
	"time"
)

func TestParseIPLimit(t *testing.T) {
	tests := []struct {
		in   string
		want IPLimit
	}{
		{"100/s,200", IPLimit{PerSecond: 100, Burst: 200}},
		{"10/m,5", IPLimit{PerSecond: 10.0 / 60, Burst: 5}},
		{" 36/h , 2 ", IPLimit{PerSecond: 0.01, Burst: 2}},
		{"2.5/s", IPLimit{PerSecond: 2.5, Burst: 3}},
		{"10/m", IPLimit{PerSecond: 10.0 / 60, Burst: 1}},
		{"-1", IPLimit{PerSecond: -1}},
		{"off", IPLimit{PerSecond: -1}},
	}
	for _, tt := range tests {
		got, err := ParseIPLimit(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseIPLimit(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "100", "100/d", "0/s", "-5/s", "x/s", "100/s,0", "100/s,x", "NaN/s", "Inf/s"} {
		if got, err := ParseIPLimit(bad); err == nil {
			t.Errorf("ParseIPLimit(%q) = %+v, want an error", bad, got)
		}
	}
	for _, def := range []string{DefaultAppIPLimit, DefaultBrowserIPLimit, DefaultSignInIPLimit} {
		if _, err := ParseIPLimit(def); err != nil {
			t.Errorf("default %q: %v", def, err)
		}
	}
}

func TestIPLimiterBucket(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newIPLimiter(IPLimit{PerSecond: 0.5, Burst: 3}, 10)
	for i := range 3 {
		if ok, _ := l.allow("192.0.2.1", t0); !ok {
			t.Fatalf("call %d within the burst refused", i+1)
		}
	}
	ok, wait := l.allow("192.0.2.1", t0)
	if ok || wait != 2*time.Second {
		t.Fatalf("call over the burst = %v, retry after %v; want refused, 2s", ok, wait)
	}
	if ok, _ := l.allow("192.0.2.2", t0); !ok {
		t.Fatal("another address was refused")
	}
	if ok, _ := l.allow("192.0.2.1", t0.Add(2*time.Second)); !ok {
		t.Fatal("refused after the Retry-After")
	}
	if ok, _ := (*ipLimiter)(nil).allow("192.0.2.1", t0); !ok {
		t.Fatal("a limit that is off refused")
	}
	if newIPLimiter(IPLimit{PerSecond: -1}, 10) != nil {
		t.Fatal("a negative rate made a limiter")
	}
}

func TestIPLimiterMemoryIsBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// A bucket refills in burst/rate = 4s.
	newLimiter := func() *ipLimiter { return newIPLimiter(IPLimit{PerSecond: 1, Burst: 4}, 100) }

	t.Run("a flood of addresses never holds more than the cap", func(t *testing.T) {
		l := newLimiter()
		for i := range 10_000 {
			l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256), t0)
			if n := l.tracked(); n > 100 {
				t.Fatalf("%d addresses tracked after %d calls, cap 100", n, i+1)
			}
		}
	})

	t.Run("buckets that refilled are forgotten", func(t *testing.T) {
		l := newLimiter()
		for i := range 50 {
			l.allow(fmt.Sprintf("10.0.0.%d", i), t0)
		}
		l.allow("10.9.9.9", t0.Add(3*time.Second)) // not idle long enough yet
		if n := l.tracked(); n != 51 {
			t.Fatalf("%d tracked, want 51", n)
		}
		l.allow("10.9.9.8", t0.Add(4*time.Second))
		if n := l.tracked(); n != 2 {
			t.Fatalf("%d tracked after the first 50 refilled, want 2", n)
		}
	})

	t.Run("forgetting a refilled bucket changes no answer", func(t *testing.T) {
		l := newLimiter()
		for range 4 {
			l.allow("192.0.2.1", t0)
		}
		if ok, _ := l.allow("192.0.2.1", t0.Add(time.Second)); !ok {
			t.Fatal("one token back after 1s was refused")
		}
		l.allow("192.0.2.2", t0.Add(5*time.Second)) // sweeps 192.0.2.1
		if l.tracked() != 1 {
			t.Fatalf("%d tracked, want 1", l.tracked())
		}
		for i := range 4 { // a full bucket, as it would have had
			if ok, _ := l.allow("192.0.2.1", t0.Add(5*time.Second)); !ok {
				t.Fatalf("call %d refused after the bucket refilled", i+1)
			}
		}
		if ok, _ := l.allow("192.0.2.1", t0.Add(5*time.Second)); ok {
			t.Fatal("a fifth call at once was allowed")
		}
	})

	t.Run("when full, the least recently seen address is forgotten, not the busy one", func(t *testing.T) {
		l := newIPLimiter(IPLimit{PerSecond: 1, Burst: 2}, 3)
		l.allow("192.0.2.1", t0)
		l.allow("192.0.2.1", t0) // empty bucket
		l.allow("192.0.2.2", t0)
		l.allow("192.0.2.3", t0)
		l.allow("192.0.2.1", t0) // refused, and now the most recently seen
		l.allow("192.0.2.4", t0) // full: forgets 192.0.2.2
		if l.tracked() != 3 {
			t.Fatalf("%d tracked, want 3", l.tracked())
		}
		if ok, _ := l.allow("192.0.2.1", t0); ok {
			t.Fatal("the busy address got a fresh bucket")
		}
	})
}

func TestClientKey(t *testing.T) {
	same := [][2]string{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"}, // one /64
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"fe80::1%eth0", "fe80::1"},
	}
	for _, p := range same {
		if clientKey(p[0]) != clientKey(p[1]) {
			t.Errorf("%s and %s are counted apart", p[0], p[1])
		}
	}
	apart := [][2]string{
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"192.0.2.1", "192.0.2.2"},
	}
	for _, p := range apart {
		if clientKey(p[0]) == clientKey(p[1]) {
			t.Errorf("%s and %s are counted together", p[0], p[1])
		}
	}
}
