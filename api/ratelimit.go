package api

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// Per-client-IP limits on the endpoints anyone can call. They run before
// any other work (no store access, no workflow, no audit), so a refused
// call costs a map lookup and leaves nothing behind. Each API replica
// counts for itself: N replicas behind a balancer let a client make up to
// N times the rate.

// Default limits, as ParseIPLimit reads them.
const (
	// DefaultAppIPLimit covers start and check. One application server
	// makes every call for all its users (a check every 2 seconds per
	// user signing in), so it is high: a client above it is broken or
	// hostile.
	DefaultAppIPLimit = "100/s,200"
	// DefaultBrowserIPLimit covers the link pages, the sign-on callback
	// and the console's sign-in polling: a person's browser.
	DefaultBrowserIPLimit = "1/s,20"
	// DefaultSignInIPLimit covers starting a console sign-in, which sends a
	// message: stricter still.
	DefaultSignInIPLimit = "10/m,5"
	// defaultMaxTrackedClients bounds each limit's table of client
	// addresses (about 200 bytes each).
	defaultMaxTrackedClients = 65536
)

// IPLimit is a token bucket per client address: PerSecond calls on
// average, Burst at once. A negative PerSecond turns the limit off; the
// zero IPLimit takes the class's default.
type IPLimit struct {
	PerSecond float64
	Burst     int
}

// Off reports whether the limit is turned off.
func (l IPLimit) Off() bool { return l.PerSecond < 0 }

// String spells the limit as ParseIPLimit reads it.
func (l IPLimit) String() string {
	if l.Off() {
		return "-1"
	}
	return strconv.FormatFloat(l.PerSecond, 'f', -1, 64) + "/s," + strconv.Itoa(l.Burst)
}

// ParseIPLimit reads "RATE,BURST" where RATE is N/s, N/m or N/h (e.g.
// "100/s,200", "10/m,5"), or "-1" for no limit. Without ",BURST" the burst
// is one second's worth, at least 1.
func ParseIPLimit(s string) (IPLimit, error) {
	s = strings.TrimSpace(s)
	if s == "-1" || strings.EqualFold(s, "off") {
		return IPLimit{PerSecond: -1}, nil
	}
	ratePart, burstPart, hasBurst := strings.Cut(s, ",")
	count, unit, ok := strings.Cut(strings.TrimSpace(ratePart), "/")
	per := map[string]float64{"s": 1, "m": 60, "h": 3600}[strings.TrimSpace(unit)]
	n, err := strconv.ParseFloat(strings.TrimSpace(count), 64)
	if !ok || per == 0 || err != nil || !(n > 0) || math.IsInf(n, 0) {
		return IPLimit{}, fmt.Errorf("limit %q: want RATE,BURST with RATE as N/s, N/m or N/h (e.g. 100/s,200), or -1 for none", s)
	}
	l := IPLimit{PerSecond: n / per, Burst: max(1, int(math.Ceil(n/per)))}
	if hasBurst {
		b, err := strconv.Atoi(strings.TrimSpace(burstPart))
		if err != nil || b < 1 {
			return IPLimit{}, fmt.Errorf("limit %q: the burst must be a whole number of at least 1", s)
		}
		l.Burst = b
	}
	return l, nil
}

// validate checks a configured limit; the zero value is the default.
func (l IPLimit) validate() error {
	if l == (IPLimit{}) || l.Off() {
		return nil
	}
	if !(l.PerSecond > 0) || math.IsInf(l.PerSecond, 0) || l.Burst < 1 {
		return fmt.Errorf("limit %s: want a positive rate and a burst of at least 1, or a negative rate for none", l)
	}
	return nil
}

// ipLimiter keeps one token bucket per client address. Memory is bounded:
// a bucket unused for as long as it takes to refill is full, the same as a
// new one, so it is forgotten without changing any answer; beyond max
// addresses the least recently seen is forgotten (that client starts again
// with a full bucket), so a flood of addresses cannot grow the table.
// A nil *ipLimiter allows everything.
type ipLimiter struct {
	limit rate.Limit
	burst int
	idle  time.Duration // time for an empty bucket to fill
	max   int

	mu      sync.Mutex
	clients map[string]*list.Element // of *ipBucket
	recent  *list.List               // front: most recently seen
}

type ipBucket struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

// newIPLimiter returns the limiter for l, nil when l is off.
func newIPLimiter(l IPLimit, maxClients int) *ipLimiter {
	if l.Off() {
		return nil
	}
	return &ipLimiter{
		limit:   rate.Limit(l.PerSecond),
		burst:   l.Burst,
		idle:    time.Duration(float64(l.Burst) / l.PerSecond * float64(time.Second)),
		max:     max(1, maxClients),
		clients: map[string]*list.Element{},
		recent:  list.New(),
	}
}

// allow takes a token from the client's bucket. When there is none it
// says how long until there is one.
func (l *ipLimiter) allow(client string, now time.Time) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	key := clientKey(client)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetIdle(now)
	var b *ipBucket
	if el, found := l.clients[key]; found {
		b = el.Value.(*ipBucket)
		l.recent.MoveToFront(el)
	} else {
		if len(l.clients) >= l.max {
			l.remove(l.recent.Back())
		}
		b = &ipBucket{key: key, lim: rate.NewLimiter(l.limit, l.burst)}
		l.clients[key] = l.recent.PushFront(b)
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.lim.TokensAt(now)
	return false, time.Duration(missing / float64(l.limit) * float64(time.Second))
}

// forgetIdle drops the buckets that have refilled since they were last
// used. The list is in order of use, so the idle ones are at its back.
func (l *ipLimiter) forgetIdle(now time.Time) {
	for el := l.recent.Back(); el != nil && now.Sub(el.Value.(*ipBucket).seen) >= l.idle; el = l.recent.Back() {
		l.remove(el)
	}
}

func (l *ipLimiter) remove(el *list.Element) {
	delete(l.clients, el.Value.(*ipBucket).key)
	l.recent.Remove(el)
}

// tracked is the number of client addresses held.
func (l *ipLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// clientKey is the unit a limit counts: an IPv4 address, or an IPv6 /64,
// since one subscriber usually holds a whole /64 and could otherwise take
// a fresh address for every call.
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}

// ipLimits are the server's limits by class of caller.
type ipLimits struct {
	app     *ipLimiter // start, check
	browser *ipLimiter // link pages, sign-on callback, console sign-in polling
	signIn  *ipLimiter // console sign-in start
}

func newIPLimits(cfg Config) ipLimits {
	orDefault := func(l IPLimit, def string) IPLimit {
		if l != (IPLimit{}) {
			return l
		}
		d, err := ParseIPLimit(def)
		if err != nil {
			panic("api: default limit " + def + " does not parse: " + err.Error()) // a constant; tested
		}
		return d
	}
	n := cfg.MaxTrackedClients
	if n <= 0 {
		n = defaultMaxTrackedClients
	}
	return ipLimits{
		app:     newIPLimiter(orDefault(cfg.AppIPLimit, DefaultAppIPLimit), n),
		browser: newIPLimiter(orDefault(cfg.BrowserIPLimit, DefaultBrowserIPLimit), n),
		signIn:  newIPLimiter(orDefault(cfg.SignInIPLimit, DefaultSignInIPLimit), n),
	}
}

// perIP refuses a call over the client's limit with 429 and Retry-After,
// answered by refuse (JSON or a page), before the route's other handlers,
// and counts the refusal under name (the limit's flag: app, browser,
// signin).
func (s *Server) perIP(name string, l *ipLimiter, refuse func(*gin.Context)) gin.HandlerFunc {
	return func(c *gin.Context) {
		ok, wait := l.allow(c.ClientIP(), s.now())
		if ok {
			c.Next()
			return
		}
		s.metrics.limited.WithLabelValues(name).Inc()
		c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		refuse(c)
	}
}

func tooManyJSON(c *gin.Context) { fail(c, http.StatusTooManyRequests, "too many requests") }

func (s *Server) tooManyPage(c *gin.Context) {
	s.renderPage(c, http.StatusTooManyRequests, page{
		Title:   "Too many requests",
		Message: "Wait a moment, then try again.",
	})
}
