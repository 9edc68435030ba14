package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPortsAreDistinctFreeAndBelowTheEphemeralRange(t *testing.T) {
	ports, err := Ports("127.0.0.1", 8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < Min || p > Max {
			t.Errorf("port %d outside [%d, %d]", p, Min, Max)
		}
		if seen[p] {
			t.Errorf("port %d picked twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d is not free: %v", p, err)
			continue
		}
		_ = l.Close()
	}
}

// A taken port is skipped, not returned: the scan starts at a port held
// open here (the first free one from the range's last port, so that the
// scan may have to wrap around).
func TestPortsSkipTakenPorts(t *testing.T) {
	for _, start := range []int{Max - Min, 7000} {
		free, err := portsFrom("127.0.0.1", 1, start)
		if err != nil {
			t.Fatal(err)
		}
		held, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(free[0])))
		if err != nil {
			t.Fatal(err)
		}
		ports, err := portsFrom("127.0.0.1", 3, free[0]-Min)
		_ = held.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ports {
			if p == free[0] || p < Min || p > Max {
				t.Fatalf("scan from held port %d picked %v", free[0], ports)
			}
		}
	}
	addr, err := Addr()
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Errorf("Addr() = %s", addr)
	}
}
