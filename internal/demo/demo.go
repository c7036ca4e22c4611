// Package demo runs sipbuddy's self-contained world on loopback: the embedded
// XCAP and SIP servers over a temporary store, and simulated buddies that are
// real SIP user agents. They register, upload their icons over XCAP, publish
// their presence and change it every few seconds, so that a TUI logged in as
// a demo user has something alive to show.
package demo

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/internal/tlsconf"
	sipserver "github.com/sipbuddy/sipbuddy/sip/server"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
	xcapserver "github.com/sipbuddy/sipbuddy/xcap/server"
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
	store    *store.Bolt
	tempDir  string
	tlsDir   string          // the throw-away CA (Options.TLS)
	trust    tlsconf.Options // how the world's clients verify it
	sipTLS   net.Listener
	xcapSrv  *xcapserver.HTTPServer
	sipSrv   *sipserver.Server
	sipUDP   net.PacketConn
	sipTCP   net.Listener
	proxy    string
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
	st, err := store.Open(dir + "/xcap.db")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	w.store = st

	runCtx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel

	w.sipSrv, err = sipserver.New(sipserver.Options{Domain: w.domain, Store: st, Logger: w.opts.Logger})
	if err != nil {
		return fmt.Errorf("demo: SIP server: %w", err)
	}
	var files tlsconf.Files
	var xcapTLS *tls.Config
	if w.opts.TLS {
		if files, xcapTLS, err = w.makeCA(); err != nil {
			return err
		}
	}
	w.xcapSrv, err = xcapserver.Listen(runCtx, w.opts.XCAPAddr, xcapserver.Options{
		Domain:   w.domain,
		Store:    st,
		OnChange: w.sipSrv.StoreChanged,
		Logger:   w.opts.Logger,
		TLS:      xcapTLS,
	})
	if err != nil {
		return fmt.Errorf("demo: XCAP server: %w", err)
	}
	w.sipUDP, w.sipTCP, err = sipserver.Listen(w.opts.SIPAddr)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	w.proxy = fmt.Sprintf("sip:%s;transport=tcp", w.sipTCP.Addr())
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		_ = w.sipSrv.Serve(runCtx, w.sipUDP, w.sipTCP)
	}()
	if w.opts.TLS {
		host, _, _ := net.SplitHostPort(w.opts.SIPAddr)
		if w.sipTLS, err = sipserver.ListenTLS(net.JoinHostPort(host, "0"), files.Cert, files.Key); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		w.proxy = fmt.Sprintf("sip:%s;transport=tls", w.sipTLS.Addr())
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			_ = w.sipSrv.ServeTLS(w.sipTLS)
		}()
	}

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
// domain, which the SIP clients check, and 127.0.0.1, the XCAP root's
// host) in a new temporary directory.
func (w *World) makeCA() (tlsconf.Files, *tls.Config, error) {
	dir, err := os.MkdirTemp("", "sipbuddy-demo-tls-")
	if err != nil {
		return tlsconf.Files{}, nil, fmt.Errorf("demo: TLS: %w", err)
	}
	w.tlsDir = dir
	files, err := tlsconf.MakeThrowAway(dir, tlsconf.ThrowAway{Names: []string{w.domain, "127.0.0.1"}})
	if err != nil {
		return tlsconf.Files{}, nil, fmt.Errorf("demo: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return tlsconf.Files{}, nil, fmt.Errorf("demo: TLS: %w", err)
	}
	w.trust = tlsconf.Options{CAFile: files.CA}
	return files, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// TLS returns how the world's clients verify its certificates (zero
// without Options.TLS).
func (w *World) TLS() tlsconf.Options { return w.trust }

// Domain returns the SIP domain of the world.
func (w *World) Domain() string { return w.domain }

// Proxy returns the SIP outbound proxy URI of the embedded server.
func (w *World) Proxy() string { return w.proxy }

// XCAPRoot returns the root URL of the embedded XCAP server.
func (w *World) XCAPRoot() string { return w.xcapSrv.Root() }

// Store returns the world's document and user store.
func (w *World) Store() store.Store { return w.store }

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
	if err := w.store.SetPassword(user, pw); err != nil {
		return Account{}, fmt.Errorf("demo: user %q: %w", user, err)
	}
	acct := Account{
		AOR:         "sip:" + user + "@" + w.domain,
		DisplayName: displayName,
		Password:    pw,
		Proxy:       w.proxy,
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
		if w.sipSrv != nil {
			errs = append(errs, w.sipSrv.Close())
		}
		if w.xcapSrv != nil {
			errs = append(errs, w.xcapSrv.Shutdown(ctx))
		}
		if w.sipTCP != nil {
			_ = w.sipTCP.Close()
		}
		if w.sipUDP != nil {
			_ = w.sipUDP.Close()
		}
		w.wg.Wait()
		if w.store != nil {
			errs = append(errs, w.store.Close())
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
