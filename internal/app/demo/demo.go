// Package demo runs sipbuddy's self-contained world on loopback: the embedded
// XCAP and SIP servers over a temporary store, and simulated buddies that are
// real SIP user agents. They register, upload their icons over XCAP, publish
// their presence and change it every few seconds, so that a TUI logged in as
// a demo user has something alive to show.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/app/stack"
	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// DefaultDomain is the SIP domain of the demo world. The .test TLD is
// reserved (RFC 2606), so nothing ever resolves it: every request goes to
// the loopback proxy.
const DefaultDomain = "example.test"

// Options configure a demo world. The zero value is a working demo.
type Options struct {
	// Domain is the SIP domain and digest realm; default DefaultDomain.
	Domain string
	// Seed makes the simulation reproducible: the same seed gives the same
	// sequence of changes for each buddy. 0 picks a random seed.
	Seed uint64
	// DataDir holds the XCAP store. Empty: a temporary directory that
	// Close removes.
	DataDir string
	// SIPAddr and XCAPAddr are where the servers listen; default
	// "127.0.0.1:0" (ephemeral ports).
	SIPAddr, XCAPAddr string
	// MinChange and MaxChange bound the time between two changes of one
	// simulated buddy; defaults 4 s and 10 s.
	MinChange, MaxChange time.Duration
	// Buddies limits how many simulated buddies run (0: all of them).
	Buddies int
	// Logger receives the servers' and user agents' logs; default discard.
	Logger *slog.Logger
	// TLS runs everything over TLS: SIP over TLS (the proxy is the TLS
	// port) and XCAP over HTTPS, with certificates from a throw-away CA
	// made in a temporary directory, which every client of the world trusts.
	TLS bool
}

// Account is what a client needs to log in to the demo world.
type Account struct {
	AOR, DisplayName, Password string
	Proxy, XCAPRoot            string
	// TLS is how the world's certificates are verified (its throw-away CA).
	TLS tlsconf.Options
}

// World is a running demo: servers and simulated buddies.
type World struct {
	opts     Options
	domain   string
	stack    *stack.Stack
	tempDir  string
	tlsDir   string          // the throw-away CA (Options.TLS)
	trust    tlsconf.Options // how the world's clients verify it
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	sims     []*simulated
	closeErr error
	once     sync.Once
}

// Start brings up the servers and the simulated buddies. The buddies have
// registered and published (with their icons uploaded) when it returns.
func Start(ctx context.Context, o Options) (*World, error) {
	if o.Domain == "" {
		o.Domain = DefaultDomain
	}
	if o.SIPAddr == "" {
		o.SIPAddr = "127.0.0.1:0"
	}
	if o.XCAPAddr == "" {
		o.XCAPAddr = "127.0.0.1:0"
	}
	if o.MinChange <= 0 {
		o.MinChange = 4 * time.Second
	}
	if o.MaxChange < o.MinChange {
		o.MaxChange = o.MinChange + 6*time.Second
	}
	if o.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		for _, c := range b {
			o.Seed = o.Seed<<8 | uint64(c)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w := &World{opts: o, domain: o.Domain}
	if err := w.start(ctx); err != nil {
		_ = w.Close(context.Background())
		return nil, err
	}
	return w, nil
}

func (w *World) start(ctx context.Context) error {
	dir := w.opts.DataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "sipbuddy-demo-")
		if err != nil {
			return fmt.Errorf("demo: data dir: %w", err)
		}
		dir, w.tempDir = d, d
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("demo: data dir: %w", err)
	}
	var files tlsconf.Files
	sipTLS := ""
	if w.opts.TLS {
		var err error
		if files, err = w.makeCA(); err != nil {
			return err
		}
		host, _, _ := net.SplitHostPort(w.opts.SIPAddr)
		sipTLS = net.JoinHostPort(host, "0")
	}
	stk, err := stack.Start(ctx, stack.Options{
		TLSCert:    files.Cert,
		TLSKey:     files.Key,
		SIPTLSAddr: sipTLS,
		Domain:     w.domain,
		Store:      filepath.Join(dir, "xcap.db"),
		XCAPAddr:   w.opts.XCAPAddr,
		SIPAddr:    w.opts.SIPAddr,
		Logger:     w.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	w.stack = stk
	runCtx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel

	buddies := assets.Buddies()
	if n := w.opts.Buddies; n > 0 && n < len(buddies) {
		buddies = buddies[:n]
	}
	errs := make(chan error, len(buddies))
	for i, b := range buddies {
		s, err := w.newSimulated(i, b)
		if err != nil {
			return err
		}
		w.sims = append(w.sims, s)
		go func() { errs <- s.start(ctx) }()
	}
	for range buddies {
		if err := <-errs; err != nil {
			return fmt.Errorf("demo: buddy: %w", err)
		}
	}
	for _, s := range w.sims {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			s.run(runCtx)
		}()
	}
	return nil
}

// makeCA makes the throw-away CA and the servers' certificate (for the
// domain and 127.0.0.1) in a temporary directory of their own; the world's
// clients trust that CA.
func (w *World) makeCA() (tlsconf.Files, error) {
	dir, err := os.MkdirTemp("", "sipbuddy-demo-tls-")
	if err != nil {
		return tlsconf.Files{}, fmt.Errorf("demo: TLS: %w", err)
	}
	w.tlsDir = dir
	files, err := tlsconf.MakeThrowAway(dir, tlsconf.ThrowAway{Names: []string{w.domain, "127.0.0.1"}})
	if err != nil {
		return tlsconf.Files{}, fmt.Errorf("demo: %w", err)
	}
	w.trust = tlsconf.Options{CAFile: files.CA}
	return files, nil
}

// TLS returns how the world's clients verify its certificates (zero
// without Options.TLS).
func (w *World) TLS() tlsconf.Options { return w.trust }

// Domain returns the SIP domain of the world.
func (w *World) Domain() string { return w.domain }

// Proxy returns the SIP outbound proxy URI of the embedded server.
func (w *World) Proxy() string {
	if p := w.stack.TLSProxy(); p != "" {
		return p
	}
	return w.stack.Proxy()
}

// XCAPRoot returns the root URL of the embedded XCAP server.
func (w *World) XCAPRoot() string { return w.stack.XCAPRoot() }

// Store returns the world's document and user store.
func (w *World) Store() store.Store { return w.stack.Store() }

// Buddies returns the SIP URIs of the simulated buddies.
func (w *World) Buddies() []string {
	out := make([]string, len(w.sims))
	for i, s := range w.sims {
		out[i] = s.aor
	}
	return out
}

// AddUser creates (or re-creates) a user of the demo with a fresh random
// password, a buddy list holding every simulated buddy plus extra, and
// returns the account to log in with.
func (w *World) AddUser(ctx context.Context, user, displayName string, extra ...resourcelists.Entry) (Account, error) {
	if err := store.ValidateUser(user); err != nil {
		return Account{}, fmt.Errorf("demo: user %q: %w", user, err)
	}
	pw := randomPassword()
	if err := w.stack.Store().SetPassword(user, pw); err != nil {
		return Account{}, fmt.Errorf("demo: user %q: %w", user, err)
	}
	acct := Account{
		AOR:         "sip:" + user + "@" + w.domain,
		DisplayName: displayName,
		Password:    pw,
		Proxy:       w.Proxy(),
		XCAPRoot:    w.XCAPRoot(),
		TLS:         w.trust,
	}
	xc, err := xcap.NewClient(xcap.ClientOptions{Root: acct.XCAPRoot, XUI: acct.AOR, Password: pw, TLS: w.trust})
	if err != nil {
		return Account{}, fmt.Errorf("demo: %w", err)
	}
	_, err = resourcelists.Update(ctx, xc, func(d *resourcelists.Document) error {
		for _, s := range w.sims {
			if err := addOnce(d, s.aor, s.buddy.DisplayName); err != nil {
				return err
			}
		}
		for _, e := range extra {
			if e.URI == acct.AOR {
				continue
			}
			if err := addOnce(d, e.URI, e.DisplayName); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Account{}, fmt.Errorf("demo: buddy list of %s: %w", user, err)
	}
	return acct, nil
}

func addOnce(d *resourcelists.Document, uri, name string) error {
	for _, e := range d.Entries() {
		if e.URI == uri {
			return nil
		}
	}
	return d.Add(resourcelists.BuddiesList, uri, name)
}

// Close stops the buddies (they unpublish and unregister), then the
// servers, and removes a temporary data directory. It is bounded by ctx.
func (w *World) Close(ctx context.Context) error {
	w.once.Do(func() {
		var errs []error
		var wg sync.WaitGroup
		for _, s := range w.sims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.close(ctx)
			}()
		}
		wg.Wait()
		if w.cancel != nil {
			w.cancel()
		}
		w.wg.Wait()
		if w.stack != nil {
			errs = append(errs, w.stack.Shutdown(ctx))
		}
		if w.tempDir != "" {
			errs = append(errs, os.RemoveAll(w.tempDir))
		}
		if w.tlsDir != "" {
			errs = append(errs, os.RemoveAll(w.tlsDir))
		}
		w.closeErr = errors.Join(errs...)
	})
	return w.closeErr
}

func randomPassword() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
