package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/app/sshserver"
	"github.com/sipbuddy/sipbuddy/internal/app/stack"
	sipserver "github.com/sipbuddy/sipbuddy/sip/server"
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
       sipbuddy serve migrate --store postgres://...

Runs the SIP registrar and presence server and the XCAP server for real use.
Users and their documents are kept in the data directory (or, with --store
postgres://..., in a PostgreSQL database several nodes share: see
docs/scaling.md); manage the users of the data directory with 'sipbuddy
serve users' (passwords are read from the terminal or standard input, never
from the command line).
`

// serve runs `sipbuddy serve` until ctx ends (SIGINT/SIGTERM).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "users" {
		return serveUsers(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "migrate" {
		return serveMigrate(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("sipbuddy serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	domain := fs.String("domain", "example.test", "SIP domain: digest realm and the domain of every user")
	xcapAddr := fs.String("xcap", "127.0.0.1:8080", "XCAP (HTTP) listen address; port 0 picks a free port")
	sipAddr := fs.String("sip", "127.0.0.1:5060", "SIP listen address (UDP and TCP); port 0 picks a free port; off (or empty): no SIP server, a stateless XCAP node")
	storeSpec := fs.String("store", "", "where documents and users live: a postgres://user@host:port/db URL (shared by several nodes; see docs/scaling.md) or a bbolt `file` (default DATA/"+StoreFileName+")")
	policy := fs.String("policy", "allow-domain", "watchers of users without pres-rules: allow-domain (users of the domain see each other) or confirm (pending until allowed)")
	dataDir := fs.String("data", "", "data directory (default: the user config dir + /sipbuddy/server)")
	root := fs.String("root", "", "public XCAP root URL if clients reach the server under another address (default http://<listen address>/xcap-root)")
	verbose := fs.Bool("v", false, "log every rejected request")
	pprofAddr := fs.String("pprof", "", "serve Go's CPU and allocation profiles on loopback `ADDR` (127.0.0.1:6060), for profiling under load")
	sshAddr := fs.String("ssh", "", "also serve the buddy list over SSH on `ADDR` (127.0.0.1:2222): the SSH user name is the SIP user")
	authKeys := fs.String("authorized-keys", "", "with --ssh: the `FILE` of public keys allowed in (default DATA/ssh/authorized_keys; required off loopback)")
	tlsCert := fs.String("tls-cert", "", "PEM certificate `FILE` (chain): serve SIP over TLS beside UDP/TCP and XCAP over HTTPS")
	tlsKey := fs.String("tls-key", "", "PEM private key `FILE` of --tls-cert")
	sipTLSAddr := fs.String("sip-tls", "", "SIP over TLS listen address with --tls-cert (default: the --sip host, port 5061, or a free port when --sip has port 0)")
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
	if *sipAddr == "off" {
		*sipAddr = ""
	}
	if *sshAddr != "" && stack.IsPostgres(*storeSpec) {
		fmt.Fprintln(stderr, "sipbuddy serve: --ssh needs the bbolt store: the PostgreSQL store keeps digest HA1 values, not the passwords SSH sessions log in with")
		return 2
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(stderr, "sipbuddy serve: --tls-cert and --tls-key go together")
		return 2
	}
	if *pprofAddr != "" {
		stop, err := servePprof(*pprofAddr)
		if err != nil {
			fmt.Fprintln(stderr, "sipbuddy serve:", err)
			return 2
		}
		defer stop()
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

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var frontEnd func(stack.Running) (stack.FrontEnd, error)
	if *sshAddr != "" {
		if *sipAddr == "" {
			fmt.Fprintln(stderr, "sipbuddy serve: --ssh needs the SIP server (--sip)")
			return 2
		}
		sshDir := filepath.Join(*dataDir, "ssh")
		keys := *authKeys
		if keys == "" {
			keys = filepath.Join(sshDir, sshserver.AuthorizedKeysFile)
		}
		if _, err := sshserver.CheckAuth(*sshAddr, keys); err != nil {
			fmt.Fprintf(stderr, "sipbuddy serve: %v\n", err)
			return 1
		}
		frontEnd = func(r stack.Running) (stack.FrontEnd, error) {
			return sshserver.New(sshserver.Options{
				Addr:           *sshAddr,
				DataDir:        sshDir,
				AuthorizedKeys: *authKeys,
				Proxy:          r.Proxy,
				XCAPRoot:       r.XCAPRoot,
				Logger:         logger,
				Account:        sshAccount(r.Store, *domain),
				// Users log in with their SIP password (or a key), even on
				// loopback: another local user must not open their list.
				Password: sshPassword(r.Store),
			})
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

	storePath := *storeSpec
	if storePath == "" {
		storePath = filepath.Join(*dataDir, StoreFileName)
	}
	stackUsers := make([]stack.User, len(users))
	for i, u := range users {
		stackUsers[i] = stack.User{Name: u.name, Password: u.password}
	}
	stk, err := stack.Start(ctx, stack.Options{
		Domain:   *domain,
		Store:    storePath,
		XCAPAddr: *xcapAddr,
		XCAPRoot: *root,
		SIPAddr:  *sipAddr,
		Policy:   watcherPolicy,
		FrontEnd: frontEnd,
		Users:    stackUsers,
		Logger:   logger,
		TLSCert:  *tlsCert,
		TLSKey:   *tlsKey,
		SIPTLSAddr: func() string {
			if *tlsCert == "" || *sipAddr == "" {
				return ""
			}
			return tlsListenAddr(*sipTLSAddr, *sipAddr)
		}(),
	})
	if err != nil {
		fmt.Fprintln(stderr, "sipbuddy serve:", err)
		return 1
	}
	fmt.Fprintf(stdout, "XCAP root: %s\n", stk.XCAPRoot())
	if a := stk.SIPAddr(); a != nil {
		fmt.Fprintf(stdout, "SIP: %s (UDP and TCP), proxy %s\n", a, stk.Proxy())
		if a := stk.SIPTLSAddr(); a != nil {
			fmt.Fprintf(stdout, "SIP TLS: %s, proxy %s\n", a, stk.TLSProxy())
		}
	}
	fmt.Fprintf(stdout, "Data: %s\n", describeStore(storePath))
	known, err := stk.Store().Users()
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "sipbuddy serve:", err)
	case len(known) == 0:
		fmt.Fprintln(stdout, "Users: none (add one with --user name:password)")
	default:
		fmt.Fprintf(stdout, "Users: %s (domain %s)\n", strings.Join(known, ", "), *domain)
	}
	if srv, ln := stk.FrontEnd(); srv != nil {
		printSSH(stdout, srv.(*sshserver.Server), ln)
	}

	select {
	case <-ctx.Done():
	case <-stk.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), sshserver.SessionCloseTimeout+closeTimeout)
	defer cancel()
	if err := stk.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "sipbuddy serve:", err)
		return 1
	}
	fmt.Fprintln(stdout, "Stopped.")
	return 0
}

// passworder is a store that keeps users' passwords (store.Bolt): an SSH
// session logs in to SIP and XCAP with its user's password.
type passworder interface {
	Password(user string) (string, bool)
}

// sshPassword looks up a user's SIP password for the SSH login.
func sshPassword(st store.Store) func(user string) (string, bool) {
	return func(user string) (string, bool) {
		if p, ok := st.(passworder); ok {
			return p.Password(user)
		}
		return "", false
	}
}

// sshAccount logs an SSH visitor in as the SIP user of the same name.
func sshAccount(st store.Store, domain string) sshserver.AccountFunc {
	return func(_ context.Context, user string) (sshserver.Account, error) {
		pw, ok := "", false
		if p, isP := st.(passworder); isP {
			pw, ok = p.Password(user)
		}
		if !ok {
			return sshserver.Account{}, &sshserver.RefusedError{Message: fmt.Sprintf("there is no SIP user %q on this server", user)}
		}
		return sshserver.Account{AOR: "sip:" + user + "@" + domain, DisplayName: user, Password: pw}, nil
	}
}

// tlsListenAddr is the SIP-over-TLS address: explicit, else the SIP host
// on 5061 (a free port when the SIP address asks for one).
func tlsListenAddr(explicit, sipAddr string) string {
	if explicit != "" {
		return explicit
	}
	host, port, err := net.SplitHostPort(sipAddr)
	if err != nil {
		return "127.0.0.1:5061"
	}
	if port == "0" {
		return net.JoinHostPort(host, "0")
	}
	return net.JoinHostPort(host, "5061")
}
