// Package config reads sipbuddy's client configuration,
// ~/.config/sipbuddy/config.toml, and picks the account a tool or the TUI
// runs as.
//
//	default_account = "work"        # optional; else the first enabled account
//
//	[[account]]
//	name = "work"
//	account = "sip:alice@example.test"
//	password_command = "pass show sip/alice"   # or: password = "..."
//	proxy = "sip:127.0.0.1:5060;transport=tcp"
//	xcap_root = "http://127.0.0.1:8080/xcap-root"
//	transport = "tcp"                          # tcp (default) or udp
//	render_mode = "auto"                       # auto (default: ask the terminal), kitty, kitty-direct, sixel, iterm2, symbols, halfblock, ascii or plain
//	row_size = "comfortable"                   # the list's rows: compact (1 line), comfortable (default, 2) or large (4); z cycles
//	notify = "off"                             # on a buddy's status change: off (default), bell, osc9 or osc777
//	display_name = "Alice"
//	username = "alice"                         # authentication user; default the user part
//	rls = false                                # one SUBSCRIBE per buddy, no resource list subscription (default true)
//	enabled = true
package config

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/tui/rowsize"
	"github.com/sipbuddy/sipbuddy/tui/termcaps"
)

// Environment variables.
const (
	EnvConfig   = "SIPBUDDY_CONFIG"   // path of the configuration file
	EnvPassword = "SIPBUDDY_PASSWORD" // password, overriding the file
)

// Limits.
const (
	MaxFileSize              = 1 << 20 // bytes of config.toml
	MaxPasswordCommandOutput = 64 << 10
	// DefaultPasswordCommandTimeout bounds password_command unless the
	// account's password_timeout says otherwise: long enough to unlock a
	// keyring, short enough that a hung command is noticed.
	DefaultPasswordCommandTimeout = 10 * time.Second
	// MaxPasswordCommandTimeout is the longest password_timeout accepted.
	MaxPasswordCommandTimeout = 5 * time.Minute
)

// Notify settings: what the terminal is sent when a buddy's status
// changes (tui.Options.Notify by name).
const (
	NotifyOff    = "off"
	NotifyBell   = "bell"
	NotifyOSC9   = "osc9"
	NotifyOSC777 = "osc777"
)

// Account is one [[account]] entry.
type Account struct {
	Name            string `toml:"name"`
	Account         string `toml:"account"` // "sip:alice@example.test"
	DisplayName     string `toml:"display_name"`
	Username        string `toml:"username"` // authentication user name; default the user part of account
	Password        string `toml:"password"`
	PasswordCommand string `toml:"password_command"` // run with sh -c; trimmed stdout is the password
	PasswordTimeout string `toml:"password_timeout"` // how long password_command may take ("10s" default)
	Proxy           string `toml:"proxy"`
	XCAPRoot        string `toml:"xcap_root"`
	Transport       string `toml:"transport"`   // "tcp" (default), "udp" or "tls"
	CAFile          string `toml:"ca_file"`     // PEM CAs trusted for TLS instead of the system's
	RenderMode      string `toml:"render_mode"` // termcaps.RenderModes; "auto" (default) asks the terminal
	RowSize         string `toml:"row_size"`    // rowsize.Names; "comfortable" (default)
	Notify          string `toml:"notify"`      // "off" (default), "bell", "osc9", "osc777"
	RLS             *bool  `toml:"rls"`         // the buddy list through one RLS subscription; default true
	Enabled         *bool  `toml:"enabled"`     // default true
}

// File is a parsed configuration file.
type File struct {
	Path           string    `toml:"-"`
	DefaultAccount string    `toml:"default_account"`
	Accounts       []Account `toml:"account"`
}

// ID is the account's identifier as the SDK tools print it: the SIP URI
// without "sip:" ("alice@example.test").
func (a *Account) ID() string {
	id := strings.TrimPrefix(a.Account, "sip:")
	return strings.TrimPrefix(id, "sips:")
}

// UsesRLS reports whether the account watches its buddy list through one
// resource list subscription (the default; rls = false watches each buddy).
func (a *Account) UsesRLS() bool { return a.RLS == nil || *a.RLS }

// IsEnabled reports whether the account is enabled (the default).
func (a *Account) IsEnabled() bool { return a.Enabled == nil || *a.Enabled }

// AuthUsername is the user name for Digest authentication: username, else
// the user part of the account.
func (a *Account) AuthUsername() string {
	if a.Username != "" {
		return a.Username
	}
	return a.User()
}

// User is the user part of the account URI.
func (a *Account) User() string {
	u, _, _ := strings.Cut(a.ID(), "@")
	return u
}

// Domain is the host part of the account URI.
func (a *Account) Domain() string {
	_, d, _ := strings.Cut(a.ID(), "@")
	return d
}

// label names the account in messages: its name and id.
func (a *Account) label() string {
	if a.Name != "" && a.Name != a.ID() {
		return a.Name + " (" + a.ID() + ")"
	}
	return a.ID()
}

// DefaultPath is $SIPBUDDY_CONFIG, else <os.UserConfigDir>/sipbuddy/config.toml.
func DefaultPath() (string, error) {
	if p := os.Getenv(EnvConfig); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find the configuration directory: %w", err)
	}
	return filepath.Join(dir, "sipbuddy", "config.toml"), nil
}

// LoadDefault loads the file at DefaultPath.
func LoadDefault() (*File, error) {
	p, err := DefaultPath()
	if err != nil {
		return nil, err
	}
	return Load(p)
}

// Load reads and validates a configuration file. A missing file is an error
// that errors.Is(err, fs.ErrNotExist).
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: the file is larger than %d bytes", path, MaxFileSize)
	}
	return Parse(path, data)
}

// Parse parses and validates configuration text; path is used in messages.
func Parse(path string, data []byte) (*File, error) {
	var file File
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&file)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s:%d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("%s: unknown setting %s (known account settings: name, account, display_name, username, password, password_command, password_timeout, proxy, xcap_root, transport, ca_file, render_mode, row_size, notify, rls, enabled)", path, strings.Join(keys, ", "))
	}
	file.Path = path
	for i := range file.Accounts {
		if err := file.Accounts[i].Validate(); err != nil {
			return nil, fmt.Errorf("%s: account %d: %w", path, i+1, err)
		}
	}
	seen := map[string]bool{}
	for _, a := range file.Accounts {
		if a.Name != "" && seen[a.Name] {
			return nil, fmt.Errorf("%s: two accounts are named %q", path, a.Name)
		}
		seen[a.Name] = true
	}
	return &file, nil
}

// Validate checks the account's fields.
func (a *Account) Validate() error {
	if err := CheckAccountURI(a.Account); err != nil {
		if a.Name != "" {
			return fmt.Errorf("%q: %w", a.Name, err)
		}
		return err
	}
	if a.Password != "" && a.PasswordCommand != "" {
		return fmt.Errorf("%s: set password or password_command, not both", a.label())
	}
	if _, err := a.passwordTimeout(); err != nil {
		return fmt.Errorf("%s: %w", a.label(), err)
	}
	switch strings.ToLower(a.Transport) {
	case "", "tcp", "udp", "tls":
		a.Transport = strings.ToLower(a.Transport)
	default:
		return fmt.Errorf("%s: transport %q: want tcp, udp or tls", a.label(), a.Transport)
	}
	if a.RenderMode != "" {
		md, err := termcaps.ParseRenderMode(a.RenderMode)
		if err != nil {
			return fmt.Errorf("%s: render_mode: %w", a.label(), err)
		}
		a.RenderMode = md
	}
	if a.RowSize != "" {
		rs, err := rowsize.Parse(a.RowSize)
		if err != nil {
			return fmt.Errorf("%s: row_size: %w", a.label(), err)
		}
		a.RowSize = rs.String()
	}
	switch strings.ToLower(a.Notify) {
	case "", NotifyOff, NotifyBell, NotifyOSC9, NotifyOSC777:
		a.Notify = strings.ToLower(a.Notify)
	default:
		return fmt.Errorf("%s: notify %q: want %s, %s, %s or %s", a.label(), a.Notify, NotifyOff, NotifyBell, NotifyOSC9, NotifyOSC777)
	}
	if a.XCAPRoot != "" {
		if u, err := url.Parse(a.XCAPRoot); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s: xcap_root %q: want an http or https URL", a.label(), a.XCAPRoot)
		}
	}
	if a.Proxy != "" {
		if _, err := sipuri.Parse(a.Proxy); err != nil {
			return fmt.Errorf("%s: proxy %q: want a SIP URI such as sip:127.0.0.1:5060;transport=tcp: %w", a.label(), a.Proxy, err)
		}
	}
	return nil
}

// CheckAccountURI checks that s is the SIP address of a user,
// "sip:user@domain" (sips: and a port allowed), by sipuri's grammar; an
// account has no password, parameters or headers in its address.
func CheckAccountURI(s string) error {
	u, err := sipuri.Parse(s)
	if err != nil {
		return fmt.Errorf("account %q is not a SIP address (want sip:user@domain): %w", s, err)
	}
	var extra string
	switch {
	case u.User == "":
		extra = "it has no user part"
	case u.HasPassword:
		extra = "a password belongs in the password setting"
	case len(u.Params) > 0 || len(u.Headers) > 0:
		extra = "it has ;parameters or ?headers"
	default:
		return nil
	}
	return fmt.Errorf("account %q is not a SIP address (want sip:user@domain): %s", s, extra)
}

func ids(accounts []*Account) string {
	out := make([]string, len(accounts))
	for i, a := range accounts {
		out[i] = a.ID()
	}
	return strings.Join(out, ", ")
}

// Select picks an account the way the SIP SIMPLE SDK tools do. With a name:
// an account whose name is exactly name, else the one enabled account whose
// name or id contains name. Without one: default_account, else the first
// enabled account. The error texts are the SDK's.
func (f *File) Select(name string) (*Account, error) {
	all := make([]*Account, len(f.Accounts))
	var enabled []*Account
	for i := range f.Accounts {
		all[i] = &f.Accounts[i]
		if all[i].IsEnabled() {
			enabled = append(enabled, all[i])
		}
	}
	if name == "" {
		name = f.DefaultAccount
		if name == "" {
			if len(enabled) == 0 {
				if len(all) > 0 {
					return nil, fmt.Errorf("Account %s is not enabled", all[0].ID())
				}
				return nil, fmt.Errorf("no account is configured in %s: add an [[account]] entry or give --account and --xcap-root", f.Path)
			}
			return enabled[0], nil
		}
		for _, a := range all {
			if a.Name == name || a.ID() == name || a.Account == name {
				if !a.IsEnabled() {
					return nil, fmt.Errorf("Account %s is not enabled", a.ID())
				}
				return a, nil
			}
		}
		return nil, fmt.Errorf("Unknown account %s. Available accounts: %s", name, ids(all))
	}
	for _, a := range all {
		if a.Name == name {
			if !a.IsEnabled() {
				return nil, fmt.Errorf("Account %s is not enabled", a.ID())
			}
			return a, nil
		}
	}
	match := func(a *Account) bool { return strings.Contains(a.Name, name) || strings.Contains(a.ID(), name) }
	var matches []*Account
	for _, a := range enabled {
		if match(a) {
			matches = append(matches, a)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		if i := slices.IndexFunc(all, match); i >= 0 {
			return nil, fmt.Errorf("Account %s is not enabled", all[i].ID())
		}
		return nil, fmt.Errorf("No enabled account that matches %s was found. Available and enabled accounts: %s", name, ids(enabled))
	}
	return nil, fmt.Errorf("More than one account exists which matches %s: %s", name, ids(matches))
}

// ResolvePassword returns the password: $SIPBUDDY_PASSWORD if set, else
// password, else the trimmed output of password_command run with sh -c
// (bounded by password_timeout and MaxPasswordCommandOutput). An
// account without any is not an error: the result is "".
func (a *Account) ResolvePassword(ctx context.Context) (string, error) {
	if p, ok := os.LookupEnv(EnvPassword); ok && p != "" {
		return p, nil
	}
	if a.Password != "" || a.PasswordCommand == "" {
		return a.Password, nil
	}
	timeout, err := a.passwordTimeout()
	if err != nil {
		return "", err
	}
	return RunPasswordCommand(ctx, a.PasswordCommand, timeout)
}

// Flags are the account options of the command-line tools.
type Flags struct {
	AccountName string // -a: select from the file
	Account     string // --account sip:alice@example.test
	Username    string // --username (authentication user)
	XCAPRoot    string // --xcap-root
	Password    string // --password
	ConfigPath  string // --config; default DefaultPath
}

// Resolve picks the account for a tool run: from the configuration file
// (by -a, or the default account) unless --account is given without -a, in
// which case the file is not needed. Flags given explicitly override the
// file's values. The password is resolved (flag, then $SIPBUDDY_PASSWORD,
// then password/password_command) and stored in Password.
func Resolve(ctx context.Context, fl Flags) (*Account, error) {
	var acc Account
	if fl.AccountName != "" || fl.Account == "" {
		path := fl.ConfigPath
		if path == "" {
			var err error
			if path, err = DefaultPath(); err != nil {
				return nil, err
			}
		}
		file, err := Load(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && fl.AccountName == "" {
				return nil, fmt.Errorf("no configuration file %s: give --account and --xcap-root, or create it with an [[account]] entry", path)
			}
			return nil, fmt.Errorf("Failed to load sipbuddy's configuration: %w", err)
		}
		a, err := file.Select(fl.AccountName)
		if err != nil {
			return nil, err
		}
		acc = *a
	}
	if fl.Account != "" {
		if err := CheckAccountURI(fl.Account); err != nil {
			return nil, err
		}
		if acc.Account != fl.Account {
			acc.Password, acc.PasswordCommand = "", ""
		}
		acc.Account = fl.Account
	}
	if fl.XCAPRoot != "" {
		acc.XCAPRoot = fl.XCAPRoot
	}
	if fl.Username != "" {
		acc.Username = fl.Username
	}
	if err := acc.Validate(); err != nil {
		return nil, err
	}
	if fl.Password != "" {
		acc.Password, acc.PasswordCommand = fl.Password, ""
		return &acc, nil
	}
	p, err := acc.ResolvePassword(ctx)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", acc.ID(), err)
	}
	acc.Password, acc.PasswordCommand = p, ""
	return &acc, nil
}

// RequireXCAP reports the SDK's error when the account has no XCAP root.
func (a *Account) RequireXCAP() error {
	if a.XCAPRoot == "" {
		return fmt.Errorf("XCAP root is not defined for account %s", a.ID())
	}
	return nil
}

// Register adds the account options shared by the command-line tools:
// -a/--account-name, --account, --username, --xcap-root, --password, --config.
func (fl *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&fl.AccountName, "a", "", "the `NAME` (or part of the name or SIP address) of the account in the configuration file")
	fs.StringVar(&fl.AccountName, "account-name", "", "same as -a")
	fs.StringVar(&fl.Account, "account", "", "the SIP account `URI`, e.g. sip:alice@example.test (instead of the configuration file)")
	fs.StringVar(&fl.Username, "username", "", "the authentication `user` name (default the user part of the account)")
	fs.StringVar(&fl.XCAPRoot, "xcap-root", "", "the XCAP root `URL`, e.g. http://127.0.0.1:8080/xcap-root")
	fs.StringVar(&fl.Password, "password", "", "the account password (default $"+EnvPassword+", then the configuration file)")
	fs.StringVar(&fl.ConfigPath, "config", "", "the configuration `file` (default $"+EnvConfig+" or ~/.config/sipbuddy/config.toml)")
}
