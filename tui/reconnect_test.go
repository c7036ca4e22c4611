package tui

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/server"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/server/xcaptest"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// sipServer is the embedded registrar and presence server on fixed
// loopback addresses, so that it can be killed and started again there.
type sipServer struct {
	t        *testing.T
	st       store.Store
	root     string // the XCAP root its xcap-diff documents name
	srv      *server.Server
	cur      atomic.Pointer[server.Server] // srv, for the XCAP server's hook
	udp, tcp string
	done     chan error
}

// startXCAP runs the XCAP server for s, telling whichever SIP server runs
// of every document change, as internal/app/stack wires them.
func (s *sipServer) startXCAP(users map[string]string) string {
	s.root, s.st = xcaptest.StartNotifying(s.t, users, func(k store.Key) {
		if srv := s.cur.Load(); srv != nil {
			srv.StoreChanged(k)
		}
	})
	return s.root
}

func (s *sipServer) start(udp, tcp string) {
	s.t.Helper()
	srv, err := server.New(server.Options{Domain: xcaptest.Domain, Store: s.st, MinExpires: time.Second})
	if err != nil {
		s.t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", udp)
	if err != nil {
		s.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", tcp)
	if err != nil {
		pc.Close()
		s.t.Fatal(err)
	}
	srv.SetXCAPRoot(s.root)
	s.srv, s.udp, s.tcp = srv, pc.LocalAddr().String(), ln.Addr().String()
	s.cur.Store(srv)
	s.done = make(chan error, 1)
	go func() { s.done <- srv.Serve(context.Background(), pc, ln) }()
}

func (s *sipServer) stop() {
	if s.srv == nil {
		return
	}
	s.cur.Store(nil)
	s.srv.Close()
	<-s.done
	s.srv = nil
}

func startAccount(t *testing.T, root, user, password string, o ua.Options) *account.Account {
	t.Helper()
	o.AOR, o.Password = "sip:"+user+"@"+xcaptest.Domain, password
	b, err := account.New(account.Options{Options: o, XCAPRoot: root, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b.Close(ctx)
	})
	return b
}

const aliceURI = "sip:alice@example.test"

// The server is killed and started again: bob's list says "reconnecting"
// and the header what is wrong and what sipbuddy does, in that order; then,
// with no key pressed, both are registered again, alice's status is back
// on bob's screen and no error text is left.
func TestServerRestartShownHonestly(t *testing.T) {
	s := &sipServer{t: t}
	root := s.startXCAP(map[string]string{"alice": "alicepw", "bob": "bobpw"})
	s.start("127.0.0.1:0", "127.0.0.1:0")
	t.Cleanup(s.stop)
	o := ua.Options{Proxy: "sip:" + s.tcp + ";transport=tcp", RegisterExpires: 30 * time.Second, FlowCheckInterval: 100 * time.Millisecond}

	alice := startAccount(t, root, "alice", "alicepw", o)
	bob := startAccount(t, root, "bob", "bobpw", o)
	alice.SetStatus(true, "busy", "in the lab")
	bob.AddBuddy(aliceURI, "Alice")
	la := newLoop(t, New(alice, Options{Environ: []string{}, SteadyCursor: true}), 120, 30)
	lb := newLoop(t, New(bob, Options{Environ: []string{}, SteadyCursor: true}), 120, 30)

	aliceBusy := func(m *Model) bool {
		b := m.list.get(aliceURI, false)
		return m.self.Reg == ua.Registered && b != nil && b.HasState && b.Sub == ua.Active &&
			strings.Contains(plain(*m), "◉ Busy")
	}
	la.until("alice registered", func(m *Model) bool { return m.self.Reg == ua.Registered })
	lb.until("alice busy on bob's screen", aliceBusy)

	udp, tcp := s.udp, s.tcp
	s.stop()
	lb.until("reconnecting shown", func(m *Model) bool {
		screen := plain(*m)
		return strings.Contains(screen, "◌ reconnecting") && strings.Contains(screen, "server unreachable") &&
			strings.Contains(screen, "r retry now")
	})
	if screen := plain(lb.m); strings.Contains(screen, "transcation") || strings.Contains(screen, "ua: ") {
		t.Errorf("library text on the screen:\n%s", screen)
	}
	if got := lb.m.list.onlineCount(); got != 0 {
		t.Errorf("online count while reconnecting = %d, want 0", got)
	}

	s.start(udp, tcp)
	lb.until("bob fully back", func(m *Model) bool {
		screen := plain(*m)
		return aliceBusy(m) && strings.Contains(screen, "Registered") &&
			!strings.Contains(screen, "reconnecting") && !strings.Contains(screen, "unreachable")
	})
	la.until("alice fully back", func(m *Model) bool {
		screen := plain(*m)
		return m.self.Reg == ua.Registered && m.self.PubState == ua.Published &&
			!strings.Contains(screen, "unreachable") && !strings.Contains(screen, "failed")
	})
}

// A refused password stops the retries and asks for it (masked); the
// typed password signs in.
func TestWrongPasswordPrompt(t *testing.T) {
	s := &sipServer{t: t}
	root := s.startXCAP(map[string]string{"alice": "alicepw"})
	s.start("127.0.0.1:0", "127.0.0.1:0")
	t.Cleanup(s.stop)
	alice := startAccount(t, root, "alice", "nope", ua.Options{Proxy: "sip:" + s.tcp + ";transport=tcp"})
	l := newLoop(t, New(alice, Options{Environ: []string{}, SteadyCursor: true}), 100, 30)
	l.until("password prompt", func(m *Model) bool {
		_, open := m.dialogs.top().(passwordPrompt)
		return open && strings.Contains(plain(*m), "wrong user name or password")
	})
	l.keys("a", "l", "i", "c", "e", "p", "w")
	if screen := plain(l.m); strings.Contains(screen, "alicepw") {
		t.Fatalf("password shown in clear:\n%s", screen)
	}
	l.keys("enter")
	l.until("registered with the typed password", func(m *Model) bool {
		return m.self.Reg == ua.Registered && !m.dialogs.open() && strings.Contains(plain(*m), "Registered") &&
			!strings.Contains(plain(*m), "wrong user name")
	})
}
