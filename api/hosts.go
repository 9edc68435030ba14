package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// The Host check. A web page whose name an attacker re-points at 127.0.0.1
// (DNS rebinding) is same-origin with that name, so the browser lets it
// call whatever listens there and read the answers; only the Host header
// still carries the attacker's name. So every request must name a host
// this server was configured to serve: the public URL's, the listen
// address (with its loopback spellings), and the operator's extra names.
// Anything else is answered 421 before any handler runs.

// The probes answer for any Host: load balancers and orchestrators probe
// replicas by IP address, and the answer reveals and changes nothing.
const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
)

// probePath reports whether p is a probe (or the metrics Prometheus
// scrapes by IP address) answered for any Host.
func probePath(p string) bool { return p == healthzPath || p == readyzPath || p == metricsPath }

// hostPolicy is the set of Host header values a server answers.
type hostPolicy struct {
	exact   map[string]bool // "name" (no port) or "name:port"; IPv6 names in brackets
	anyPort map[string]bool // names served whatever the port
}

// newHostPolicy gathers the Host values served: the public URL's host with
// and without its port, the listen address (any loopback or unspecified
// address also as 127.0.0.1, localhost and [::1]), and allowed, whose
// entries are "name" (any port) or "name:port".
func newHostPolicy(publicURL, listenAddr string, allowed []string) (hostPolicy, error) {
	p := hostPolicy{exact: map[string]bool{}, anyPort: map[string]bool{}}
	var errs []error
	if publicURL != "" {
		u, err := url.Parse(publicURL)
		if err != nil || u.Hostname() == "" {
			errs = append(errs, fmt.Errorf("public URL %q has no host", publicURL))
		} else {
			name := canonicalName(u.Hostname())
			port := u.Port()
			if port == "" {
				port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
			}
			p.exact[hostKey(name, "")] = true
			if port != "" {
				p.exact[hostKey(name, port)] = true
			}
		}
	}
	if listenAddr != "" {
		host, port, err := net.SplitHostPort(listenAddr)
		if err != nil || !validPort(port) {
			errs = append(errs, fmt.Errorf("listen address %q is not host:port", listenAddr))
		} else {
			names := []string{canonicalName(host)}
			if local(host) {
				names = []string{"127.0.0.1", "localhost", "::1"}
			}
			for _, name := range names {
				p.exact[hostKey(name, port)] = true
				if port == "80" {
					p.exact[hostKey(name, "")] = true
				}
			}
		}
	}
	for _, entry := range allowed {
		name, port, err := parseAllowedHost(entry)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if port == "" {
			p.anyPort[name] = true
		} else {
			p.exact[hostKey(name, port)] = true
		}
	}
	return p, errors.Join(errs...)
}

// empty reports whether no Host at all is served: the server was given no
// public URL, listen address or allowed host.
func (p hostPolicy) empty() bool { return len(p.exact) == 0 && len(p.anyPort) == 0 }

// allows reports whether a request's Host header names a served host.
func (p hostPolicy) allows(host string) bool {
	name, port, ok := splitHost(host)
	if !ok {
		return false
	}
	return p.anyPort[name] || p.exact[hostKey(name, port)]
}

// parseAllowedHost reads an --allowed-hosts entry: a name, an IP address,
// or either with a port. No scheme, path or wildcard.
func parseAllowedHost(entry string) (name, port string, err error) {
	e := strings.TrimSpace(entry)
	if e == "" || strings.ContainsAny(e, "/*?#@ \t") {
		return "", "", fmt.Errorf("allowed host %q: want a name or name:port, without scheme or path", entry)
	}
	if ip, perr := netip.ParseAddr(e); perr == nil { // a bare IPv6 address has colons but no port
		return ip.Unmap().String(), "", nil
	}
	name, port, ok := splitHost(e)
	if !ok || name == "" || (port == "" && strings.HasSuffix(e, ":")) {
		return "", "", fmt.Errorf("allowed host %q: want a name or name:port", entry)
	}
	return name, port, nil
}

// splitHost reads a Host header: name and optional port, the name
// lower-cased without a trailing dot and IP addresses in canonical form.
func splitHost(host string) (name, port string, ok bool) {
	if host == "" {
		return "", "", false
	}
	if strings.HasPrefix(host, "[") || strings.Count(host, ":") == 1 {
		if h, pt, err := net.SplitHostPort(host); err == nil {
			if !validPort(pt) {
				return "", "", false
			}
			n, _ := strconv.Atoi(pt)
			return canonicalName(h), strconv.Itoa(n), h != ""
		}
		if !strings.HasPrefix(host, "[") || !strings.HasSuffix(host, "]") {
			return "", "", false
		}
		host = host[1 : len(host)-1] // "[::1]": an IPv6 address without a port
	}
	return canonicalName(host), "", true
}

func canonicalName(name string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if ip, err := netip.ParseAddr(name); err == nil {
		return ip.Unmap().String()
	}
	return name
}

// hostKey is the map key of a name and port, spelled as a Host header.
func hostKey(name, port string) string {
	if strings.Contains(name, ":") {
		name = "[" + name + "]"
	}
	if port == "" {
		return name
	}
	return name + ":" + port
}

func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n <= 65535 && port[0] != '+'
}

// local reports whether a listen host is a loopback name or address, or
// every address (which includes loopback).
func local(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// checkHost answers 421 to a request for a host this server does not serve.
func (s *Server) checkHost(c *gin.Context) {
	if probePath(c.Request.URL.Path) || s.hosts.allows(c.Request.Host) {
		c.Next()
		return
	}
	host := c.Request.Host
	if len(host) > 100 {
		host = host[:100] + "…"
	}
	s.log.WarnContext(c.Request.Context(), "refused a request for a host this server does not serve (add it to --allowed-hosts if it is yours)",
		"host", host, "path", redactPath(c.Request.URL.Path))
	fail(c, http.StatusMisdirectedRequest, "misdirected request: this server does not serve that host")
}
