package tui

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"
	sipgo "github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// Size of the flood: floodRounds presence changes for each of 1,000
// buddies (the most one UA watches): 100,000 NOTIFYs, or 10,000 under the
// race detector, which makes each one ten times dearer (see
// flood_race_test.go; the same code runs either way).
const (
	floodBuddies = ua.MaxSubscriptions
	floodConns   = 4
	floodTimeout = 4 * time.Minute
)

// floodDialog is what a NOTIFY in one subscription's dialog must say: the
// headers of the server's first NOTIFY, which the flood then continues.
type floodDialog struct {
	ruri, from, to, callID, contact string
	cseq                            uint32
}

// dialogSniffer learns each buddy's dialog from the SIP trace.
type dialogSniffer struct {
	mu      sync.Mutex
	self    string                 // the account's own AOR: its self-presence dialog is not a buddy's
	dialogs map[string]floodDialog // buddy URI → dialog
}

func (d *dialogSniffer) trace(in bool, msg string) {
	if !in || !strings.HasPrefix(msg, "NOTIFY ") || d.count() >= floodBuddies {
		return
	}
	m, err := sipgo.ParseMessage([]byte(msg))
	if err != nil {
		return
	}
	req, ok := m.(*sipgo.Request)
	if !ok || req.GetHeader("Event") == nil || req.GetHeader("Event").Value() != "presence" || req.Contact() == nil {
		return
	}
	uri := "sip:" + req.From().Address.User + "@" + req.From().Address.Host
	if uri == d.self {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, known := d.dialogs[uri]; known {
		return
	}
	d.dialogs[uri] = floodDialog{
		ruri: req.Recipient.String(), from: req.From().Value(), to: req.To().Value(),
		callID: req.CallID().Value(), contact: req.Contact().Value(), cseq: req.CSeq().SeqNo,
	}
}

func (d *dialogSniffer) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.dialogs)
}

// floodWatch wraps the real model only to say, after each Update, when the
// screen state the test waits for is reached.
type floodWatch struct {
	Model
	armed *atomic.Bool
	ready chan struct{}
	want  func(*Model) bool
}

func (w floodWatch) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	nm, cmd := w.Model.Update(msg)
	w.Model = nm.(Model)
	if w.armed.Load() && w.want(&w.Model) {
		w.armed.Store(false)
		close(w.ready)
	}
	return w, cmd
}

func floodBody(uri string, round, buddy int) string {
	basic := "open"
	if (round+buddy)%3 == 0 {
		basic = "closed"
	}
	return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="` + uri + `"><tuple id="t1"><status><basic>` + basic +
		`</basic></status><note>` + floodNote(round, buddy) + `</note></tuple></presence>`
}

func floodNote(round, buddy int) string { return fmt.Sprintf("round %d of buddy %d", round, buddy) }

// TestPresenceFloodWhileTheUIRuns sends 100,000 presence NOTIFYs for 1,000
// buddies in a burst over real sockets, into the dialogs the embedded
// server set up, while the real program runs and requests are sent
// through its keys and dialogs. Afterwards every buddy shows the last
// state sent and every request got its answer.
func TestPresenceFloodWhileTheUIRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("the flood takes a while")
	}
	ctx, cancel := context.WithTimeout(context.Background(), floodTimeout)
	defer cancel()
	w, err := demo.Start(ctx, demo.Options{Seed: 5, Buddies: 1, MinChange: time.Hour, MaxChange: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	began := time.Now()
	// One simulated buddy is in every list; the rest are plain users.
	var extra []resourcelists.Entry
	uris := append([]string(nil), w.Buddies()...)
	for i := len(uris); i < floodBuddies; i++ {
		user := fmt.Sprintf("flood%04d", i)
		if err := w.Store().SetPassword(user, "pw"); err != nil {
			t.Fatal(err)
		}
		uri := "sip:" + user + "@" + w.Domain()
		extra = append(extra, resourcelists.Entry{URI: uri, DisplayName: fmt.Sprintf("Flood %04d", i)})
		uris = append(uris, uri)
	}
	acc, err := w.AddUser(ctx, "tester", "Tess Ter", extra...)
	if err != nil {
		t.Fatal(err)
	}
	sniff := &dialogSniffer{self: acc.AOR, dialogs: map[string]floodDialog{}}
	b, err := account.New(account.Options{
		Options:  ua.Options{AOR: acc.AOR, DisplayName: acc.DisplayName, Password: acc.Password, Proxy: acc.Proxy, Trace: sniff.trace},
		XCAPRoot: acc.XCAPRoot, CacheDir: t.TempDir(),
		// The flood goes into one dialog per buddy (the list
		// subscription's path is account's TestOneRLSSubscription...).
		NoRLS: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cc := context.WithTimeout(context.Background(), time.Minute)
		defer cc()
		_ = b.Close(cctx)
	}()

	var armed atomic.Bool
	ready := make(chan struct{})
	index := map[string]int{}
	for i, u := range uris {
		index[u] = i
	}
	want := func(m *Model) bool {
		if len(m.requests) != 0 {
			return false
		}
		for i, u := range uris {
			bd := m.list.get(u, false)
			if bd == nil || bd.State.Note != floodNote(floodRounds-1, i) {
				return false
			}
		}
		return true
	}
	tm := teatest.NewTestModel(t, floodWatch{Model: New(b, Options{Environ: []string{}, SteadyCursor: true}), armed: &armed, ready: ready, want: want},
		teatest.WithInitialTermSize(160, 50))

	// Every subscription has its dialog before the flood starts.
	for deadline := time.Now().Add(floodTimeout / 2); sniff.count() < floodBuddies; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d subscriptions have a dialog", sniff.count(), floodBuddies)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("set up 1,000 users and subscriptions in %s", time.Since(began).Round(time.Millisecond))
	began = time.Now()
	sniff.mu.Lock()
	dialogs := make([]floodDialog, floodBuddies)
	for u, d := range sniff.dialogs {
		i, ok := index[u]
		if !ok {
			t.Fatalf("a dialog for %s, who is not a buddy", u)
		}
		dialogs[i] = d
	}
	sniff.mu.Unlock()
	var target sipgo.Uri
	if err := sipgo.ParseUri(dialogs[0].ruri, &target); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(target.Host, fmt.Sprint(target.Port))

	// The burst: floodConns connections, each sending one NOTIFY to every
	// one of its buddies per round, the next round once the round's answers
	// are in, as a notifier does within a dialog (a NOTIFY overtaking the
	// one before it would rightly be refused as out of order).
	var answered, refused atomic.Int64
	var codesMu sync.Mutex
	codes := map[string]int{}
	var senders, readers sync.WaitGroup
	for c := range floodConns {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		got := make(chan struct{}, floodBuddies)
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(conn)
			for sc.Scan() {
				line := sc.Text()
				if !strings.HasPrefix(line, "SIP/2.0 ") {
					continue
				}
				if strings.HasPrefix(line, "SIP/2.0 200") {
					answered.Add(1)
				} else {
					refused.Add(1)
					codesMu.Lock()
					codes[line]++
					codesMu.Unlock()
				}
				got <- struct{}{}
			}
		}()
		senders.Add(1)
		go func() {
			defer senders.Done()
			wr := bufio.NewWriterSize(conn, 64<<10)
			local := conn.LocalAddr().String()
			for r := range floodRounds {
				sent := 0
				for i := c; i < floodBuddies; i += floodConns {
					d := dialogs[i]
					body := floodBody(uris[i], r, i)
					fmt.Fprintf(wr, "NOTIFY %s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-flood-%d-%d\r\nMax-Forwards: 70\r\n"+
						"From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d NOTIFY\r\nContact: %s\r\nEvent: presence\r\n"+
						"Subscription-State: active;expires=3600\r\nContent-Type: application/pidf+xml\r\nContent-Length: %d\r\n\r\n%s",
						d.ruri, local, i, r, d.from, d.to, d.callID, d.cseq+uint32(r)+1, d.contact, len(body), body)
					sent++
				}
				if err := wr.Flush(); err != nil {
					t.Errorf("flood connection %d: %v", c, err)
					return
				}
				for range sent {
					select {
					case <-got:
					case <-ctx.Done():
						t.Errorf("flood connection %d: round %d not answered", c, r)
						return
					}
				}
			}
		}()
	}
	// Requests while the flood runs, through the UI as a person makes them.
	for i := range 12 {
		tm.Send(submitStatusMsg{choice: statusChoices[i%(len(statusChoices)-1)]})
		tm.Send(submitNoteMsg{note: fmt.Sprintf("note %d during the flood", i)})
		tm.Send(submitAddMsg{uri: uris[i], name: "again"}) // already a buddy: an error answer
		time.Sleep(20 * time.Millisecond)
	}
	senders.Wait()
	if n := answered.Load() + refused.Load(); n != floodBuddies*floodRounds {
		t.Fatalf("%d of %d NOTIFYs answered", n, floodBuddies*floodRounds)
	}
	if refused.Load() > 0 {
		t.Errorf("the UA refused %d NOTIFYs: %v", refused.Load(), codes)
	}
	t.Logf("the flood took %s", time.Since(began).Round(time.Millisecond))
	t.Logf("%d NOTIFYs answered 200, %d refused: %v", answered.Load(), refused.Load(), codes)
	armed.Store(true)
	tm.Send(tea.WindowSizeMsg{Width: 160, Height: 50}) // one more Update to look at the state
	select {
	case <-ready:
	case <-time.After(floodTimeout / 2):
		t.Error("the UI never showed every buddy's last state with every request answered")
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(time.Minute)).(floodWatch).Model
	for i, u := range uris {
		bd := m.list.get(u, false)
		if bd == nil {
			t.Fatalf("%s is not in the list", u)
		}
		if bd.State.Note != floodNote(floodRounds-1, i) {
			t.Errorf("%s shows %q, want the last note sent", u, bd.State.Note)
		}
		wantBasic := pidf.BasicOpen
		if (floodRounds-1+i)%3 == 0 {
			wantBasic = pidf.BasicClosed
		}
		if bd.State.Basic != wantBasic {
			t.Errorf("%s shows %s, want %s", u, bd.State.Basic, wantBasic)
		}
	}
	if len(m.requests) != 0 {
		t.Errorf("%d requests never answered: %v", len(m.requests), m.requests)
	}
	sup, _ := b.Coalesced()
	t.Logf("%d state events coalesced in the account's queue", sup)
}
