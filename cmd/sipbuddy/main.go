// Command sipbuddy is a terminal buddy list for SIP SIMPLE presence.
//
//	sipbuddy                 the buddy list (TUI client)
//	sipbuddy serve [flags]   the embedded SIP registrar/presence and XCAP servers
//	sipbuddy demo [flags]    everything on loopback with simulated buddies
//	sipbuddy art FILE        an image as the buddy list draws icons
//	sipbuddy --version       the version of this build
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	sipgo "github.com/emiago/sipgo/sip"
)

func main() {
	// sipgo logs a little through a process-wide logger (connection
	// bookkeeping warnings such as "TCP ref went negative"); only its
	// errors are worth a server's stderr. The client and the demo send it
	// to their log file instead (openLog).
	sipgo.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "serve":
			return serve(ctx, args[1:], stdout, stderr)
		case "demo":
			return demoCmd(ctx, args[1:], stdout, stderr)
		case "art":
			return artCmd(args[1:], stdout, stderr)
		case "help", "-h", "-help", "--help":
			return client(ctx, []string{"-h"}, stdout, stderr)
		case "version", "-version", "--version":
			fmt.Fprintln(stdout, version())
			return 0
		}
		if !strings.HasPrefix(args[0], "-") {
			fmt.Fprintf(stderr, "sipbuddy: unknown command %q\n%s", args[0], usage)
			return 2
		}
	}
	return client(ctx, args, stdout, stderr)
}
