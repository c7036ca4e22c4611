// Package stack starts and stops sipbuddy's server side as one unit: the
// document store, the SIP registrar and presence server, the XCAP server and
// (optionally) a front end such as the SSH buddy list. `sipbuddy serve` and the demo world both run
// it, so the order in which the parts start, learn of each other and stop is
// written once.
//
// The parts run under one errgroup: when one fails, the others are stopped
// and Done is closed; Shutdown stops everything in the order that loses
// nothing (front-end sessions first, so that they unpublish through the servers,
// then the servers, then the store).
package stack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	sipserver "github.com/sipbuddy/sipbuddy/sip/server"
	xcapserver "github.com/sipbuddy/sipbuddy/xcap/server"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// FrontEndShutdownTimeout bounds the front end's shutdown when another part
// failed: its sessions say goodbye to the SIP server.
const FrontEndShutdownTimeout = 10 * time.Second

// Options configure a Stack.
type Options struct {
	// Domain is the SIP domain and digest realm. Required.
	Domain string
	// Store is where documents and users live: the path of a bbolt file,
	// or a postgres:// (postgresql://) connection URL. Required.
	Store string
	// XCAPAddr is the XCAP listen address ("127.0.0.1:8080", port 0 for
	// any). Required.
	XCAPAddr string
	// XCAPRoot is the public XCAP root URL; default the bound address.
	XCAPRoot string
	// SIPAddr is the SIP listen address (UDP and TCP); empty runs no SIP
	// server (a stateless XCAP node).
	SIPAddr string
	// TLSCert and TLSKey are PEM files: when set, XCAP is served over
	// HTTPS, and SIP over TLS too on SIPTLSAddr.
	TLSCert, TLSKey string
	// SIPTLSAddr is the SIP over TLS listen address (port 0 for any);
	// empty: no SIP over TLS. Needs TLSCert and the SIP server.
	SIPTLSAddr string
	// Policy decides watchers of users without pres-rules.
	Policy sipserver.Policy
	// FrontEnd, when set, builds a front end served beside the servers (the
	// SSH buddy list), once they listen. It needs the SIP server.
	FrontEnd func(Running) (FrontEnd, error)
	// NonceSecret keys the digest nonces, so that every node sharing it
	// accepts the nonces of the others. Empty: the shared store's secret
	// when it keeps one (pgstore: a table, created once), else none (each
	// verifier makes its own).
	NonceSecret []byte
	// Users are created or updated in the store before anything serves.
	Users []User
	// NoListServer and NoXcapDiff turn the SIP server's resource list
	// server and xcap-diff notifier off (sip/server.Options).
	NoListServer, NoXcapDiff bool
	// Logger receives every part's logs; default discard.
	Logger *slog.Logger
}

// Running is what a front end needs of the started servers.
type Running struct {
	Proxy, XCAPRoot string
	Store           store.Store
}

// FrontEnd is a server run beside the SIP and XCAP servers
// (*sshserver.Server is one).
type FrontEnd interface {
	Listen() (net.Listener, error)
	Serve(l net.Listener) error
	// Shutdown ends the sessions, bounded by ctx.
	Shutdown(ctx context.Context) error
}

// User is a user to create or update at start.
type User struct{ Name, Password string }

// Stack is a running server side. Build it with Start; stop it with
// Shutdown.
type Stack struct {
	opts    Options
	store   store.Store
	xcap    *xcapserver.HTTPServer
	sip     *sipserver.Server
	udp     net.PacketConn
	tcp     net.Listener
	sipTLS  net.Listener
	front   FrontEnd
	frontLn net.Listener
	proxy   string
	// tlsProxy is the SIP over TLS proxy URI, "" without SIPTLSAddr.
	tlsProxy string

	cancel   context.CancelFunc
	group    *errgroup.Group
	waiting  bool // the goroutine that closes done runs
	done     chan struct{}
	groupErr error

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start opens the store and starts the servers. ctx bounds the start only:
// the servers run until Shutdown, or until one of them fails (Done).
func Start(ctx context.Context, o Options) (*Stack, error) {
	switch {
	case o.Domain == "":
		return nil, errors.New("stack: Options.Domain is required")
	case o.Store == "":
		return nil, errors.New("stack: Options.Store is required")
	case o.XCAPAddr == "":
		return nil, errors.New("stack: Options.XCAPAddr is required")
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return nil, errors.New("stack: TLS needs both a certificate and a key file")
	case o.SIPTLSAddr != "" && (o.TLSCert == "" || o.SIPAddr == ""):
		return nil, errors.New("stack: SIP over TLS needs a certificate and the SIP server")
	case o.FrontEnd != nil && o.SIPAddr == "":
		return nil, errors.New("stack: the front end needs the SIP server (Options.SIPAddr)")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Stack{opts: o, done: make(chan struct{})}
	if err := s.start(ctx); err != nil {
		_ = s.Shutdown(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context) error {
	st, err := OpenStore(ctx, s.opts.Store, s.opts.Domain)
	if err != nil {
		return err
	}
	s.store = st
	if len(s.opts.NonceSecret) == 0 {
		if ns, ok := st.(nonceSecretStore); ok {
			if s.opts.NonceSecret, err = ns.NonceSecret(ctx); err != nil {
				return fmt.Errorf("stack: %w", err)
			}
		}
	}
	for _, u := range s.opts.Users {
		if err := st.SetPassword(u.Name, u.Password); err != nil {
			return fmt.Errorf("stack: user %q: %w", u.Name, err)
		}
	}

	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	g, gctx := errgroup.WithContext(runCtx)
	s.group = g

	// The SIP server re-reads a user's pres-rules whenever the XCAP server
	// changes a document, so an accepted watcher becomes active at once.
	onChange := func(store.Key) {}
	if s.opts.SIPAddr != "" {
		s.sip, err = sipserver.New(sipserver.Options{Domain: s.opts.Domain, Store: st, Policy: s.opts.Policy, Logger: s.opts.Logger,
			NoListServer: s.opts.NoListServer, NoXcapDiff: s.opts.NoXcapDiff})
		if err != nil {
			return fmt.Errorf("stack: SIP server: %w", err)
		}
		onChange = s.sip.StoreChanged
	}
	var xcapTLS *tls.Config
	if s.opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.opts.TLSCert, s.opts.TLSKey)
		if err != nil {
			return fmt.Errorf("stack: TLS certificate: %w", err)
		}
		xcapTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.xcap, err = xcapserver.Listen(gctx, s.opts.XCAPAddr, xcapserver.Options{
		TLS:      xcapTLS,
		Domain:   s.opts.Domain,
		Root:     s.opts.XCAPRoot,
		Store:    st,
		OnChange: onChange,
		Logger:   s.opts.Logger,
		// Nodes sharing the secret accept each other's nonces: a client
		// that moves to another node is not challenged again.
		NonceSecret: s.opts.NonceSecret,
	})
	if err != nil {
		return fmt.Errorf("stack: XCAP server: %w", err)
	}
	if s.sip != nil {
		s.sip.SetXCAPRoot(s.xcap.Root())
	}
	g.Go(func() error {
		<-s.xcap.Done()
		if err := s.xcap.Err(); err != nil {
			return fmt.Errorf("XCAP: %w", err)
		}
		return nil
	})
	if s.sip != nil {
		s.udp, s.tcp, err = sipserver.Listen(s.opts.SIPAddr)
		if err != nil {
			return fmt.Errorf("stack: %w", err)
		}
		s.proxy = "sip:" + s.tcp.Addr().String() + ";transport=tcp"
		g.Go(func() error {
			err := s.sip.Serve(gctx, s.udp, s.tcp)
			if err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("SIP: %w", err)
			}
			return nil
		})
		if s.opts.SIPTLSAddr != "" {
			if s.sipTLS, err = sipserver.ListenTLS(s.opts.SIPTLSAddr, s.opts.TLSCert, s.opts.TLSKey); err != nil {
				return fmt.Errorf("stack: %w", err)
			}
			s.tlsProxy = "sip:" + s.sipTLS.Addr().String() + ";transport=tls"
			g.Go(func() error {
				if err := s.sip.ServeTLS(s.sipTLS); err != nil {
					return fmt.Errorf("SIP over TLS: %w", err)
				}
				return nil
			})
		}
	}
	if w, ok := st.(store.Watcher); ok {
		g.Go(func() error { return w.Watch(gctx, s.opts.Logger, s.otherNodeChanged) })
	}
	if s.opts.FrontEnd != nil {
		if err := s.startFrontEnd(gctx); err != nil {
			return err
		}
	}
	s.waiting = true
	go func() {
		s.groupErr = g.Wait()
		close(s.done)
	}()
	return nil
}

func (s *Stack) startFrontEnd(gctx context.Context) error {
	srv, err := s.opts.FrontEnd(Running{Proxy: s.proxy, XCAPRoot: s.xcap.Root(), Store: s.store})
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	ln, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("stack: %w", err)
	}
	s.front, s.frontLn = srv, ln
	s.group.Go(func() error {
		if err := srv.Serve(ln); err != nil {
			return fmt.Errorf("front end: %w", err)
		}
		return nil
	})
	// Another part failing ends the front end's sessions too (Shutdown
	// does the same first, on its own clock).
	s.group.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), FrontEndShutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	})
	return nil
}

// nonceSecretStore is a store that keeps the digest nonce secret its nodes
// share (pgstore.Store).
type nonceSecretStore interface {
	NonceSecret(ctx context.Context) ([]byte, error)
}

// TLSProxy returns the SIP over TLS outbound proxy URI
// ("sip:127.0.0.1:5061;transport=tls"), "" without Options.SIPTLSAddr.
func (s *Stack) TLSProxy() string { return s.tlsProxy }

// SIPTLSAddr returns the bound SIP over TLS address, nil without one.
func (s *Stack) SIPTLSAddr() net.Addr {
	if s.sipTLS == nil {
		return nil
	}
	return s.sipTLS.Addr()
}

// NonceSecret returns the key of the digest nonces (Options.NonceSecret,
// or the shared store's).
func (s *Stack) NonceSecret() []byte { return s.opts.NonceSecret }

// otherNodeChanged applies a write another node made to the shared store:
// the XCAP server forgets its cached copy, the SIP server re-reads the
// pres-rules it concerns (every user's, when changes may have been
// missed).
func (s *Stack) otherNodeChanged(c store.Change) {
	s.xcap.Handler().Forget(c)
	if s.sip == nil {
		return
	}
	if !c.All {
		s.sip.StoreChanged(c.Key)
		return
	}
	users, err := s.store.Users()
	if err != nil {
		s.opts.Logger.Warn("stack: re-reading every user's pres-rules", "err", err)
		return
	}
	for _, u := range users {
		s.sip.RulesChanged(u)
	}
}

// Store returns the document and user store.
func (s *Stack) Store() store.Store { return s.store }

// XCAPRoot returns the root URL of the XCAP server.
func (s *Stack) XCAPRoot() string { return s.xcap.Root() }

// XCAP returns the running XCAP server.
func (s *Stack) XCAP() *xcapserver.HTTPServer { return s.xcap }

// XCAPAddr returns the bound address of the XCAP server.
func (s *Stack) XCAPAddr() net.Addr { return s.xcap.Addr() }

// SIP returns the SIP server, nil when the stack runs none.
func (s *Stack) SIP() *sipserver.Server { return s.sip }

// SIPAddr returns the bound TCP address of the SIP server (UDP listens on
// the same port), nil without one.
func (s *Stack) SIPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// Proxy returns the SIP outbound proxy URI clients use
// ("sip:127.0.0.1:5060;transport=tcp"), empty without a SIP server.
func (s *Stack) Proxy() string { return s.proxy }

// FrontEnd returns the front end and its listener, nil without one.
func (s *Stack) FrontEnd() (FrontEnd, net.Listener) { return s.front, s.frontLn }

// Done is closed when every part has stopped: after Shutdown, or when one
// part failed and took the others down (then Shutdown returns why).
func (s *Stack) Done() <-chan struct{} { return s.done }

// Shutdown stops the front end's sessions (each unpublishes), then the servers,
// then closes the store. It is bounded by ctx and returns the first part's
// failure, if one failed, joined with any error of stopping. Safe to call
// more than once.
func (s *Stack) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		var errs []error
		if s.front != nil {
			if err := s.front.Shutdown(ctx); err != nil {
				s.opts.Logger.Warn("front end shutdown", "err", err)
			}
		}
		if s.xcap != nil {
			if err := s.xcap.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("XCAP shutdown: %w", err))
			}
		}
		if s.cancel != nil {
			s.cancel()
		}
		if s.sip != nil {
			if err := s.sip.Close(); err != nil {
				errs = append(errs, fmt.Errorf("SIP close: %w", err))
			}
		}
		if s.tcp != nil {
			_ = s.tcp.Close()
		}
		if s.udp != nil {
			_ = s.udp.Close()
		}
		switch {
		case s.waiting:
			<-s.done
		case s.group != nil: // Start failed before the waiter ran
			s.groupErr = s.group.Wait()
		}
		if s.groupErr != nil {
			errs = append([]error{s.groupErr}, errs...)
		}
		if s.store != nil {
			if err := s.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing the store: %w", err))
			}
		}
		s.shutdownErr = errors.Join(errs...)
	})
	return s.shutdownErr
}
