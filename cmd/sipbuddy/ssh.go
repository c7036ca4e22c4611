package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/sipbuddy/sipbuddy/internal/app/sshserver"
)

// runSSH serves buddy lists over SSH until ctx ends, after saying on stdout
// how to connect, and shuts the sessions down (each unpublishes).
func runSSH(ctx context.Context, srv *sshserver.Server, logger *slog.Logger, stdout, stderr io.Writer) int {
	l, err := srv.Listen()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	printSSH(stdout, srv, l)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	code := 0
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			code = 1
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), sshserver.SessionCloseTimeout+closeTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("ssh shutdown", "err", err)
	}
	return code
}

// printSSH says on stdout how to connect to the SSH front end listening on l.
func printSSH(stdout io.Writer, srv *sshserver.Server, l net.Listener) {
	host, port, _ := net.SplitHostPort(l.Addr().String())
	fmt.Fprintf(stdout, "SSH: %s\n", l.Addr())
	fmt.Fprintf(stdout, "  connect:        ssh -p %s carol@%s        (your SSH user name is your SIP user)\n", port, host)
	fmt.Fprintf(stdout, "  send a picture: scp -P %s me.png carol@%s:   (then press i to pick it)\n", port, host)
	fmt.Fprintf(stdout, "  host key:       %s\n", srv.HostKeyFingerprint())
	switch {
	case srv.PasswordLogin() && srv.HasKeys():
		fmt.Fprintln(stdout, "  log in with your SIP password or a public key in the authorized_keys file")
	case srv.PasswordLogin():
		fmt.Fprintln(stdout, "  log in with your SIP password")
	case srv.Authenticated():
		fmt.Fprintln(stdout, "  only the public keys in the authorized_keys file may log in")
	}
}
