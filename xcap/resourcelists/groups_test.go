package resourcelists

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

const groupsDoc = `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:other">
  <!-- written by another client -->
  <list name="buddies">
    <entry uri="sip:ada@example.test" x:pinned="yes"><display-name>Ada</display-name><x:note>met in Turin</x:note></entry>
  </list>
  <list name="work">
    <display-name>Work</display-name>
    <entry uri="sip:bob@example.test"/>
    <list name="team"><entry uri="sip:carol@example.test"/></list>
    <x:ext/>
  </list>
  <list name="oma_grantedcontacts"><entry uri="sip:ada@example.test"/></list>
</resource-lists>
`

func groupNames(d *Document) map[string][]string {
	out := map[string][]string{}
	for _, g := range d.Groups() {
		key := g.Name + "|" + g.DisplayName
		out[key] = []string{}
		for _, e := range g.Entries {
			out[key] = append(out[key], e.URI+"="+e.DisplayName)
		}
	}
	return out
}

func TestGroupEdits(t *testing.T) {
	d := mustParse(t, []byte(groupsDoc))
	want := map[string][]string{
		"buddies|buddies": {"sip:ada@example.test=Ada"},
		"work|Work":       {"sip:bob@example.test=", "sip:carol@example.test="},
	}
	if got := groupNames(d); !reflect.DeepEqual(got, want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	if err := d.AddGroup("family"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"work", "oma_blockedcontacts", " ", "a\x00b"} {
		if err := d.AddGroup(bad); err == nil {
			t.Errorf("AddGroup(%q) accepted", bad)
		}
	}
	if err := d.RenameGroup("family", "Family & friends"); err != nil {
		t.Fatal(err)
	}
	if err := d.MoveEntry("SIP:Ada@example.test", "family"); err != nil {
		t.Fatal(err)
	}
	if err := d.RenameEntry("sip:carol@example.test", "Carol"); err != nil {
		t.Fatal(err)
	}
	if err := d.RenameEntry("sip:bob@example.test", "Bob"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		d.MoveEntry("sip:nobody@example.test", "work"),
		d.MoveEntry("sip:bob@example.test", "nowhere"),
		d.RenameEntry("sip:nobody@example.test", "x"),
		d.RenameGroup("nowhere", "x"),
		d.DeleteGroup("nowhere", false),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	}
	if err := d.DeleteGroup(BuddiesList, false); !errors.Is(err, ErrInvalid) {
		t.Errorf("deleting the default group without its buddies: %v", err)
	}
	if err := d.DeleteGroup("work", false); err != nil {
		t.Fatal(err)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wantDoc := `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:other">
  <!-- written by another client -->
  <list name="buddies">
    <entry uri="sip:bob@example.test"><display-name>Bob</display-name></entry>
    <entry uri="sip:carol@example.test"><display-name>Carol</display-name></entry>
  </list>
  <list name="oma_grantedcontacts"><entry uri="sip:ada@example.test"/></list>
  <list name="family">
    <display-name>Family &amp; friends</display-name>
    <entry uri="sip:ada@example.test" x:pinned="yes"><display-name>Ada</display-name><x:note>met in Turin</x:note></entry>
  </list>
</resource-lists>
`
	if string(out) != wantDoc {
		t.Errorf("got\n%s\nwant\n%s", out, wantDoc)
	}
	again := mustParse(t, out)
	want = map[string][]string{
		"buddies|buddies":         {"sip:bob@example.test=Bob", "sip:carol@example.test=Carol"},
		"family|Family & friends": {"sip:ada@example.test=Ada"},
	}
	if got := groupNames(again); !reflect.DeepEqual(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
	if err := again.DeleteGroup(BuddiesList, true); err != nil {
		t.Fatal(err)
	}
	if got := len(again.Entries()); got != 1 {
		t.Errorf("%d entries after dropping the default group, want 1", got)
	}
}

func TestOMABuddyListShowsInDefaultGroup(t *testing.T) {
	d := mustParse(t, []byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="oma_buddylist"><entry uri="sip:ada@example.test"/></list></resource-lists>`))
	gs := d.Groups()
	if len(gs) != 1 || gs[0].Name != BuddiesList || len(gs[0].Entries) != 1 {
		t.Fatalf("groups %+v", gs)
	}
	if err := d.MoveEntry("sip:ada@example.test", BuddiesList); err != nil {
		t.Fatal(err)
	}
	out, _ := d.Marshal()
	want := `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="oma_buddylist"/><list name="buddies"><entry uri="sip:ada@example.test"/></list></resource-lists>
`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// FuzzGroupEdits makes every group edit on whatever parses and checks that
// the result still parses and says what the edit did.
func FuzzGroupEdits(f *testing.F) {
	f.Add([]byte(groupsDoc))
	f.Add([]byte(blinkDoc))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		reparse := func(what string) {
			out, err := d.Marshal()
			if err != nil {
				return // over the size limit
			}
			if d, err = Parse(out); err != nil {
				t.Fatalf("after %s: %v", what, err)
			}
		}
		if err := d.AddGroup("fuzz group"); err == nil {
			reparse("AddGroup")
			if _, ok := d.group("fuzz group"); !ok {
				t.Fatal("added group missing")
			}
		}
		entries := d.Entries()
		if len(entries) == 0 {
			return
		}
		e := entries[0]
		if err := d.MoveEntry(e.URI, "fuzz group"); err == nil {
			reparse("MoveEntry")
			if g, ok := d.group("fuzz group"); !ok || !hasURI(g, e.URI) {
				t.Fatalf("moved entry not in its group: %+v", g)
			}
		}
		if err := d.RenameEntry(e.URI, "fuzz name"); err == nil {
			reparse("RenameEntry")
		}
		if len(entries) > 1 {
			// A second buddy in the group too, keeping its own groups.
			other := entries[1]
			before := d.Groups()
			if err := d.CopyEntry(other.URI, "fuzz group"); err == nil {
				reparse("CopyEntry")
				if g, ok := d.group("fuzz group"); !ok || !hasURI(g, other.URI) {
					t.Fatalf("copied entry not in the group: %+v", g)
				}
				for _, g := range before {
					if g.Name != "fuzz group" && hasURI(g, other.URI) {
						if now, ok := d.group(g.Name); ok && !hasURI(now, other.URI) {
							t.Fatalf("CopyEntry took %s out of %q", other.URI, g.Name)
						}
					}
				}
			}
		}
		if err := d.AddToGroup("fuzz group", "sip:fuzz-added@example.test", "Added"); err == nil {
			reparse("AddToGroup")
			if g, ok := d.group("fuzz group"); !ok || !hasURI(g, "sip:fuzz-added@example.test") {
				t.Fatalf("added entry not in the group: %+v", g)
			}
		}
		if err := d.RenameGroup("fuzz group", "Fuzz"); err == nil {
			reparse("RenameGroup")
		}
		n := len(d.Entries())
		if err := d.DeleteGroup("fuzz group", false); err == nil {
			reparse("DeleteGroup")
			if got := len(d.Entries()); got < n {
				t.Fatalf("DeleteGroup lost buddies: %d -> %d", n, got)
			}
		}
		d.Remove(e.URI)
		reparse("Remove")
		for _, left := range d.Entries() {
			if uriKey(left.URI) == uriKey(e.URI) {
				t.Fatalf("%s still a buddy after Remove", e.URI)
			}
		}
	})
}

func hasURI(g Group, uri string) bool {
	for _, e := range g.Entries {
		if uriKey(e.URI) == uriKey(uri) {
			return true
		}
	}
	return false
}

// TestAddToGroup adds buddies to a group that is a list, to one only
// Blink's addressbook has (a contact in its group, subscribed through
// Blink's RLS list), and to the default group of a document without one;
// the document stays readable by python-sipsimple.
func TestAddToGroup(t *testing.T) {
	d := mustParse(t, blinkIndex(t))
	if err := d.AddGroup("Family"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ group, uri, name string }{
		{"Family", "sip:erin@example.test", "Erin"},
		{"Friends", "sip:frank@example.test", "Frank"},
		{BuddiesList, "sip:gina@example.test", "Gina"},
	} {
		if err := d.AddToGroup(c.group, c.uri, c.name); err != nil {
			t.Fatalf("AddToGroup(%s, %s): %v", c.group, c.uri, err)
		}
		g, ok := d.group(c.group)
		if !ok || !slices.ContainsFunc(g.Entries, func(e Entry) bool { return e.URI == c.uri && e.DisplayName == c.name }) {
			t.Errorf("%s not in %s: %+v", c.uri, c.group, g.Entries)
		}
	}
	if g, _ := d.group("Friends"); g.AddressbookID == "" || len(g.Entries) != 2 {
		t.Errorf("Blink's Friends: %+v", g)
	}
	if rls, _ := d.ListURIs(PresenceRLSList); !slices.Contains(rls, "sip:frank@example.test") {
		t.Errorf("frank not subscribed through Blink's RLS list: %v", rls)
	}
	if err := d.AddToGroup("Friends", "SIP:Frank@example.test", ""); !errors.Is(err, ErrExists) {
		t.Errorf("adding frank twice: %v", err)
	}
	if err := d.AddToGroup("Nowhere", "sip:zed@example.test", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown group: %v", err)
	}
	if err := d.AddToGroup("Friends", "no uri", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad URI: %v", err)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	checkBlinkReadable(t, out)
}

// TestCopyEntry puts a buddy in a second group, a list and one only
// Blink's addressbook has: it stays in its first group, and Blink sees it
// in both.
func TestCopyEntry(t *testing.T) {
	d := mustParse(t, blinkIndex(t))
	if err := d.AddGroup("Family"); err != nil {
		t.Fatal(err)
	}
	if err := d.CopyEntry("sip:bob@example.test", "Family"); err != nil {
		t.Fatal(err)
	}
	if err := d.CopyEntry("SIP:Bob@example.test", "Work"); err != nil {
		t.Fatal(err)
	}
	var in []string
	for _, g := range d.Groups() {
		if slices.ContainsFunc(g.Entries, func(e Entry) bool { return e.URI == "sip:bob@example.test" && e.DisplayName == "Bob" }) {
			in = append(in, g.Name)
		}
	}
	if !slices.Equal(in, []string{"Family", "Friends", "Work"}) {
		t.Errorf("bob is in %v, want Family, Friends and Work", in)
	}
	ab, _ := d.Addressbook()
	if g := abGroup(ab, "Work"); g == nil || len(g.Contacts) != 2 {
		t.Errorf("Blink's Work group: %+v", g)
	}
	if err := d.CopyEntry("sip:bob@example.test", "Work"); !errors.Is(err, ErrExists) {
		t.Errorf("copying twice: %v", err)
	}
	if err := d.CopyEntry("sip:nobody@example.test", "Work"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown buddy: %v", err)
	}
	if err := d.CopyEntry("sip:bob@example.test", "Nowhere"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown group: %v", err)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	checkBlinkReadable(t, out)
}
