package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// A buddy typed in another spelling of an address already in the list
// ("SIP:Ada@Example.Test" beside "sip:ada@example.test") is the same buddy:
// the list keeps one row, the server's document one entry, and the user is
// told it is already there. Before internal/sipuri, the two spellings made
// two buddies and two subscriptions.
func TestOneBuddyHoweverSpelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w, err := demo.Start(ctx, demo.Options{Seed: 3, Buddies: 1, MinChange: time.Hour, MaxChange: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	buddy := w.Buddies()[0]
	acc, err := w.AddUser(ctx, "tester", "Tess Ter")
	if err != nil {
		t.Fatal(err)
	}
	b, err := account.New(account.Options{
		Options:  ua.Options{AOR: acc.AOR, DisplayName: acc.DisplayName, Password: acc.Password, Proxy: acc.Proxy},
		XCAPRoot: acc.XCAPRoot, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cctx, cc := context.WithTimeout(context.Background(), 30*time.Second)
		defer cc()
		b.Close(cctx)
	}()
	l := newLoop(t, New(b, Options{Environ: []string{}, SteadyCursor: true}), 120, 40)
	l.until("the buddy listed", func(m *Model) bool { return len(m.list.sorted) == 1 && m.list.sorted[0].HasState })

	user, host, _ := strings.Cut(strings.TrimPrefix(buddy, "sip:"), "@")
	shouted := "SIP:" + strings.ToUpper(user[:1]) + user[1:] + "@" + strings.ToUpper(host[:1]) + host[1:]
	l.keys("a")
	for _, r := range shouted {
		l.keys(string(r))
	}
	l.keys("tab", "enter")
	l.until("told it is there already", func(m *Model) bool { return m.statusKind == statusError })
	if !strings.Contains(l.m.statusText, "already") {
		t.Errorf("status %q does not say the buddy is already in the list", l.m.statusText)
	}
	if n := len(l.m.list.sorted); n != 1 {
		t.Errorf("%s beside %s: %d buddies on screen, want 1", shouted, buddy, n)
	}
	doc, err := resourcelists.Update(ctx, b.XCAP(), func(*resourcelists.Document) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Entries()); n != 1 {
		t.Errorf("the server's buddy list has %d entries, want 1: %+v", n, doc.Entries())
	}
}
