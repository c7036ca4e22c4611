package ua

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/internal/testtool/testmain"
)

func TestMain(m *testing.M) { testmain.Run(m) }

// waitTimeout bounds every wait for an event; it is a safety net against a
// hung test, not a speed assertion.
const waitTimeout = 15 * time.Second

// recorder keeps a UA's SIP trace and events so that a failing test can
// show them.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) trace(in bool, msg string) {
	dir := ">>>"
	if in {
		dir = "<<<"
	}
	first, _, _ := strings.Cut(msg, "\r\n")
	r.add("%s %s %s", time.Now().Format("15:04:05.000"), dir, first)
}

func (r *recorder) dump(t *testing.T, name string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("---- %s trace ----\n%s", name, strings.Join(r.lines, "\n"))
}

// testUA is a started UA with its recorder.
type testUA struct {
	*UA
	name string
	rec  *recorder
}

func startUA(t *testing.T, name string, o Options) *testUA {
	t.Helper()
	rec := &recorder{}
	if extra := o.Trace; extra != nil {
		o.Trace = func(in bool, msg string) { rec.trace(in, msg); extra(in, msg) }
	} else {
		o.Trace = rec.trace
	}
	if o.Logger == nil && os.Getenv("SIPBUDDY_UA_DEBUG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	u, err := New(o)
	if err != nil {
		t.Fatalf("New(%s): %v", name, err)
	}
	tu := &testUA{UA: u, name: name, rec: rec}
	if err := u.Start(context.Background()); err != nil {
		t.Fatalf("Start(%s): %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = u.Close(ctx)
		if t.Failed() || os.Getenv("SIPBUDDY_UA_TRACE") != "" {
			rec.dump(t, name)
		}
	})
	return tu
}

// waitFor reads events until pred accepts one, and returns it.
func (tu *testUA) waitFor(t *testing.T, what string, pred func(Event) bool) Event {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-tu.Events():
			if !ok {
				t.Fatalf("%s: events closed while waiting for %s", tu.name, what)
			}
			tu.rec.add("event: %s", ev)
			if pred(ev) {
				return ev
			}
		case <-deadline.C:
			t.Fatalf("%s: no event %s within %s", tu.name, what, waitTimeout)
		}
	}
}

func isRegistered(ev Event) bool {
	r, ok := ev.(RegistrationEvent)
	return ok && r.State == Registered
}

func isPublished(ev Event) bool {
	p, ok := ev.(PublicationEvent)
	return ok && p.State == Published
}

func presenceOf(uri string, pred func(PresenceEvent) bool) func(Event) bool {
	return func(ev Event) bool {
		p, ok := ev.(PresenceEvent)
		return ok && p.URI == uri && pred(p)
	}
}

// count returns how many recorded lines contain s.
func (r *recorder) count(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// handleNotify is what sipgo's NOTIFY handler does minus the socket: match
// the NOTIFY, apply it, close an ended dialog's channel, and return the
// response that would be sent.
func (u *UA) handleNotify(req *sip.Request) *sip.Response {
	res, ended := u.matchNotify(req)
	if ended != nil {
		close(ended)
	}
	return res
}
