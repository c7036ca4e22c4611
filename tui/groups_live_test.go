package tui

import (
	"os"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// TestLiveBlinkGroups logs in, on the demo world's embedded servers, to an
// account whose buddy list python-sipsimple (Blink) wrote: the screen
// shows Blink's groups and names; moving a buddy to another group and
// renaming one through the dialogs reach the stored document, which keeps
// every element of Blink's own namespace.
func TestLiveBlinkGroups(t *testing.T) {
	blink, err := os.ReadFile("../xcap/resourcelists/testdata/blink-index.xml")
	if err != nil {
		t.Fatal(err)
	}
	var key store.Key
	w, b := startDemoAccount(t, 1, func(w *demo.World, acc demo.Account) {
		key = store.Key{AUID: xcap.AUIDResourceLists, User: acc.AOR, Path: resourcelists.DocumentPath}
		if _, _, err := w.Store().Put(key, blink, store.Condition{}); err != nil {
			t.Fatal(err)
		}
	})
	l := newLoop(t, New(b, Options{Environ: []string{}, SteadyCursor: true, ArtMode: "plain"}), 100, 30)
	l.until("Blink's groups", func(m *Model) bool {
		s := plain(*m)
		return strings.Contains(s, "▾ Friends (0/1)") && strings.Contains(s, "▾ Work (0/1)") && strings.Contains(s, "Carol")
	})
	if got := rowsSaid(&l.m); strings.Join(got, "|") != "Friends|  Bob|Work|  Carol|buddies|  Dave" {
		t.Errorf("rows %q", got)
	}
	countBlink := func(body []byte) int { return strings.Count(string(body), "<blink:") }
	want := countBlink(blink)

	// Carol (row 3) to Friends: M, up (Friends is first), enter.
	l.keys("down", "down", "down")
	if sel := l.m.list.selected(); sel == nil || sel.name != "Carol" {
		t.Fatalf("selected %v", sel)
	}
	l.keys("M", "up", "enter")
	l.until("Carol moved", func(m *Model) bool {
		r, _ := m.list.selectedRow()
		return strings.Contains(m.statusText, "Carol moved to Friends") && r.group == "Friends" && r.b != nil && r.b.name == "Carol"
	})
	// Rename her: e, clear, type, enter.
	l.keys("e", "backspace", "backspace", "backspace", "backspace", "backspace", "C", "a", "r", "o", "l", "i", "n", "e", "enter")
	l.until("Carol renamed", func(m *Model) bool {
		bd := m.list.get("sip:carol@example.test", false)
		return !m.dialogs.open() && bd != nil && bd.name == "Caroline" && strings.Contains(m.statusText, "Carol is now Caroline")
	})
	if !strings.Contains(plain(l.m), "Caroline") {
		t.Errorf("the new name is not on screen:\n%s", plain(l.m))
	}

	// Add Zoe with the cursor in Friends: she is a contact of Blink's
	// Friends group.
	l.keys("g", "a")
	for _, r := range "zoe@example.test" {
		l.keys(string(r))
	}
	l.keys("tab", "Z", "o", "e", "enter")
	l.until("Zoe in Friends", func(m *Model) bool {
		for _, r := range m.list.rows {
			if r.b != nil && r.b.name == "Zoe" && r.group == "Friends" {
				return true
			}
		}
		return false
	})

	// Fold Work (now empty): the account keeps it for the next start.
	l.keys("G", "up", "up", "enter") // Work, buddies, Dave are the last rows
	if r, _ := l.m.list.selectedRow(); r.b != nil || r.group != "Work" || !l.m.list.folded["Work"] {
		t.Errorf("Work not folded; cursor on %+v", r)
	}
	if got := b.SavedFolded(); len(got) != 1 || got[0] != "Work" {
		t.Errorf("folded groups kept: %q", got)
	}

	doc, err := w.Store().Get(key)
	if err != nil {
		t.Fatal(err)
	}
	if got := countBlink(doc.Body); got != want {
		t.Errorf("%d elements of Blink's namespace stored, want %d:\n%s", got, want, doc.Body)
	}
	d, err := resourcelists.Parse(doc.Body)
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := d.Addressbook()
	for _, g := range ab.Groups {
		if g.Name == "Friends" && len(g.Contacts) != 3 {
			t.Errorf("Blink's Friends group has %v", g.Contacts)
		}
	}
	for _, c := range ab.Contacts {
		if c.BuddyURI() == "sip:carol@example.test" && c.Name != "Caroline" {
			t.Errorf("Blink's contact for Carol is called %q", c.Name)
		}
	}
}
