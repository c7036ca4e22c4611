package server

import (
	"crypto/tls"
	"errors"
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

// ListenTLS opens a TCP listener on addr that speaks TLS with the
// certificate and key in the given PEM files (SIP over TLS, RFC 3261
// §26.2); port 0 picks a free port.
func ListenTLS(addr, certFile, keyFile string) (net.Listener, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server: TLS certificate: %w", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server: SIP TLS listen: %w", err)
	}
	return tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// ServeTLS answers SIP over TLS on ln (from ListenTLS) beside Serve's UDP
// and TCP; NOTIFYs to subscribers that came over TLS go back on their TLS
// connection. It returns when ln fails or the server is closed, and closes
// ln.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.isClosed() {
		ln.Close()
		return ErrClosed
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-s.closed:
		case <-stop:
		}
		ln.Close()
	}()
	s.log.Info("SIP server listening", "tls", ln.Addr().String(), "domain", s.opts.Domain)
	err := s.sip.ServeTLS(ln)
	if err != nil && !errors.Is(err, net.ErrClosed) && !s.isClosed() {
		return fmt.Errorf("server: serve TLS: %w", err)
	}
	return nil
}
