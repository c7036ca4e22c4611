package demo_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/internal/app/demo/demotest"
	"github.com/sipbuddy/sipbuddy/internal/testtool/testmain"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

func TestMain(m *testing.M) { testmain.Run(m) }

// TestWorld logs in to a running demo as a user would: the buddy list
// holds the simulated buddies, their presence arrives with an icon URL that
// serves the picture they advertise, and they keep changing.
func TestWorld(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	w := demotest.Start(t, ctx, demo.Options{Seed: 7, Buddies: 3, MinChange: 200 * time.Millisecond, MaxChange: 400 * time.Millisecond})
	visitor := resourcelists.Entry{URI: "sip:guest@" + w.Domain(), DisplayName: "Guest"}
	acct, err := w.AddUser(ctx, "you", "You", visitor)
	if err != nil {
		t.Fatal(err)
	}

	xc, err := xcap.NewClient(xcap.ClientOptions{Root: acct.XCAPRoot, XUI: acct.AOR, Password: acct.Password})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := xc.Get(ctx, xcap.AUIDResourceLists, "index", "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := resourcelists.Parse(doc.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := append(w.Buddies(), visitor.URI)
	got := map[string]bool{}
	for _, e := range list.Entries() {
		got[e.URI] = true
	}
	for _, uri := range want {
		if !got[uri] {
			t.Errorf("buddy list lacks %s; has %v", uri, got)
		}
	}

	// Adding the user again keeps one entry per buddy (and gives the
	// user a new password).
	if acct, err = w.AddUser(ctx, "you", "You", visitor); err != nil {
		t.Fatal(err)
	}
	if xc, err = xcap.NewClient(xcap.ClientOptions{Root: acct.XCAPRoot, XUI: acct.AOR, Password: acct.Password}); err != nil {
		t.Fatal(err)
	}
	if doc, err = xc.Get(ctx, xcap.AUIDResourceLists, "index", ""); err != nil {
		t.Fatal(err)
	}
	if list, err = resourcelists.Parse(doc.Body); err != nil {
		t.Fatal(err)
	}
	if n := len(list.Entries()); n != len(want) {
		t.Errorf("after a second AddUser the list has %d entries, want %d", n, len(want))
	}

	me := apptest.StartUA(t, ctx, ua.Options{AOR: acct.AOR, Password: acct.Password, Proxy: acct.Proxy})
	first := w.Buddies()[0]
	me.Subscribe(first)

	// Two different presence documents from the first buddy prove that it
	// is alive; each must carry an icon whose bytes match its hash.
	var notes []string
	for len(notes) < 2 {
		select {
		case <-ctx.Done():
			t.Fatalf("no live presence from %s; got %v", first, notes)
		case ev := <-me.Events():
			pe, ok := ev.(ua.PresenceEvent)
			if !ok || pe.URI != first {
				continue
			}
			st := pe.State
			if st.IconURL == "" || st.IconHash == "" {
				t.Fatalf("presence without an icon: %+v", st)
			}
			data, _, err := xcap.FetchIcon(ctx, nil, st.IconURL, "")
			if err != nil {
				t.Fatalf("fetch icon %s: %v", st.IconURL, err)
			}
			sum := sha1.Sum(data)
			if hex.EncodeToString(sum[:]) != st.IconHash {
				t.Fatalf("icon bytes do not match the advertised hash")
			}
			if _, err := icon.Check(data, icon.DefaultLimits); err != nil {
				t.Fatalf("icon is not an image: %v", err)
			}
			key := string(st.Basic) + "|" + st.Note + "|" + st.Timestamp.String()
			if len(notes) == 0 || notes[len(notes)-1] != key {
				notes = append(notes, key)
			}
		}
	}
}
