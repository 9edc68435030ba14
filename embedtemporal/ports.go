package embedtemporal

import (
	"fmt"
	"net"
	"strconv"

	"github.com/flexauth/flexauth/internal/freeport"
)

// endpoints says where each service listens and where they find each other.
type endpoints struct {
	// frontendIP is the frontend's bind address; it may be unspecified
	// (0.0.0.0 or ::) to accept connections from other machines.
	frontendIP   string
	frontendPort int
	// hostIP is a concrete address of this machine: every other service binds
	// it, membership broadcasts it and clients dial the frontend on it.
	hostIP string
	// servicePorts are free ports for the history, matching and worker
	// services' gRPC listeners followed by the four membership ports.
	servicePorts []int
}

// servicePortCount is three gRPC ports (history, matching, worker) and four
// membership ports (frontend, history, matching, worker).
const servicePortCount = 7

func (e endpoints) frontendHostPort() string {
	return net.JoinHostPort(e.hostIP, strconv.Itoa(e.frontendPort))
}

// resolveEndpoints parses addr ("" means 127.0.0.1 and a free port) and
// picks free ports for the internal services.
// They come from freeport, below the kernel's ephemeral range: in CI a port
// from that range went to some outgoing connection between being picked and
// Temporal listening on it ("Failed to start ringpop listener … address
// already in use"), and the server never came up.
func resolveEndpoints(addr string) (endpoints, error) {
	host, port := "", 0
	if addr != "" {
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return endpoints{}, fmt.Errorf("parse address %q: %w", addr, err)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return endpoints{}, fmt.Errorf("parse address %q: bad port %q", addr, p)
		}
		host, port = h, n
	}

	var ip net.IP
	switch host {
	case "", "localhost":
		ip = net.IPv4(127, 0, 0, 1)
	default:
		ip = net.ParseIP(host)
		if ip == nil {
			return endpoints{}, fmt.Errorf("parse address %q: host must be an IP address or localhost", addr)
		}
	}
	e := endpoints{frontendIP: ip.String(), frontendPort: port, hostIP: ip.String()}
	if ip.IsUnspecified() {
		e.hostIP = "127.0.0.1"
		if ip.To4() == nil {
			e.hostIP = "::1"
		}
	}

	n := servicePortCount
	if e.frontendPort == 0 {
		n++
	} else if err := checkFree(net.JoinHostPort(e.frontendIP, strconv.Itoa(e.frontendPort))); err != nil {
		// Temporal treats a taken frontend port as fatal and exits.
		return endpoints{}, err
	}
	ports, err := freeport.Ports(e.hostIP, n)
	if err != nil {
		return endpoints{}, err
	}
	if e.frontendPort == 0 {
		e.frontendPort, ports = ports[0], ports[1:]
	}
	e.servicePorts = ports
	return e, nil
}

// checkFree fails when addr cannot be listened on right now.
func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l.Close()
}
