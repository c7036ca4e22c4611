package sshserver

// PreAuthCounts returns the connections waiting for their handshake and
// those logged in, for the tests of the connection bounds.
func (s *Server) PreAuthCounts() (preAuth, loggedIn int) { return s.conns.counts() }
