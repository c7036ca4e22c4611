package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/demo"
	"github.com/sipbuddy/sipbuddy/tui"
	"github.com/sipbuddy/sipbuddy/tui/backend"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// demoStartTimeout bounds the start of the demo world: servers, buddies
// registering and uploading their icons, all on loopback.
const demoStartTimeout = 20 * time.Second

// demoCmd runs everything on loopback: servers, simulated buddies and the
// buddy list as a demo user.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sipbuddy demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Uint64("seed", 0, "make the simulated buddies' changes reproducible (0: random)")
	user := fs.String("user", "you", "the demo user's `name` (sip:NAME@"+demo.DefaultDomain+")")
	buddies := fs.Int("buddies", 0, "run only the first `N` simulated buddies (0: all)")
	render := fs.String("render", os.Getenv(envRender), "icon art: halfblock, ascii or plain (NO_COLOR picks plain)")
	pictures := fs.String("pictures", "", "`DIR` where the icon picker starts (default: the current directory)")
	logPath := fs.String("log", os.Getenv(envLog), "log `file` (default: sipbuddy-demo.log in the user cache dir)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sipbuddy demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *logPath == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			*logPath = filepath.Join(dir, "sipbuddy", "sipbuddy-demo.log")
		}
	}
	logger, closeLog, path, err := openLog(*logPath)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	defer closeLog()

	startCtx, cancel := context.WithTimeout(ctx, demoStartTimeout)
	defer cancel()
	world, err := demo.Start(startCtx, demo.Options{Seed: *seed, Buddies: *buddies, Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v (log: %s)\n", err, path)
		return 1
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_ = world.Close(cctx)
	}()
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

	err = runTUI(ctx, backend.Options{
		AOR:         acct.AOR,
		DisplayName: acct.DisplayName,
		Password:    acct.Password,
		Proxy:       acct.Proxy,
		XCAPRoot:    acct.XCAPRoot,
		CacheDir:    cacheDir,
		Logger:      logger,
	}, tui.Options{ArtMode: *render, PicturesDir: *pictures})
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v (log: %s)\n", err, path)
		return 1
	}
	return 0
}

// uploadIcon stores an account's icon where the buddy list looks for its
// own: Blink's document, oma_status-icon/index.
func uploadIcon(ctx context.Context, acct demo.Account, img []byte) error {
	c, err := xcap.NewClient(xcap.ClientOptions{Root: acct.XCAPRoot, XUI: acct.AOR, Password: acct.Password})
	if err != nil {
		return err
	}
	_, _, err = c.PutIcon(ctx, img, xcap.BlinkIconName)
	return err
}
