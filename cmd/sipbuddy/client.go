package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/app/config"
	"github.com/sipbuddy/sipbuddy/tui"
	"github.com/sipbuddy/sipbuddy/tui/rowsize"
	"github.com/sipbuddy/sipbuddy/tui/termcaps"
)

// Environment variables that stand in for the client's flags.
const (
	envAccount  = "SIPBUDDY_ACCOUNT"
	envProxy    = "SIPBUDDY_PROXY"
	envXCAPRoot = "SIPBUDDY_XCAP_ROOT"
	envRender   = "SIPBUDDY_RENDER"
	envDNS      = "SIPBUDDY_DNS"
	envData     = "SIPBUDDY_DATA"
	envLog      = "SIPBUDDY_LOG"
)

// clientEnv names the variables that stand in for the client's flags.
var clientEnv = flagEnv{
	"account":   envAccount,
	"password":  config.EnvPassword,
	"proxy":     envProxy,
	"xcap-root": envXCAPRoot,
	"render":    envRender,
	"log":       envLog,
	"config":    config.EnvConfig,
}

// closeTimeout bounds the goodbye on quit: unpublish, unsubscribe,
// unregister. A server that went away must not keep the terminal hostage.
const closeTimeout = 5 * time.Second

// client runs the buddy list for one account.
func client(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sipbuddy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var fl config.Flags
	fs.StringVar(&fl.AccountName, "a", "", "pick the account from the configuration file whose id contains `NAME`")
	fs.StringVar(&fl.Account, "account", os.Getenv(envAccount), "SIP account, `sip:alice@example.test` ($"+envAccount+")")
	fs.StringVar(&fl.Password, "password", "", "password (or $"+config.EnvPassword+", or password_command in the config file)")
	fs.StringVar(&fl.XCAPRoot, "xcap-root", os.Getenv(envXCAPRoot), "XCAP root `URL` ($"+envXCAPRoot+")")
	fs.StringVar(&fl.ConfigPath, "config", "", "configuration `file` (default $"+config.EnvConfig+" or ~/.config/sipbuddy/config.toml)")
	proxy := fs.String("proxy", os.Getenv(envProxy), "outbound proxy, `sip:127.0.0.1:5060;transport=tcp` ($"+envProxy+")")
	transport := fs.String("transport", "", "SIP transport: tcp (default), udp or tls")
	var net netFlags
	net.register(fs)
	render := fs.String("render", os.Getenv(envRender), "icons: auto (default: what the terminal answers for), kitty, kitty-direct, sixel, iterm2, symbols, halfblock, ascii or plain ($"+envRender+")")
	rowSize := fs.String("row-size", "", "the list's rows: compact (one line), comfortable (default) or large (four lines, bigger icons); overrides row_size and the size chosen with z")
	pictures := fs.String("pictures", "", "`DIR` where the icon picker starts (default: the current directory)")
	notify := fs.String("notify", "", "on a buddy's status change, besides the highlight: off (default), bell, osc9 or osc777 (desktop notification); overrides the account's notify")
	logPath := fs.String("log", os.Getenv(envLog), "log `file` (default: sipbuddy.log in the user cache dir)")
	verbose := fs.Bool("v", false, "log at DEBUG level (every SIP message), not INFO")
	prepareUsage(fs, args, stdout, usage, clientEnv)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sipbuddy: unexpected argument %q\n%s", fs.Arg(0), usage)
		return 2
	}

	acct, err := config.Resolve(ctx, fl)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	if *proxy != "" {
		acct.Proxy = *proxy
	}
	if *transport != "" {
		acct.Transport = *transport
	}
	if *render != "" {
		md, err := termcaps.ParseRenderMode(*render)
		if err != nil {
			fmt.Fprintf(stderr, "sipbuddy: --render: %v\n", err)
			return 2
		}
		acct.RenderMode = md
	}
	if *rowSize != "" {
		rs, err := rowsize.Parse(*rowSize)
		if err != nil {
			fmt.Fprintf(stderr, "sipbuddy: --row-size: %v\n", err)
			return 2
		}
		acct.RowSize = rs.String()
	}
	if *notify != "" {
		if acct.Notify, err = tui.ParseNotify(*notify); err != nil {
			fmt.Fprintf(stderr, "sipbuddy: --notify: %v\n", err)
			return 2
		}
	}
	bo, err := net.accountOptions(ctx, acct)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}

	// The art chosen with m and the row size chosen with z last time beat
	// the configured defaults; --render and --row-size beat both. A
	// damaged file is said by the account.
	if saved, ok, _ := account.LoadState(bo.StateFile); ok {
		if _, err := termcaps.ParseRenderMode(saved.RenderMode); err == nil && *render == "" && saved.RenderMode != "" {
			acct.RenderMode = saved.RenderMode
		}
		if _, err := rowsize.Parse(saved.RowSize); err == nil && *rowSize == "" && saved.RowSize != "" {
			acct.RowSize = saved.RowSize
		}
	}

	logger, closeLog, path, err := openLog(*logPath, "sipbuddy.log", *verbose, false)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	defer closeLog()

	bo.Logger = logger
	opts := tui.Options{ArtMode: acct.RenderMode, RowSize: acct.RowSize, PicturesDir: *pictures, LogPath: path, LastFolderFile: lastFolderFile(), Notify: acct.Notify}
	if acct.PasswordCommand != "" && acct.Password == "" && os.Getenv(config.EnvPassword) == "" {
		// A refused password reruns password_command (a key ring may have
		// a newer one) before a prompt asks the person.
		opts.PasswordCommand = func() (string, error) { return acct.ResolvePassword(ctx) }
	}
	err = runTUI(ctx, bo, opts)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v (log: %s)\n", err, path)
		return 1
	}
	return 0
}

// runTUI runs the buddy list on this process's terminal until the user
// quits or ctx ends, then says goodbye to the servers.
func runTUI(ctx context.Context, bo account.Options, to tui.Options, opts ...tea.ProgramOption) error {
	b, err := account.New(bo)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_ = b.Close(cctx)
	}()
	if err := b.Start(ctx); err != nil {
		return err
	}
	p := tea.NewProgram(tui.New(b, to), append([]tea.ProgramOption{tea.WithContext(ctx)}, opts...)...)
	_, err = p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // SIGINT/SIGTERM: a normal way to leave
	}
	return err
}

// lastFolderFile is where the icon picker remembers its folder: the user
// config directory (one per person, whichever account), or "" without one.
func lastFolderFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "sipbuddy", tui.LastFolderFile)
}
