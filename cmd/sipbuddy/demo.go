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
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/internal/app/sshserver"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/tui"
	"github.com/sipbuddy/sipbuddy/tui/rowsize"
	"github.com/sipbuddy/sipbuddy/tui/termcaps"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// demoStartTimeout bounds the start of the demo world: servers, buddies
// registering and uploading their icons, all on loopback.
const demoStartTimeout = 20 * time.Second

const demoUsage = `usage: sipbuddy demo [flags]

Runs everything on loopback with no set-up: an embedded SIP registrar and
presence server, an embedded XCAP server, simulated buddies that change
status and icon, and the buddy list logged in as you. q quits and stops it.
`

// demoCmd runs everything on loopback: servers, simulated buddies and the
// buddy list as a demo user.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sipbuddy demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", 0, "make the simulated buddies' changes reproducible (0: random)")
	user := fs.String("user", "you", "the demo user's `name` (sip:NAME@"+demo.DefaultDomain+")")
	buddies := fs.Int("buddies", 0, "run only the first `N` simulated buddies (0: all)")
	render := fs.String("render", os.Getenv(envRender), "icons: auto (default: what the terminal answers for), kitty, kitty-direct, sixel, iterm2, symbols, halfblock, ascii or plain")
	pictures := fs.String("pictures", "", "`DIR` where the icon picker starts (default: the current directory)")
	notify := fs.String("notify", "", "on a buddy's status change, besides the highlight: off (default), bell, osc9 or osc777 (desktop notification)")
	logPath := fs.String("log", os.Getenv(envLog), "log `file` (default: sipbuddy-demo.log in the user cache dir)")
	verbose := fs.Bool("v", false, "log at DEBUG level (every SIP message of every simulated buddy), not INFO")
	sshAddr := fs.String("ssh", "", "serve the buddy list over SSH on `ADDR` (127.0.0.1:2222) instead of this terminal")
	useTLS := fs.Bool("tls", false, "everything over TLS: SIP over TLS and XCAP over HTTPS, with a throw-away CA made for this run")
	dataDir := fs.String("data", "", "keep the demo's store, SSH host key and visitors' pictures in `DIR` (default: a temporary directory)")
	authKeys := fs.String("authorized-keys", "", "with --ssh on a non-loopback address: the `FILE` of public keys allowed in (default DIR/authorized_keys)")
	rowSize := fs.String("row-size", "", "the list's rows: compact, comfortable (default) or large")
	prepareUsage(fs, args, stdout, demoUsage, flagEnv{"render": envRender, "log": envLog})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sipbuddy demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *useTLS && *sshAddr != "" {
		fmt.Fprintln(stderr, "Error: --tls and --ssh together are not supported yet (the SSH sessions do not know the throw-away CA)")
		return 2
	}
	notifyMode, err := tui.ParseNotify(*notify)
	if err != nil {
		fmt.Fprintf(stderr, "sipbuddy demo: --notify: %v\n", err)
		return 2
	}
	if _, err := rowsize.Parse(*rowSize); err != nil {
		fmt.Fprintf(stderr, "sipbuddy demo: --row-size: %v\n", err)
		return 2
	}
	if *render != "" {
		if _, err := termcaps.ParseRenderMode(*render); err != nil {
			fmt.Fprintf(stderr, "sipbuddy demo: --render: %v\n", err)
			return 2
		}
	}
	if *sshAddr != "" {
		// Refuse an unauthenticated public address before anything starts.
		keys := *authKeys
		if keys == "" && *dataDir != "" {
			keys = filepath.Join(*dataDir, sshserver.AuthorizedKeysFile)
		}
		if _, err := sshserver.CheckAuth(*sshAddr, keys); err != nil {
			fmt.Fprintf(stderr, "Error: %v\nUse --authorized-keys FILE (or --data DIR with DIR/%s) to let the keys in FILE log in.\n", err, sshserver.AuthorizedKeysFile)
			return 1
		}
	}
	logger, closeLog, path, err := openLog(*logPath, "sipbuddy-demo.log", *verbose, true)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	defer closeLog()

	startCtx, cancel := context.WithTimeout(ctx, demoStartTimeout)
	defer cancel()
	world, err := demo.Start(startCtx, demo.Options{Seed: *seed, Buddies: *buddies, DataDir: *dataDir, Logger: logger, TLS: *useTLS})
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v (log: %s)\n", err, path)
		return 1
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_ = world.Close(cctx)
	}()
	if *sshAddr != "" {
		return demoSSH(ctx, world, *sshAddr, *dataDir, *authKeys, *render, logger, path, stdout, stderr)
	}
	acct, err := world.AddUser(startCtx, *user, "You")
	if err == nil {
		err = uploadIcon(startCtx, acct, assets.DemoUserIcon())
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v (log: %s)\n", err, path)
		return 1
	}
	cacheDir, err := os.MkdirTemp("", "sipbuddy-demo-icons-")
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	defer os.RemoveAll(cacheDir)

	err = runTUI(ctx, account.Options{
		Options: ua.Options{
			AOR:         acct.AOR,
			DisplayName: acct.DisplayName,
			Password:    acct.Password,
			Proxy:       acct.Proxy,
			Logger:      logger,
			TLS:         acct.TLS,
		},
		XCAPRoot: acct.XCAPRoot,
		CacheDir: cacheDir,
	}, tui.Options{ArtMode: *render, RowSize: *rowSize, PicturesDir: *pictures, LogPath: path, Notify: notifyMode})
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v (log: %s)\n", err, path)
		return 1
	}
	return 0
}

// demoSSH serves the demo over SSH until ctx ends: every visitor is its own
// demo user, named after its SSH user, and sees the other visitors.
func demoSSH(ctx context.Context, world *demo.World, addr, dataDir, authKeys, render string, logger *slog.Logger, logPath string, stdout, stderr io.Writer) int {
	if dataDir == "" {
		d, err := os.MkdirTemp("", "sipbuddy-demo-ssh-")
		if err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return 1
		}
		defer os.RemoveAll(d)
		dataDir = d
	}
	visitors := demo.NewVisitors(world)
	srv, err := sshserver.New(sshserver.Options{
		Addr:           addr,
		DataDir:        dataDir,
		AuthorizedKeys: authKeys,
		Proxy:          world.Proxy(),
		XCAPRoot:       world.XCAPRoot(),
		ShareVisitors:  true,
		ArtMode:        render,
		Logger:         logger,
		Account: func(ctx context.Context, user string) (sshserver.Account, error) {
			a, err := visitors.Account(ctx, user)
			if errors.Is(err, demo.ErrReservedUser) {
				return sshserver.Account{}, &sshserver.RefusedError{Message: fmt.Sprintf("%q is one of the simulated buddies; pick another name", user)}
			}
			return sshserver.Account{AOR: a.AOR, DisplayName: a.DisplayName, Password: a.Password}, err
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "sipbuddy demo over SSH (SIP domain %s), data %s, log %s\n", world.Domain(), dataDir, logPath)
	return runSSH(ctx, srv, logger, stdout, stderr)
}

// uploadIcon stores an account's icon where the buddy list looks for its
// own: Blink's document, oma_status-icon/index.
func uploadIcon(ctx context.Context, acct demo.Account, img []byte) error {
	c, err := xcap.NewClient(xcap.ClientOptions{Root: acct.XCAPRoot, XUI: acct.AOR, Password: acct.Password, TLS: acct.TLS})
	if err != nil {
		return err
	}
	_, _, err = c.PutIcon(ctx, img, xcap.BlinkIconName)
	return err
}
