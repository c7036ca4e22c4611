package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sipbuddy/sipbuddy/internal/sshserver"
	sipserver "github.com/sipbuddy/sipbuddy/sip/server"
	"github.com/sipbuddy/sipbuddy/xcap/server"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// StoreFileName is the bbolt file in the data directory.
const StoreFileName = "xcap.db"

// userFlags collects repeated --user name:password flags.
type userFlags []userCred

type userCred struct{ name, password string }

func (u *userFlags) String() string {
	names := make([]string, len(*u))
	for i, c := range *u {
		names[i] = c.name
	}
	return strings.Join(names, ",")
}

func (u *userFlags) Set(v string) error {
	name, pw, ok := strings.Cut(v, ":")
	if !ok || pw == "" {
		return errors.New("want name:password")
	}
	if err := store.ValidateUser(name); err != nil {
		return err
	}
	*u = append(*u, userCred{name, pw})
	return nil
}

// defaultDataDir is where serve keeps its store without --data:
// $XDG_CONFIG_HOME/sipbuddy/server (~/.config/sipbuddy/server on Linux,
// ~/Library/Application Support/sipbuddy/server on macOS).
func defaultDataDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no --data and no user config directory: %w", err)
	}
	return filepath.Join(dir, "sipbuddy", "server"), nil
}

const serveUsage = `usage: sipbuddy serve [flags]
       sipbuddy serve users add|list|remove ...

Runs the SIP registrar and presence server and the XCAP server for real use.
Users and their documents are kept in the data directory; manage the users
with 'sipbuddy serve users' (passwords are read from the terminal or
standard input, never from the command line).
`

// serve runs `sipbuddy serve` until ctx ends (SIGINT/SIGTERM).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "users" {
		return serveUsers(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("sipbuddy serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	domain := fs.String("domain", "example.test", "SIP domain: digest realm and the domain of every user")
	xcapAddr := fs.String("xcap", "127.0.0.1:8080", "XCAP (HTTP) listen address; port 0 picks a free port")
	sipAddr := fs.String("sip", "127.0.0.1:5060", "SIP listen address (UDP and TCP); port 0 picks a free port; empty: no SIP server")
	policy := fs.String("policy", "allow-domain", "watchers of users without pres-rules: allow-domain (users of the domain see each other) or confirm (pending until allowed)")
	dataDir := fs.String("data", "", "data directory (default: the user config dir + /sipbuddy/server)")
	root := fs.String("root", "", "public XCAP root URL if clients reach the server under another address (default http://<listen address>/xcap-root)")
	verbose := fs.Bool("v", false, "log every rejected request")
	sshAddr := fs.String("ssh", "", "also serve the buddy list over SSH on `ADDR` (127.0.0.1:2222): the SSH user name is the SIP user, who logs in with the SIP password")
	authKeys := fs.String("authorized-keys", "", "with --ssh: the `FILE` of public keys allowed in (default DATA/ssh/authorized_keys; required off loopback)")
	var users userFlags
	fs.Var(&users, "user", "add or update a user, name:password (repeatable; kept in the data directory; the password shows in ps: prefer sipbuddy serve users add)")
	prepareUsage(fs, args, stdout, serveUsage, nil)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sipbuddy serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *dataDir == "" {
		d, err := defaultDataDir()
		if err != nil {
			fmt.Fprintln(stderr, "sipbuddy serve:", err)
			return 1
		}
		*dataDir = d
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		fmt.Fprintln(stderr, "sipbuddy serve:", err)
		return 1
	}
	st, err := store.Open(filepath.Join(*dataDir, StoreFileName))
	if err != nil {
		fmt.Fprintln(stderr, "sipbuddy serve:", err)
		return 1
	}
	closeStore := sync.OnceValue(st.Close)
	defer closeStore()
	for _, u := range users {
		if err := st.SetPassword(u.name, u.password); err != nil {
			fmt.Fprintln(stderr, "sipbuddy serve:", err)
			return 1
		}
	}
	known, err := st.Users()
	if err != nil {
		fmt.Fprintln(stderr, "sipbuddy serve:", err)
		return 1
	}

	sshDir := filepath.Join(*dataDir, "ssh")
	if *sshAddr != "" {
		if *sipAddr == "" {
			fmt.Fprintln(stderr, "sipbuddy serve: --ssh needs the SIP server (--sip)")
			return 2
		}
		keys := *authKeys
		if keys == "" {
			keys = filepath.Join(sshDir, sshserver.AuthorizedKeysFile)
		}
		if _, err := sshserver.CheckAuth(*sshAddr, keys); err != nil {
			fmt.Fprintf(stderr, "sipbuddy serve: %v\n", err)
			return 1
		}
	}

	var watcherPolicy sipserver.Policy
	switch *policy {
	case "allow-domain":
		watcherPolicy = sipserver.AllowDomain
	case "confirm":
		watcherPolicy = sipserver.Confirm
	default:
		fmt.Fprintf(stderr, "sipbuddy serve: --policy %q: want allow-domain or confirm\n", *policy)
		return 2
	}

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	// The SIP server re-reads a user's pres-rules whenever the XCAP server
	// changes a document, so an accepted watcher becomes active at once.
	var sipSrv *sipserver.Server
	onChange := func(store.Key) {}
	if *sipAddr != "" {
		sipSrv, err = sipserver.New(sipserver.Options{Domain: *domain, Store: st, Policy: watcherPolicy, Logger: logger})
		if err != nil {
			fmt.Fprintln(stderr, "sipbuddy serve:", err)
			return 1
		}
		defer sipSrv.Close()
		onChange = sipSrv.StoreChanged
	}
	srv, err := server.Listen(ctx, *xcapAddr, server.Options{
		Domain:   *domain,
		Root:     *root,
		Store:    st,
		OnChange: onChange,
		Logger:   logger,
	})
	if err != nil {
		fmt.Fprintln(stderr, "sipbuddy serve:", err)
		return 1
	}
	fmt.Fprintf(stdout, "XCAP root: %s\n", srv.Root())
	sipDone := make(chan error, 1)
	var proxy string
	if sipSrv != nil {
		udp, tcp, err := sipserver.Listen(*sipAddr)
		if err != nil {
			fmt.Fprintln(stderr, "sipbuddy serve:", err)
			_ = srv.Shutdown(context.Background())
			return 1
		}
		go func() { sipDone <- sipSrv.Serve(ctx, udp, tcp) }()
		fmt.Fprintf(stdout, "SIP: %s (UDP and TCP), proxy sip:%s;transport=tcp\n", tcp.Addr(), tcp.Addr())
		proxy = "sip:" + tcp.Addr().String() + ";transport=tcp"
	} else {
		sipDone <- nil
	}
	fmt.Fprintf(stdout, "Data: %s\n", filepath.Join(*dataDir, StoreFileName))
	if len(known) == 0 {
		fmt.Fprintln(stdout, "Users: none (add one with --user name:password)")
	} else {
		fmt.Fprintf(stdout, "Users: %s (domain %s)\n", strings.Join(known, ", "), *domain)
	}

	sshDone := make(chan int, 1)
	if *sshAddr != "" {
		sshSrv, err := sshserver.New(sshserver.Options{
			Addr:           *sshAddr,
			DataDir:        sshDir,
			AuthorizedKeys: *authKeys,
			// Users log in with their SIP password (or a key), even on
			// loopback: another local user must not open their list.
			Password: st.Password,
			Proxy:    proxy,
			XCAPRoot: srv.Root(),
			Logger:   logger,
			Account: func(_ context.Context, user string) (sshserver.Account, error) {
				pw, ok := st.Password(user)
				if !ok {
					return sshserver.Account{}, &sshserver.RefusedError{Message: fmt.Sprintf("there is no SIP user %q on this server", user)}
				}
				return sshserver.Account{AOR: "sip:" + user + "@" + *domain, DisplayName: user, Password: pw}, nil
			},
		})
		if err != nil {
			fmt.Fprintln(stderr, "sipbuddy serve:", err)
			_ = srv.Shutdown(context.Background())
			return 1
		}
		go func() { sshDone <- runSSH(ctx, sshSrv, logger, stdout, stderr) }()
	} else {
		sshDone <- 0
	}

	// Listen shuts the XCAP server down when ctx ends, and runSSH returns;
	// an SSH server that fails on its own takes the rest down with it.
	var sshCode int
	select {
	case <-srv.Done():
		sshCode = <-sshDone
	case sshCode = <-sshDone:
		if sshCode != 0 {
			_ = srv.Shutdown(context.Background())
		}
		<-srv.Done()
	}
	if sshCode != 0 {
		return sshCode
	}
	if err := srv.Err(); err != nil {
		fmt.Fprintln(stderr, "sipbuddy serve:", err)
		return 1
	}
	if err := <-sipDone; err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "sipbuddy serve: SIP:", err)
		return 1
	}
	if err := closeStore(); err != nil {
		fmt.Fprintln(stderr, "sipbuddy serve: closing the store:", err)
		return 1
	}
	fmt.Fprintln(stdout, "Stopped.")
	return 0
}
