package resourcelists

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// testdata/blink-index.xml is the resource-lists document python-sipsimple
// (Blink) stores for an account with three contacts (Bob in "Friends",
// allowed to see me; Carol in "Work", with a SIP and a tel: URI; Dave in
// no group, not subscribed to) and a policy element blocking Mallory. It is
// built from python-sipsimple's writers: sipsimple/account/xcap's
// NormalizeOperation creates the reserved lists in that order and derives
// oma_grantedcontacts, oma_blockedcontacts and sipsimple_presence_rls from
// the contacts and policies; sipsimple/payloads/addressbook.py orders a
// contact's children name, uris, dialog, presence, then Blink's
// attributes extension (SharedSetting namespace "ag-projects:blink");
// its AnyURI type percent-encodes every URI attribute (entry uri,
// external anchor, contact and policy URIs: Python 2's urllib.quote);
// lxml writes it without pretty printing, with single-quoted declaration
// and every namespace declared on the root.
func blinkIndex(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/blink-index.xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func blinkIndexB(b *testing.B) []byte {
	data, err := os.ReadFile("testdata/blink-index.xml")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func mustParseB(b *testing.B, data []byte) *Document {
	d, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

const nsBlink = "urn:ag-projects:blink:xml:ns:addressbook"

func TestBlinkDocumentReadsAsGroups(t *testing.T) {
	d := mustParse(t, blinkIndex(t))
	type g struct {
		Name, Display string
		URIs          []string
		Names         []string
	}
	var got []g
	for _, gr := range d.Groups() {
		x := g{Name: gr.Name, Display: gr.DisplayName}
		for _, e := range gr.Entries {
			x.URIs = append(x.URIs, e.URI)
			x.Names = append(x.Names, e.DisplayName)
			if e.ContactID == "" {
				t.Errorf("%s: no contact id", e.URI)
			}
		}
		got = append(got, x)
	}
	want := []g{
		{"Friends", "Friends", []string{"sip:bob@example.test"}, []string{"Bob"}},
		{"Work", "Work", []string{"sip:carol@example.test"}, []string{"Carol"}},
		{BuddiesList, BuddiesList, []string{"sip:dave@example.test"}, []string{"Dave"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups\n got %+v\nwant %+v", got, want)
	}
	var uris []string
	for _, e := range d.Entries() {
		uris = append(uris, e.URI)
	}
	// Not Mallory (a policy, not a contact), not Carol's tel: URI (her
	// default is the SIP one), nobody from the grant lists.
	if want := []string{"sip:bob@example.test", "sip:carol@example.test", "sip:dave@example.test"}; !reflect.DeepEqual(uris, want) {
		t.Errorf("entries %v, want %v", uris, want)
	}
	ab, ok := d.Addressbook()
	if !ok || len(ab.Contacts) != 3 || len(ab.Groups) != 2 || len(ab.Policies) != 1 {
		t.Fatalf("addressbook %+v", ab)
	}
	if c := ab.Contacts[0]; c.Presence != (EventHandling{PolicyAllow, true}) || c.Dialog != (EventHandling{PolicyDefault, false}) {
		t.Errorf("bob's handling %+v", c)
	}
	if c := ab.Contacts[1]; len(c.URIs) != 2 || c.URIs[1] != (ContactURI{"id1733220000000002200002", "tel:+15550100", "mobile"}) {
		t.Errorf("carol's URIs %+v", c.URIs)
	}
	if p := ab.Policies[0]; p.URI != "sip:mallory@example.test" || p.Presence.Policy != PolicyBlock {
		t.Errorf("policy %+v", p)
	}
}

// foreign returns every element of Blink's own extension namespace,
// serialized, keyed by the path of ids above it: Blink's data sipbuddy
// must never change.
func foreign(t *testing.T, doc []byte) map[string]string {
	t.Helper()
	root := parseRoot(t, doc)
	out := map[string]string{}
	var walk func(n *xmltree.Node, path string)
	walk = func(n *xmltree.Node, path string) {
		if id, ok := n.Attr("id"); ok {
			path += "/" + id
		}
		if n.Space == nsBlink {
			out[path+"/"+n.Local] = string(xmltree.Encoder{}.AppendElement(nil, n))
			return
		}
		n.EachElement(func(c *xmltree.Node) { walk(c, path) })
	}
	walk(root, "")
	return out
}

// parseRoot parses a document the package wrote and returns its root.
func parseRoot(t *testing.T, doc []byte) *xmltree.Node {
	t.Helper()
	dom, err := xmltree.Parse(doc, limits)
	if err != nil {
		t.Fatal(err)
	}
	return dom.Root
}

// lists returns every top-level list, serialized, by name.
func topLists(t *testing.T, doc []byte) map[string]string {
	t.Helper()
	root := parseRoot(t, doc)
	out := map[string]string{}
	root.EachElement(func(l *xmltree.Node) {
		name, _ := l.Attr("name")
		out[name] = string(xmltree.Encoder{}.AppendElement(nil, l))
	})
	return out
}

// checkBlinkReadable checks what python-sipsimple needs to read the
// document: it validates resource-lists against the RFC 4826 schema
// (display-name first, list members before foreign elements) and its
// addressbook classes require every child of a contact and a group, in
// the schema's order, and unique xs:IDs.
func checkBlinkReadable(t *testing.T, doc []byte) {
	t.Helper()
	root := parseRoot(t, doc)
	ids := map[string]bool{}
	contacts := map[string]bool{}
	var members []string
	var walk func(n *xmltree.Node)
	walk = func(n *xmltree.Node) {
		if n.Is(Namespace, "list") || n.Is(Namespace, "entry") {
			foreignSeen := false
			for i, c := range n.Elements() {
				switch {
				case c.Is(Namespace, "display-name") && i != 0:
					t.Errorf("display-name is not first in %s", xmltree.Encoder{}.AppendElement(nil, n))
				case c.Space == Namespace && foreignSeen:
					t.Errorf("%s after a foreign element", c.Local)
				case c.Space != Namespace:
					foreignSeen = true
				}
			}
		}
		if n.Space == NSAddressbook {
			if id, ok := n.Attr("id"); ok {
				if ids[id] {
					t.Errorf("id %s twice", id)
				}
				ids[id] = true
			}
			var order []string
			n.EachElement(func(c *xmltree.Node) {
				if c.Space == NSAddressbook {
					order = append(order, c.Local)
				}
			})
			want := map[string][]string{
				"contact":        {"name", "uris", "dialog", "presence"},
				"group":          {"name", "contacts"},
				"policy-element": {"name", "dialog", "presence"},
				"dialog":         {"policy", "subscribe"},
				"presence":       {"policy", "subscribe"},
			}[n.Local]
			if want != nil && !slices.Equal(order, want) {
				t.Errorf("%s children %v, want %v", n.Local, order, want)
			}
			if n.Local == "contact" {
				id, _ := n.Attr("id")
				contacts[id] = true
			}
			if n.Local == "contact_id" {
				members = append(members, n.TextContent())
			}
		}
		n.EachElement(walk)
	}
	walk(root)
	for _, m := range members {
		if !contacts[m] {
			t.Errorf("group member %s is no contact", m)
		}
	}
}

// TestBlinkEditsKeepBlinkData makes each edit on Blink's document and
// checks that Blink's extension data and the lists sipbuddy has no
// business in are byte for byte what Blink wrote, that python-sipsimple
// can still read the document, and that the addressbook says what
// sipbuddy did, so Blink shows it.
func TestBlinkEditsKeepBlinkData(t *testing.T) {
	bob, carol, dave := "id1733220000000001000001", "id1733220000000002000002", "id1733220000000003000003"
	for _, tc := range []struct {
		name    string
		edit    func(d *Document) error
		touched []string // top-level lists the edit may change
		check   func(t *testing.T, d *Document, ab *Addressbook)
	}{
		{"add", func(d *Document) error { return d.Add(BuddiesList, "sip:erin@example.test", "Erin") },
			[]string{AddressbookList, PresenceRLSList, BuddiesList},
			func(t *testing.T, d *Document, ab *Addressbook) {
				c := ab.contactWith("sip:erin@example.test")
				if c == nil || c.Name != "Erin" || c.Presence != (EventHandling{PolicyDefault, true}) || c.Dialog != (EventHandling{PolicyDefault, false}) || c.BuddyURI() != "sip:erin@example.test" {
					t.Fatalf("erin's contact %+v", c)
				}
				if g := abGroup(ab, BuddiesList); g == nil || !slices.Contains(g.Contacts, c.ID) {
					t.Errorf("erin in no group %q: %+v", BuddiesList, ab.Groups)
				}
				if !inList(d, PresenceRLSList, "sip:erin@example.test") {
					t.Error("erin not in sipsimple_presence_rls")
				}
			}},
		{"add to Blink's group", func(d *Document) error { return d.Add("Friends", "sip:erin@example.test", "") },
			[]string{AddressbookList, PresenceRLSList, "Friends"},
			func(t *testing.T, d *Document, ab *Addressbook) {
				c := ab.contactWith("sip:erin@example.test")
				if g := abGroup(ab, "Friends"); c == nil || g == nil || !slices.Equal(g.Contacts, []string{bob, c.ID}) {
					t.Errorf("Friends %+v", ab.Groups)
				}
				if g, _ := d.group("Friends"); len(g.Entries) != 2 {
					t.Errorf("group Friends %+v", g)
				}
			}},
		{"add group", func(d *Document) error { return d.AddGroup("Family") },
			[]string{AddressbookList, "Family"},
			func(t *testing.T, d *Document, ab *Addressbook) {
				if g := abGroup(ab, "Family"); g == nil || len(g.Contacts) != 0 {
					t.Errorf("groups %+v", ab.Groups)
				}
			}},
		{"rename group", func(d *Document) error { return d.RenameGroup("Friends", "Close friends") },
			[]string{AddressbookList},
			func(t *testing.T, d *Document, ab *Addressbook) {
				if g := abGroup(ab, "Close friends"); g == nil || g.ID != "id1733220000000010000010" || !slices.Equal(g.Contacts, []string{bob}) {
					t.Errorf("groups %+v", ab.Groups)
				}
			}},
		{"delete group, buddies kept", func(d *Document) error { return d.DeleteGroup("Work", false) },
			[]string{AddressbookList, BuddiesList},
			func(t *testing.T, d *Document, ab *Addressbook) {
				if abGroup(ab, "Work") != nil || ab.contactWith("sip:carol@example.test") == nil {
					t.Errorf("addressbook %+v", ab)
				}
				if g, _ := d.group(BuddiesList); len(g.Entries) != 2 {
					t.Errorf("default group %+v", g)
				}
				if g := abGroup(ab, BuddiesList); g == nil || !slices.Contains(g.Contacts, carol) {
					t.Errorf("carol not moved in the addressbook: %+v", ab.Groups)
				}
			}},
		{"delete group with its buddies", func(d *Document) error { return d.DeleteGroup("Work", true) },
			[]string{AddressbookList, PresenceRLSList},
			func(t *testing.T, d *Document, ab *Addressbook) {
				if abGroup(ab, "Work") != nil || len(ab.Contacts) != 3 {
					// Carol had two URIs: the tel: one keeps her contact.
					t.Errorf("addressbook %+v", ab)
				}
				if c := ab.contactWith("tel:+15550100"); c == nil || len(c.URIs) != 1 || c.DefaultURI != "" {
					t.Errorf("carol %+v", c)
				}
				if inList(d, PresenceRLSList, "sip:carol@example.test") {
					t.Error("carol still subscribed")
				}
			}},
		{"move", func(d *Document) error { return d.MoveEntry("sip:bob@example.test", "Work") },
			[]string{AddressbookList},
			func(t *testing.T, d *Document, ab *Addressbook) {
				if g := abGroup(ab, "Work"); g == nil || !slices.Equal(g.Contacts, []string{carol, bob}) {
					t.Errorf("Work %+v", ab.Groups)
				}
				if g := abGroup(ab, "Friends"); g == nil || len(g.Contacts) != 0 {
					t.Errorf("Friends %+v", ab.Groups)
				}
			}},
		{"move to the default group", func(d *Document) error { return d.MoveEntry("sip:bob@example.test", BuddiesList) },
			[]string{AddressbookList, BuddiesList},
			func(t *testing.T, d *Document, ab *Addressbook) {
				if g := abGroup(ab, BuddiesList); g == nil || !slices.Equal(g.Contacts, []string{bob}) {
					t.Errorf("groups %+v", ab.Groups)
				}
			}},
		{"rename", func(d *Document) error { return d.RenameEntry("sip:dave@example.test", "David") },
			[]string{AddressbookList},
			func(t *testing.T, d *Document, ab *Addressbook) {
				if c := ab.contactWith("sip:dave@example.test"); c == nil || c.ID != dave || c.Name != "David" {
					t.Errorf("dave %+v", c)
				}
			}},
		{"remove", func(d *Document) error {
			if !d.Remove("sip:bob@example.test") {
				t.Error("bob not found")
			}
			return nil
		},
			[]string{AddressbookList, PresenceRLSList},
			func(t *testing.T, d *Document, ab *Addressbook) {
				if ab.contactWith("sip:bob@example.test") != nil || len(ab.Contacts) != 2 {
					t.Errorf("contacts %+v", ab.Contacts)
				}
				// Bob was allowed to see me; he still is, for Blink too.
				if len(ab.Policies) != 2 || ab.Policies[1].URI != "sip:bob@example.test" || ab.Policies[1].Presence.Policy != PolicyAllow {
					t.Errorf("policies %+v", ab.Policies)
				}
				if allowed, _ := d.derivedPolicy("sip:bob@example.test"); !allowed || !inList(d, OMAGrantedContacts, "sip:bob@example.test") {
					t.Error("bob's grant lost")
				}
				if g := abGroup(ab, "Friends"); g == nil || len(g.Contacts) != 0 {
					t.Errorf("Friends %+v", ab.Groups)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := blinkIndex(t)
			d := mustParse(t, orig)
			if err := tc.edit(d); err != nil {
				t.Fatal(err)
			}
			out, err := d.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			checkBlinkReadable(t, out)
			before, after := foreign(t, orig), foreign(t, out)
			for path, el := range before {
				got, ok := after[path]
				switch {
				case ok && got != el:
					t.Errorf("%s changed:\n got %s\nwant %s", path, got, el)
				case !ok && !deleted(out, path):
					t.Errorf("%s lost", path)
				}
			}
			lb, la := topLists(t, orig), topLists(t, out)
			for name, l := range lb {
				if !slices.Contains(tc.touched, name) && la[name] != l {
					t.Errorf("list %s changed:\n got %s\nwant %s", name, la[name], l)
				}
			}
			again := mustParse(t, out)
			ab, ok := again.Addressbook()
			if !ok {
				t.Fatal("addressbook lost")
			}
			tc.check(t, again, ab)
		})
	}
}

// deleted reports whether an element on the id path is gone from doc:
// its extension data went with it, as python-sipsimple's would.
func deleted(doc []byte, path string) bool {
	for _, id := range strings.Split(strings.Trim(path, "/"), "/") {
		if strings.HasPrefix(id, "id") && !strings.Contains(string(doc), `id="`+id+`"`) {
			return true
		}
	}
	return false
}

func abGroup(ab *Addressbook, name string) *AddressbookGroup {
	for i := range ab.Groups {
		if ab.Groups[i].Name == name {
			return &ab.Groups[i]
		}
	}
	return nil
}

func inList(d *Document, list, uri string) bool {
	l := d.findList(list)
	return l != nil && findEntry(l, uriKey(uri)) != nil
}

// TestSyncAddressbook: buddies sipbuddy had before Blink wrote its
// addressbook get contacts there, once.
func TestSyncAddressbook(t *testing.T) {
	doc := strings.Replace(string(blinkIndex(t)), `<rl:list name="oma_buddylist"/>`,
		`<rl:list name="oma_buddylist"/><rl:list name="Friends"><rl:entry uri="sip:bob@example.test"/><rl:entry uri="sip:zoe@example.test"><rl:display-name>Zoe</rl:display-name></rl:entry></rl:list>`, 1)
	d := mustParse(t, []byte(doc))
	if n := d.SyncAddressbook(); n != 1 {
		t.Fatalf("added %d contacts, want 1 (zoe)", n)
	}
	if n := d.SyncAddressbook(); n != 0 {
		t.Errorf("second sync added %d", n)
	}
	out, _ := d.Marshal()
	checkBlinkReadable(t, out)
	ab, _ := mustParse(t, out).Addressbook()
	c := ab.contactWith("sip:zoe@example.test")
	if g := abGroup(ab, "Friends"); c == nil || c.Name != "Zoe" || g == nil || !slices.Contains(g.Contacts, c.ID) {
		t.Errorf("zoe %+v in %+v", c, ab.Groups)
	}
	if len(ab.Groups) != 2 {
		t.Errorf("groups %+v", ab.Groups)
	}
	if New().SyncAddressbook() != 0 {
		t.Error("a document without an addressbook changed")
	}
}
