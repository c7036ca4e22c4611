package sshserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	bm "charm.land/wish/v2/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/tui"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// idleCheckEvery is how often a session looks at its last keystroke.
const idleCheckEvery = 10 * time.Second

// sessionMiddleware is the innermost handler: the buddy list. scp commands
// never get here (the scp middleware answers them).
func (s *Server) sessionMiddleware(ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if cmd := sess.Command(); len(cmd) > 0 {
			refuse(sess, "this server runs the buddy list only (ssh -p PORT %s@HOST); to send a picture: scp -P PORT pic.png %s@HOST:",
				sess.User(), sess.User())
			return
		}
		if err := ValidUser(sess.User()); err != nil {
			refuse(sess, "%v", err)
			return
		}
		if _, _, ok := sess.Pty(); !ok {
			refuse(sess, "the buddy list needs a terminal: connect with ssh -t")
			return
		}
		select {
		case s.sessions <- struct{}{}:
		default:
			s.logger.Warn("ssh session refused: server full", "user", sess.User(), "sessions", cap(s.sessions))
			refuse(sess, "the server is full (%d visitors connected). Please try again later.", cap(s.sessions))
			return
		}
		s.wg.Add(1)
		defer func() {
			<-s.sessions
			s.wg.Done()
		}()
		s.runSession(sess)
	}
}

// runSession logs the visitor in, runs its program and says goodbye.
func (s *Server) runSession(sess ssh.Session) {
	user := sess.User()
	log := s.logger.With("user", user, "remote", sess.RemoteAddr().String())
	ctx, cancel := context.WithTimeout(sess.Context(), SessionStartTimeout)
	defer cancel()
	go func() {
		// Server shutdown ends the start-up too.
		select {
		case <-s.ctx.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	fmt.Fprintf(sess, "Logging in as %s…\r\n", user)

	acct, err := s.opts.Account(ctx, user)
	if err != nil {
		var re *RefusedError
		if errors.As(err, &re) {
			refuse(sess, "%s", re.Message)
			return
		}
		log.Error("ssh account", "err", err)
		refuse(sess, "your account could not be opened; please try again later")
		return
	}
	sb, err := s.boxes.get(user)
	if errors.Is(err, ErrServerStorage) {
		log.Warn("ssh sandbox", "err", err)
		refuse(sess, "%v", err)
		return
	}
	if err != nil {
		log.Error("ssh sandbox", "err", err)
		refuse(sess, "your picture folder could not be prepared; please try again later")
		return
	}
	var before map[string]string
	if s.opts.ShareVisitors {
		before = s.hub.snapshot(acct.AOR)
		if err := s.addToList(ctx, acct, before); err != nil {
			log.Warn("ssh visitors list", "err", err)
		}
	}
	// Each session has its own icon cache: the backend's cache index is
	// not meant to be shared by two processes' worth of writers.
	cache, err := os.MkdirTemp(s.cacheDir, "session-")
	if err != nil {
		log.Error("ssh icon cache", "err", err)
		refuse(sess, "could not start; please try again later")
		return
	}
	defer os.RemoveAll(cache)

	bo := account.Options{
		Options: ua.Options{
			AOR:         acct.AOR,
			DisplayName: acct.DisplayName,
			Password:    acct.Password,
			Proxy:       s.opts.Proxy,
			Logger:      log,
		},
		XCAPRoot: s.opts.XCAPRoot,
		CacheDir: cache,
	}
	if s.opts.Backend != nil {
		s.opts.Backend(&bo)
	}
	b, err := account.New(bo)
	if err != nil {
		log.Error("ssh backend", "err", err)
		refuse(sess, "could not start; please try again later")
		return
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), SessionCloseTimeout)
		defer cancel()
		_ = b.Close(cctx)
	}()
	if err := b.Start(ctx); err != nil {
		log.Error("ssh backend start", "err", err)
		refuse(sess, "could not connect to the SIP server; please try again later")
		return
	}
	v := &visitor{aor: acct.AOR, displayName: acct.DisplayName, b: b}
	if s.opts.ShareVisitors {
		s.hub.join(v, before)
		defer s.hub.leave(v) // before b.Close: nobody adds to a closed backend
	}
	cancel()

	pty, _, _ := sess.Pty()
	env := append(sess.Environ(), "TERM="+pty.Term)
	model := tui.New(b, tui.Options{
		ArtMode:     s.opts.ArtMode,
		Environ:     env,
		PicturesDir: sb.dir,
		// The files are the server's: a visitor sees only their own
		// sandbox (uploads and the gallery), never the host's paths.
		ConfinePictures: true,
		NoPaste:         true,
	})
	var lastInput atomic.Int64
	lastInput.Store(time.Now().UnixNano())
	opts := append(bm.MakeOptions(sess), ownInput(sess)...)
	opts = append(opts, tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
		switch msg.(type) {
		case tea.SuspendMsg:
			return tea.ResumeMsg{} // as bm.MakeOptions' filter: no job control over SSH
		case tea.KeyPressMsg, tea.MouseClickMsg, tea.MouseWheelMsg, tea.PasteMsg:
			lastInput.Store(time.Now().UnixNano())
		}
		return msg
	}))
	p := tea.NewProgram(model, opts...)

	var idled atomic.Bool
	watchDone := make(chan struct{})
	defer close(watchDone)
	go func() {
		t := time.NewTicker(min(idleCheckEvery, s.opts.IdleTimeout))
		defer t.Stop()
		for {
			select {
			case <-watchDone:
				return
			case <-s.ctx.Done():
				p.Quit()
				return
			case <-t.C:
				if time.Since(time.Unix(0, lastInput.Load())) >= s.opts.IdleTimeout {
					idled.Store(true)
					p.Send(tui.QuitMsg{}) // as q: the terminal's images are deleted first
					return
				}
			}
		}
	}()
	log.Info("ssh session started", "aor", acct.AOR, "term", pty.Term, "width", pty.Window.Width, "height", pty.Window.Height)
	started := time.Now()
	// The wish middleware runs the program on the session's PTY, turns
	// window changes into WindowSizeMsg and quits when the session ends.
	bm.MiddlewareWithProgramHandler(func(ssh.Session) *tea.Program { return p })(func(ssh.Session) {})(sess)
	log.Info("ssh session ended", "after", time.Since(started).Round(time.Second), "idle", idled.Load())
	// Hand the terminal back as it was before the connection closes. The
	// program restores it through the PTY; once the copier has taken that,
	// the same reset is written on the session itself, in order, for a
	// program that was killed before it could (idle, shutdown).
	drainPTY(sess, ptyDrainTimeout)
	_, _ = io.WriteString(sess, terminalReset)
	goodbye := ""
	switch {
	case idled.Load():
		goodbye = fmt.Sprintf("\r\nsipbuddy: no key pressed for %s, session ended.\r\n", s.opts.IdleTimeout)
	case s.ctx.Err() != nil:
		goodbye = "\r\nsipbuddy: the server is shutting down.\r\n"
	}
	if goodbye != "" {
		_, _ = sess.Write([]byte(goodbye))
	}
	_ = sess.Exit(0)
}

// addToList puts the connected visitors into acct's buddy list before its
// backend starts, in one XCAP update (a request per visitor could exceed
// the backend's concurrent requests).
func (s *Server) addToList(ctx context.Context, acct Account, others map[string]string) error {
	if len(others) == 0 {
		return nil
	}
	c, err := xcap.NewClient(xcap.ClientOptions{Root: s.opts.XCAPRoot, XUI: acct.AOR, Password: acct.Password})
	if err != nil {
		return err
	}
	_, err = resourcelists.Update(ctx, c, func(d *resourcelists.Document) error {
		have := map[string]bool{}
		for _, e := range d.Entries() {
			have[strings.ToLower(e.URI)] = true
		}
		for uri, name := range others {
			if have[strings.ToLower(uri)] {
				continue
			}
			if err := d.Add(resourcelists.BuddiesList, uri, name); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// terminalReset turns off every mode the buddy list turns on: the
// alternate screen, the hidden cursor, mouse reporting, bracketed paste,
// focus events and the keyboard enhancements.
const terminalReset = ansi.ResetModeAltScreenSaveCursor + ansi.ShowCursor +
	ansi.ResetModeMouseNormal + ansi.ResetModeMouseButtonEvent + ansi.ResetModeMouseAnyEvent +
	ansi.ResetModeMouseExtSgr + ansi.ResetModeBracketedPaste + ansi.ResetModeFocusEvent +
	ansi.ResetModifyOtherKeys + ansi.DisableKittyKeyboard
