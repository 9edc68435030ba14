package embedtemporal

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
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
	ports, err := freePorts(e.hostIP, n)
	if err != nil {
		return endpoints{}, err
	}
	if e.frontendPort == 0 {
		e.frontendPort, ports = ports[0], ports[1:]
	}
	e.servicePorts = ports
	return e, nil
}

// freePorts returns n distinct TCP ports that were free on ip a moment ago.
// All listeners stay open until every port is chosen, so none repeats.
func freePorts(ip string, n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port on %s: %w", ip, err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// checkFree fails when addr cannot be listened on right now.
func checkFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return l.Close()
}

// lowPortMax is the highest port Temporal's PostgreSQL schema can record
// in its membership table (rpc_port is a smallint); the kernel's ephemeral
// ports are above it.
const lowPortMax = 32767

// lowFreePorts is freePorts below lowPortMax: n distinct ports, tried from
// a random start in [20000, lowPortMax], that were free a moment ago.
func lowFreePorts(ip string, n int) ([]int, error) {
	const low = 20000
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	start := low + rand.IntN(lowPortMax-low)
	for i := 0; i <= lowPortMax-low && len(ports) < n; i++ {
		port := low + (start-low+i)%(lowPortMax-low+1)
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue // taken
		}
		listeners = append(listeners, l)
		ports = append(ports, port)
	}
	if len(ports) < n {
		return nil, fmt.Errorf("find %d free ports below %d on %s", n, lowPortMax, ip)
	}
	return ports, nil
}
