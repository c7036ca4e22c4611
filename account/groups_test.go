package account

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// nsBlink is Blink's own extension namespace inside python-sipsimple's
// addressbook: data only Blink reads, which sipbuddy must keep.
const nsBlink = "urn:ag-projects:blink:xml:ns:addressbook"

// workGroupID is the id of the addressbook group "Work" in
// xcap/resourcelists/testdata/blink-index.xml.
const workGroupID = "id1733220000000011000011"

// blinkData returns what of a resource-lists document belongs to Blink
// and must survive sipbuddy's edits untouched: every element of Blink's
// namespace, serialized, by the ids of the addressbook elements above it
// (a moved contact keeps its id), and the lists python-sipsimple keeps
// for itself (oma_*, dialog_*, *_rls), serialized by name.
func blinkData(t *testing.T, body []byte) (foreign, reserved map[string]string) {
	t.Helper()
	dom, err := xmltree.Parse(body, xmltree.Limits{MaxBytes: resourcelists.MaxDocumentSize, MaxDepth: resourcelists.MaxDepth, MaxNodes: resourcelists.MaxNodes})
	if err != nil {
		t.Fatal(err)
	}
	foreign = map[string]string{}
	var walk func(n *xmltree.Node, path string)
	walk = func(n *xmltree.Node, path string) {
		if id, ok := n.Attr("id"); ok {
			path += "/" + id
		}
		if n.Space == nsBlink {
			foreign[path+"/"+n.Local] = string(xmltree.Encoder{}.AppendElement(nil, n))
			return
		}
		n.EachElement(func(c *xmltree.Node) { walk(c, path) })
	}
	walk(dom.Root, "")
	reserved = map[string]string{}
	dom.Root.EachElement(func(l *xmltree.Node) {
		name, _ := l.Attr("name")
		if resourcelists.IsReserved(name) && name != resourcelists.AddressbookList {
			reserved[name] = string(xmltree.Encoder{}.AppendElement(nil, l))
		}
	})
	return foreign, reserved
}

// groupsOf returns "group: name <uri>, ..." for each group of ev, the
// buddies of each in event order: what the list shows.
func groupsOf(ev BuddiesEvent) []string {
	var out []string
	for _, g := range ev.Groups {
		var members []string
		for _, b := range ev.Buddies {
			if slices.Contains(b.Groups, g.Name) {
				members = append(members, b.DisplayName+" <"+b.URI+">")
			}
		}
		out = append(out, g.DisplayName+": "+strings.Join(members, ", "))
	}
	return out
}

// TestBlinkDocumentThroughAccount stores the resource-lists document
// python-sipsimple writes (Blink's addressbook groups and contacts, its
// own lists and attributes) for an account on the embedded server, logs
// in, and checks the groups and names the front end is told, then edits
// groups and names through the account's requests and re-reads the
// stored document: Blink's elements are all still there, unchanged.
func TestBlinkDocumentThroughAccount(t *testing.T) {
	w := startWorld(t, 1)
	acc := addUser(t, w, "tester")
	blink, err := os.ReadFile("../xcap/resourcelists/testdata/blink-index.xml")
	if err != nil {
		t.Fatal(err)
	}
	key := store.Key{AUID: xcap.AUIDResourceLists, User: acc.AOR, Path: resourcelists.DocumentPath}
	if _, _, err := w.Store().Put(key, blink, store.Condition{}); err != nil {
		t.Fatal(err)
	}
	wantForeign, wantReserved := blinkData(t, blink)
	if len(wantForeign) == 0 || len(wantReserved) == 0 {
		t.Fatal("the Blink document has no Blink data to keep")
	}
	b, r := loginAs(t, acc, t.TempDir())
	r.wait(t, "registration", func(ev Event) bool {
		a, ok := ev.(AccountEvent)
		return ok && a.State == ua.Registered
	})

	// waitList waits for the list to say want.
	waitList := func(what string, want []string) {
		t.Helper()
		r.wait(t, what, func(ev Event) bool {
			l, ok := ev.(BuddiesEvent)
			return ok && slices.Equal(groupsOf(l), want)
		})
	}
	waitList("Blink's groups", []string{
		"Friends: Bob <sip:bob@example.test>",
		"Work: Carol <sip:carol@example.test>",
		"buddies: Dave <sip:dave@example.test>",
	})
	answer := func(what string, id RequestID) {
		t.Helper()
		if _, err := r.answer(t, id); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	answer("add group", b.AddGroup("Family"))
	answer("add to a group that is a list", b.AddBuddyTo("sip:erin@example.test", "Erin", "Family"))
	answer("add to a group only Blink's addressbook has", b.AddBuddyTo("sip:frank@example.test", "Frank", "Friends"))
	answer("move", b.MoveBuddy("sip:carol@example.test", "Family"))
	answer("rename buddy", b.RenameBuddy("sip:bob@example.test", "Robert"))
	answer("copy", b.CopyBuddy("sip:dave@example.test", "Work"))
	answer("rename group", b.RenameGroup("Work", "Office"))
	// A group sipbuddy adds is a list of the document: lists come before
	// the groups only the addressbook has. Such a group is known by its
	// addressbook name, so the renamed one is "Office" now. Frank is a
	// contact of Blink's Friends, as Blink would have added him. Dave,
	// shown in the default group for being in none, is in Office now.
	waitList("the edits", []string{
		"Family: Erin <sip:erin@example.test>, Carol <sip:carol@example.test>",
		"Friends: Robert <sip:bob@example.test>, Frank <sip:frank@example.test>",
		"Office: Dave <sip:dave@example.test>",
	})
	answer("delete group", b.DeleteGroup("Office", false))
	// Dave, in no other group, goes to the default group, a list now.
	waitList("the group deleted", []string{
		"Family: Erin <sip:erin@example.test>, Carol <sip:carol@example.test>",
		"buddies: Dave <sip:dave@example.test>",
		"Friends: Robert <sip:bob@example.test>, Frank <sip:frank@example.test>",
	})

	stored, err := w.Store().Get(key)
	if err != nil {
		t.Fatal(err)
	}
	gotForeign, gotReserved := blinkData(t, stored.Body)
	// The group deleted takes its own attributes with it; nothing else
	// of Blink's goes or changes.
	delete(wantForeign, "/"+workGroupID+"/attributes")
	for path, want := range wantForeign {
		if gotForeign[path] != want {
			t.Errorf("Blink's %s changed:\n got %s\nwant %s", path, gotForeign[path], want)
		}
	}
	// Blink's RLS list gains the buddies added (Blink subscribes to
	// them); the rest of its lists are as they were.
	d, err := resourcelists.Parse(stored.Body)
	if err != nil {
		t.Fatal(err)
	}
	rls, _ := d.ListURIs(resourcelists.PresenceRLSList)
	for _, uri := range []string{"sip:bob@example.test", "sip:carol@example.test", "tel:+15550100", "sip:erin@example.test", "sip:frank@example.test"} {
		if !slices.Contains(rls, uri) {
			t.Errorf("%s not in %s: %v", uri, resourcelists.PresenceRLSList, rls)
		}
	}
	delete(wantReserved, resourcelists.PresenceRLSList)
	for name, want := range wantReserved {
		if gotReserved[name] != want {
			t.Errorf("list %s changed:\n got %s\nwant %s", name, gotReserved[name], want)
		}
	}
	// What Blink reads: its addressbook has the new names and groups.
	ab, ok := d.Addressbook()
	if !ok {
		t.Fatal("the addressbook is gone")
	}
	names := map[string]string{}
	for _, c := range ab.Contacts {
		names[c.BuddyURI()] = c.Name
	}
	if names["sip:bob@example.test"] != "Robert" || names["sip:carol@example.test"] != "Carol" || names["sip:frank@example.test"] != "Frank" {
		t.Errorf("addressbook names %v", names)
	}
	var groups []string
	for _, g := range ab.Groups {
		groups = append(groups, g.Name)
	}
	// The deleted group's buddy went to the default group, which Blink
	// sees as a group of that name.
	if !slices.Equal(groups, []string{"Friends", "Family", "buddies"}) {
		t.Errorf("addressbook groups %v, want Friends, Family and buddies", groups)
	}

	// Requests that cannot be done say so and change nothing.
	for _, c := range []struct {
		what string
		id   RequestID
		want error
	}{
		{"a reserved name", b.AddGroup(resourcelists.OMABuddyList), ErrInvalidGroup},
		{"an empty name", b.RenameGroup("Friends", "  "), ErrInvalidGroup},
		{"an unknown group", b.MoveBuddy("sip:bob@example.test", "Nowhere"), resourcelists.ErrNotFound},
		{"an unknown buddy", b.RenameBuddy("sip:nobody@example.test", "X"), resourcelists.ErrNotFound},
		{"adding to an unknown group", b.AddBuddyTo("sip:zed@example.test", "", "Nowhere"), resourcelists.ErrNotFound},
		{"adding to a reserved list", b.AddBuddyTo("sip:zed@example.test", "", resourcelists.OMAGrantedContacts), ErrInvalidGroup},
		{"adding twice", b.AddBuddyTo("sip:frank@example.test", "", "Friends"), resourcelists.ErrExists},
	} {
		if _, err := r.answer(t, c.id); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.what, err, c.want)
		}
	}
	after, err := w.Store().Get(key)
	if err != nil {
		t.Fatal(err)
	}
	if after.ETag != stored.ETag {
		t.Error("a refused request changed the document")
	}
}

// TestDeleteGroupWithBuddies deletes a group with its buddies: they leave
// the list and their subscriptions end.
func TestDeleteGroupWithBuddies(t *testing.T) {
	w := startWorld(t, 2)
	b, r := login(t, w, "tester", t.TempDir())
	sims := w.Buddies()
	r.wait(t, "subscription", func(ev Event) bool {
		s, ok := ev.(SubscriptionEvent)
		return ok && s.URI == sims[0] && s.State == ua.Active
	})
	if _, err := r.answer(t, b.AddGroup("Old friends")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.answer(t, b.MoveBuddy(sims[0], "Old friends")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.answer(t, b.DeleteGroup("Old friends", true)); err != nil {
		t.Fatal(err)
	}
	l := r.wait(t, "the list without the group", func(ev Event) bool {
		l, ok := ev.(BuddiesEvent)
		return ok && len(l.Buddies) == len(sims)-1
	}).(BuddiesEvent)
	for _, bd := range l.Buddies {
		if bd.URI == sims[0] {
			t.Errorf("%s still listed", sims[0])
		}
	}
	r.wait(t, "the subscription ended", func(ev Event) bool {
		s, ok := ev.(SubscriptionEvent)
		return ok && s.URI == sims[0] && s.State == ua.Terminated
	})
}
