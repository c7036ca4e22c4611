// Package sshserver serves sipbuddy's buddy list over SSH (wish v2): every
// SSH session runs its own Bubble Tea program on a real PTY, logged in as
// its own SIP user named after the SSH user (`ssh carol@host` is
// sip:carol@domain). Visitors send pictures for their icon with scp or sftp
// into a per-user sandbox, which the icon picker shows.
//
// The package knows nothing of the demo: it gets an account for an SSH user
// from Options.Account (the demo creates one, a deployment looks the
// password up in its store) and the servers' proxy and XCAP root.
//
// With Options.Password, users log in with their SIP password (password or
// keyboard-interactive authentication) or a key from authorized_keys, on
// any address. Without it, on a loopback address anyone may connect (the
// demo on one machine); on any other address New refuses to start without
// an authorized_keys file, and only the keys listed there may log in.
package sshserver

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/scp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/sipbuddy/sipbuddy/account"
)

// Limits and timeouts of the SSH front end.
const (
	// DefaultMaxSessions bounds concurrent buddy-list sessions. It stays
	// below account.MaxConcurrentRequests: a visitor who joins adds itself
	// to every other visitor's list with one request each.
	DefaultMaxSessions = 12
	// MaxConnections bounds logged-in SSH connections (sessions and
	// uploads); the first channel of one more is refused. Connections
	// still in their handshake are bounded by MaxPreAuthConnections.
	MaxConnections = 4 * DefaultMaxSessions
	// DefaultIdleTimeout ends a session whose visitor typed nothing for
	// that long (screen updates do not count).
	DefaultIdleTimeout = 30 * time.Minute
	// MaxSessionDuration ends any connection after that long.
	MaxSessionDuration = 12 * time.Hour
	// SessionStartTimeout bounds getting the account and starting the
	// backend of a session.
	SessionStartTimeout = 20 * time.Second
	// SessionCloseTimeout bounds the goodbye (unpublish, unsubscribe,
	// unregister) when a session ends.
	SessionCloseTimeout = 5 * time.Second
	// ptyDrainTimeout bounds the wait for the program's last output to
	// leave the PTY when a session ends; drainPoll is how often it looks.
	ptyDrainTimeout = 2 * time.Second
	drainPoll       = 5 * time.Millisecond
	// MaxUserBytes bounds an SSH user name.
	MaxUserBytes = 32
)

// Account is the SIP account an SSH visitor is logged in with.
type Account struct {
	AOR         string // "sip:carol@example.test"
	DisplayName string
	Password    string
}

// AccountFunc returns the account of a (valid) SSH user name. Return a
// *RefusedError to refuse the visitor with its message; any other error is
// logged and the visitor told that the account could not be opened.
type AccountFunc func(ctx context.Context, user string) (Account, error)

// RefusedError refuses a visitor; Message is shown on its terminal.
type RefusedError struct{ Message string }

func (e *RefusedError) Error() string { return e.Message }

// Options configure a Server.
type Options struct {
	// Addr is where to listen, "127.0.0.1:2222". Required.
	Addr string
	// DataDir keeps the host key, the default authorized_keys file, the
	// visitors' picture sandboxes and icon caches. Required.
	DataDir string
	// HostKeyPath defaults to DataDir/ssh_host_ed25519_key (created on
	// first start).
	HostKeyPath string
	// AuthorizedKeys is the authorized_keys file required on a non-loopback
	// Addr; default DataDir/authorized_keys. Ignored on loopback unless
	// RequireKeys.
	AuthorizedKeys string
	// RequireKeys asks for public-key authentication on a loopback address
	// too (a deployment behind a local port forward).
	RequireKeys bool
	// Password looks up a SIP user's password. When set, users log in
	// with it (or with a key from authorized_keys, when the file exists)
	// on every address, and only the users it knows get a picture
	// sandbox: `sipbuddy serve`. Nil: the demo's rules (see the package
	// documentation).
	Password func(user string) (password string, ok bool)

	// Proxy and XCAPRoot are the SIP outbound proxy and XCAP root every
	// session's backend uses. Required.
	Proxy, XCAPRoot string
	// Account gets the SIP account of an SSH user. Required.
	Account AccountFunc
	// ShareVisitors puts every connected visitor in every other visitor's
	// buddy list (the demo does; a deployment may not want to).
	ShareVisitors bool

	// MaxSessions bounds concurrent buddy-list sessions; default
	// DefaultMaxSessions.
	MaxSessions int
	// IdleTimeout ends sessions without keyboard input; default
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// HandshakeTimeout closes a connection that has not logged in after
	// that long; default HandshakeTimeout.
	HandshakeTimeout time.Duration
	// ArtMode is the initial icon art mode of every session (see
	// tui.Options.ArtMode); empty: from the session's NO_COLOR.
	ArtMode string
	// Backend adjusts each session's backend options (tests use it for
	// short retries); may be nil.
	Backend func(*account.Options)
	// Logger receives the server's logs; default discard.
	Logger *slog.Logger
}

// Server is the SSH front end. Build it with New, then Serve or
// ListenAndServe; Shutdown ends it.
type Server struct {
	opts     Options
	logger   *slog.Logger
	ssh      *ssh.Server
	keys     *AuthorizedKeys // nil on loopback: no authentication
	hostKey  gossh.Signer
	hub      *hub
	boxes    *sandboxes
	cacheDir string

	sessions chan struct{} // semaphore of buddy-list sessions
	conns    *connTracker

	mu        sync.Mutex
	listeners []net.Listener
	// conns counts the connection goroutines this server started (see
	// Serve); Shutdown waits for them before charm's own Shutdown.
	connWG sync.WaitGroup
	cancel context.CancelFunc
	ctx    context.Context
	wg     sync.WaitGroup
}

// userPattern is what an SSH user name must look like to become a SIP
// user: lower-case, starting with a letter, no dots at the end.
var userPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$`)

// ValidUser checks an SSH user name for use as a SIP user part and as a
// directory name.
func ValidUser(user string) error {
	if len(user) > MaxUserBytes || !userPattern.MatchString(user) {
		return &RefusedError{Message: fmt.Sprintf(
			"%q cannot be a buddy-list user: use a name of at most %d lower-case letters, digits, '-', '_' or '.', starting with a letter (ssh carol@host)",
			user, MaxUserBytes)}
	}
	return nil
}

// New checks the options (authentication first: a non-loopback Addr
// without authorized_keys is refused before anything is opened), loads or
// creates the host key and builds the server. It does not listen.
func New(o Options) (*Server, error) {
	if o.Addr == "" {
		return nil, errors.New("sshserver: no address")
	}
	if o.DataDir == "" {
		return nil, errors.New("sshserver: no data directory")
	}
	if o.AuthorizedKeys == "" {
		o.AuthorizedKeys = filepath.Join(o.DataDir, AuthorizedKeysFile)
	}
	keys, err := CheckAuth(o.Addr, o.AuthorizedKeys)
	if err != nil {
		return nil, err
	}
	if keys == nil && o.Password != nil {
		if _, statErr := os.Stat(o.AuthorizedKeys); statErr == nil {
			if keys, err = LoadAuthorizedKeys(o.AuthorizedKeys); err != nil {
				return nil, fmt.Errorf("sshserver: %w", err)
			}
		}
	}
	if keys == nil && o.RequireKeys {
		if keys, err = LoadAuthorizedKeys(o.AuthorizedKeys); err != nil {
			return nil, fmt.Errorf("sshserver: public-key authentication required, but %w: %w", err, ErrNoAuthorizedKeys)
		}
	}
	if o.Proxy == "" || o.XCAPRoot == "" {
		return nil, errors.New("sshserver: the SIP proxy and the XCAP root are required")
	}
	if o.Account == nil {
		return nil, errors.New("sshserver: no account function")
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = HandshakeTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HostKeyPath == "" {
		o.HostKeyPath = filepath.Join(o.DataDir, HostKeyFile)
	}
	for _, dir := range []string{o.DataDir, filepath.Join(o.DataDir, "icon-cache")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sshserver: %w", err)
		}
	}
	pemBytes, err := loadOrCreateHostKey(o.HostKeyPath)
	if err != nil {
		return nil, fmt.Errorf("sshserver: %w", err)
	}
	signer, err := gossh.ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("sshserver: host key: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:     o,
		logger:   o.Logger,
		keys:     keys,
		hostKey:  signer,
		hub:      newHub(),
		boxes:    newSandboxes(filepath.Join(o.DataDir, "pictures"), MaxTotalSandboxBytes),
		cacheDir: filepath.Join(o.DataDir, "icon-cache"),
		sessions: make(chan struct{}, o.MaxSessions),
		conns:    newConnTracker(MaxConnections),
		ctx:      ctx,
		cancel:   cancel,
	}
	opts := []ssh.Option{
		wish.WithAddress(o.Addr),
		wish.WithHostKeyPEM(pemBytes),
		wish.WithVersion("sipbuddy"),
		ssh.AllocatePty(),
		wish.WithIdleTimeout(o.IdleTimeout + time.Minute),
		wish.WithMaxTimeout(MaxSessionDuration),
		ssh.WrapConn(s.trackConn),
		s.loggedInChannels,
		wish.WithSubsystem("sftp", s.serveSFTP),
		wish.WithMiddleware(
			s.sessionMiddleware,
			scp.Middleware(nil, scpHandler{s}),
			s.recoverMiddleware,
		),
	}
	switch {
	case keys == nil && o.Password == nil:
		// Loopback: a demo on this machine. Keyboard-interactive that
		// asks nothing lets every client in without a prompt (OpenSSH
		// tries it after its keys), and unlike NoClientAuth it is an
		// explicit decision, made here and nowhere else.
		opts = append(opts,
			wish.WithBanner("sipbuddy: anyone on this machine may connect; your SSH user name is your SIP user.\n"),
			wish.WithKeyboardInteractiveAuth(func(ssh.Context, gossh.KeyboardInteractiveChallenge) bool { return true }),
		)
	case o.Password != nil:
		opts = append(opts,
			wish.WithPasswordAuth(func(ctx ssh.Context, password string) bool {
				return s.passwordOK(ctx, password)
			}),
			wish.WithKeyboardInteractiveAuth(func(ctx ssh.Context, challenge gossh.KeyboardInteractiveChallenge) bool {
				answers, err := challenge("", "Log in with your SIP password.", []string{"SIP password for " + ctx.User() + ": "}, []bool{false})
				return err == nil && len(answers) == 1 && s.passwordOK(ctx, answers[0])
			}),
		)
	}
	if keys != nil {
		opts = append(opts, wish.WithPublicKeyAuth(func(ctx ssh.Context, key ssh.PublicKey) bool {
			ok := keys.Allows(ctx.User(), key)
			if !ok {
				s.logger.Info("ssh key refused", "user", ctx.User(), "remote", ctx.RemoteAddr().String(), "key", gossh.FingerprintSHA256(key))
			}
			return ok
		}))
	}
	s.ssh, err = wish.NewServer(opts...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sshserver: %w", err)
	}
	return s, nil
}

// HostKeyFingerprint is the SHA256 fingerprint visitors' clients show.
func (s *Server) HostKeyFingerprint() string {
	return gossh.FingerprintSHA256(s.hostKey.PublicKey())
}

// Authenticated reports whether visitors must log in (with a key or their
// SIP password).
func (s *Server) Authenticated() bool { return s.keys != nil || s.opts.Password != nil }

// HasKeys reports whether the keys in authorized_keys may log in.
func (s *Server) HasKeys() bool { return s.keys != nil }

// PasswordLogin reports whether users log in with their SIP password.
func (s *Server) PasswordLogin() bool { return s.opts.Password != nil }

// Listen opens Options.Addr.
func (s *Server) Listen() (net.Listener, error) {
	l, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("sshserver: %w", err)
	}
	return l, nil
}

// Serve accepts SSH connections on l until Shutdown; it returns nil after
// Shutdown. It runs its own accept loop around charm's HandleConn so that
// Shutdown knows when every connection goroutine has ended: charm's
// Shutdown waits on a WaitGroup that a handshake finishing at that moment
// adds to (Add concurrent with Wait, which the race detector reports and
// which can return before the connection is gone).
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		return ssh.ErrServerClosed
	}
	s.listeners = append(s.listeners, l)
	s.connWG.Add(1) // the accept loop itself, so Wait cannot race an Add below
	s.mu.Unlock()
	defer s.connWG.Done()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.connWG.Add(1)
		go func() {
			defer s.connWG.Done()
			s.ssh.HandleConn(c)
		}()
	}
}

// Shutdown stops accepting, ends every session (each says goodbye to the
// SIP server, bounded by SessionCloseTimeout) and waits for them, bounded
// by ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancel()
	s.mu.Lock()
	for _, l := range s.listeners {
		_ = l.Close()
	}
	s.mu.Unlock()
	s.conns.closePreAuth()
	done := make(chan struct{})
	go func() { s.connWG.Wait(); s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		_ = s.ssh.Close()
		return ctx.Err()
	}
	// Every connection has ended: charm's bookkeeping has nothing left to
	// wait for.
	if err := s.ssh.Shutdown(ctx); err != nil && !errors.Is(err, ssh.ErrServerClosed) {
		return err
	}
	return nil
}

// Sessions returns the number of buddy-list sessions running.
func (s *Server) Sessions() int { return len(s.sessions) }

// passwordOK checks a password against the user's SIP password.
func (s *Server) passwordOK(ctx ssh.Context, password string) bool {
	want, ok := s.opts.Password(ctx.User())
	if ok && want != "" && subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1 {
		return true
	}
	s.logger.Info("ssh password refused", "user", ctx.User(), "remote", ctx.RemoteAddr().String())
	return false
}

// recoverMiddleware runs first: a panic anywhere in a session's handler
// ends that session with a message, never the server.
func (s *Server) recoverMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		defer func() {
			if r := recover(); r != nil {
				s.logger.Error("ssh session panic", "user", sess.User(), "panic", r, "stack", string(debug.Stack()))
				fmt.Fprint(sess.Stderr(), "\r\nsipbuddy: internal error, session ended\r\n")
				_ = sess.Exit(1)
			}
		}()
		next(sess)
	}
}

// refuse ends a session with a message on its terminal.
func refuse(sess ssh.Session, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	msg = strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "\r\n")
	fmt.Fprint(sess.Stderr(), "sipbuddy: "+msg+"\r\n")
	_ = sess.Exit(1)
}

// sandboxOf returns the session user's picture sandbox.
func (s *Server) sandboxOf(sess ssh.Session) (*sandbox, error) {
	if err := ValidUser(sess.User()); err != nil {
		return nil, err
	}
	if s.opts.Password != nil {
		if _, ok := s.opts.Password(sess.User()); !ok {
			return nil, &RefusedError{Message: fmt.Sprintf("there is no SIP user %q on this server", sess.User())}
		}
	}
	return s.boxes.get(sess.User())
}
