package server

import (
	"fmt"
	"net"
)

// maxListenAttempts bounds the search for a port free on both UDP and TCP
// when Listen is given port 0.
const maxListenAttempts = 20

// Listen opens the UDP socket and the TCP listener a SIP server serves on,
// on the same address: SIP clients expect one port for both transports. With
// port 0 it finds a port that is free for both.
func Listen(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("server: SIP address %q: %w", addr, err)
	}
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, fmt.Errorf("server: SIP listen: %w", err)
		}
		pc, err := net.ListenPacket("udp", l.Addr().String())
		if err == nil {
			return pc, l, nil
		}
		_ = l.Close()
		if port != "0" || attempt >= maxListenAttempts {
			return nil, nil, fmt.Errorf("server: SIP listen: %w", err)
		}
	}
}
