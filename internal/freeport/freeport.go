// Package freeport picks TCP ports that are free now, for a listener that
// another process (or a server started a moment later) will open.
//
// A port asked of the kernel with ":0" comes from its ephemeral range
// (32768–60999 on Linux), the same range every outgoing connection of the
// machine draws its local port from. Between closing the probe and the real
// listener opening, such a port can be taken by any connection: on a busy
// machine running many servers and clients side by side, that happened (a
// Temporal service failed with "bind: address already in use" and never came
// up). The ports picked here lie below that range, where only a process
// listening on that very number can take them.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// Range of the ports picked. Max is also the highest port Temporal's
// PostgreSQL schema can record in its membership table (a smallint).
const (
	Min = 20000
	Max = 32767
)

// Ports returns n distinct TCP ports of ip that were free a moment ago,
// tried from a random start in [Min, Max] (random, so that servers started
// side by side rarely try the same numbers). All probes stay open until
// every port is chosen, so none repeats.
func Ports(ip string, n int) ([]int, error) {
	return portsFrom(ip, n, rand.IntN(Max-Min+1))
}

// portsFrom is Ports scanning from Min+start.
func portsFrom(ip string, n, start int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; i <= Max-Min && len(ports) < n; i++ {
		port := Min + (start+i)%(Max-Min+1)
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue // taken
		}
		listeners = append(listeners, l)
		ports = append(ports, port)
	}
	if len(ports) < n {
		return nil, fmt.Errorf("find %d free ports in %d–%d on %s: found %d", n, Min, Max, ip, len(ports))
	}
	return ports, nil
}

// Port is one free port of 127.0.0.1.
func Port() (int, error) {
	ports, err := Ports("127.0.0.1", 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// Addr is "127.0.0.1:<a free port>".
func Addr() (string, error) {
	port, err := Port()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}
