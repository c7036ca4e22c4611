package resourcelists

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/server/xcaptest"
)

// blinkDoc has other clients' lists (python-sipsimple's reserved ones),
// external anchors, and contacts in a foreign namespace sipbuddy does not
// know, which it must keep. (blink_test.go reads the document Blink
// really writes.)
const blinkDoc = `<?xml version='1.0' encoding='UTF-8'?>
<rl:resource-lists xmlns:agp-rl="urn:ag-projects:xml:ns:resource-lists" xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:sipsimple="urn:ag-projects:sipsimple:xml:ns:addressbook">
  <rl:list name="oma_buddylist"/>
  <rl:list name="oma_grantedcontacts">
    <rl:entry uri="sip:bob@example.test"/>
  </rl:list>
  <rl:list name="oma_allcontacts">
    <rl:external anchor="http://127.0.0.1/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22oma_grantedcontacts%22%5D"/>
  </rl:list>
  <rl:list name="sipsimple_presence_rls">
    <rl:entry uri="sip:bob@example.test"><rl:display-name>Bob from Blink</rl:display-name></rl:entry>
    <rl:entry uri="sip:Carol@EXAMPLE.test"/>
  </rl:list>
  <rl:list name="x_addressbook">
    <sipsimple:group id="g1"><sipsimple:name>Friends</sipsimple:name><sipsimple:contacts><sipsimple:contact>c1</sipsimple:contact></sipsimple:contacts></sipsimple:group>
    <sipsimple:contact id="c1" subscribe-to-presence="true"><sipsimple:name>Bob</sipsimple:name><sipsimple:uris default="u1"><sipsimple:uri id="u1">sip:bob@example.test</sipsimple:uri></sipsimple:uris></sipsimple:contact>
  </rl:list>
</rl:resource-lists>
`

func TestEntries(t *testing.T) {
	d, err := Parse([]byte(`<?xml version="1.0"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="friends">
    <display-name>Friends</display-name>
    <entry uri="sip:bob@example.test"/>
    <list name="inner">
      <entry uri="sip:carol@example.test"><display-name> Carol </display-name></entry>
      <entry uri="sip:bob@EXAMPLE.TEST"><display-name>Bob</display-name></entry>
    </list>
    <entry uri="  "/>
  </list>
  <list><entry uri="sip:dave@example.test"><display-name>Dave</display-name></entry></list>
</resource-lists>`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{URI: "sip:bob@example.test", DisplayName: "Bob", List: "friends", Group: "friends"},
		{URI: "sip:carol@example.test", DisplayName: "Carol", List: "inner", Group: "friends"},
		{URI: "sip:dave@example.test", DisplayName: "Dave", List: ""},
	}
	if got := d.Entries(); !reflect.DeepEqual(got, want) {
		t.Errorf("Entries\n got %+v\nwant %+v", got, want)
	}
}

func TestAddKeepsForeignContent(t *testing.T) {
	d, err := Parse([]byte(blinkDoc))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Add(BuddiesList, "sip:dave@example.test", "Dave & Co"); err != nil {
		t.Fatal(err)
	}
	if err := d.Add(BuddiesList, "sip:erin@example.test", ""); err != nil {
		t.Fatal(err)
	}
	// One AOR however it is spelled (sipuri.AORKey folds the user part as
	// registrars do), so these are the same buddy.
	for _, dup := range []string{"sip:DAVE@example.test", "SIP:dave@Example.Test", "sips:dave@example.test;transport=tcp"} {
		if err := d.Add(BuddiesList, dup, "dup"); !errors.Is(err, ErrExists) {
			t.Errorf("duplicate %s: %v, want ErrExists", dup, err)
		}
	}
	if err := d.Add(BuddiesList, "tel:+1-555-0100", ""); err != nil {
		t.Errorf("tel: URI: %v", err)
	}
	if err := d.Add(BuddiesList, " tel:+1-555-0100 ", ""); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate tel: URI: %v, want ErrExists", err)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// Everything before the new list is byte-for-byte what was there
	// (apart from the XML declaration's quotes), and the new list follows
	// the last list with the document's own prefix and indentation.
	orig := blinkDoc[strings.Index(blinkDoc, "<rl:resource-lists"):strings.Index(blinkDoc, "</rl:resource-lists>")]
	if !bytes.Contains(out, []byte(orig)) {
		t.Errorf("original content changed:\n%s", out)
	}
	tail := `  <rl:list name="buddies">
    <rl:entry uri="sip:dave@example.test"><rl:display-name>Dave &amp; Co</rl:display-name></rl:entry>
    <rl:entry uri="sip:erin@example.test"/>
    <rl:entry uri="tel:+1-555-0100"/>
  </rl:list>
</rl:resource-lists>
`
	if !bytes.HasSuffix(out, []byte(tail)) {
		t.Errorf("new list:\n%s", out)
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	uris := []string{}
	for _, e := range again.Entries() {
		uris = append(uris, e.URI)
	}
	// python-sipsimple's reserved lists hold watchers and subscriptions,
	// not buddies.
	if want := []string{"sip:dave@example.test", "sip:erin@example.test", "tel:+1-555-0100"}; !reflect.DeepEqual(uris, want) {
		t.Errorf("entries %v, want %v", uris, want)
	}
}

func TestAddBeforeForeignElements(t *testing.T) {
	d, err := Parse([]byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:x"><list name="buddies"><entry uri="sip:a@x"/><x:ext/></list><x:tail/></resource-lists>`))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Add(BuddiesList, "sip:b@x", ""); err != nil {
		t.Fatal(err)
	}
	if err := d.Add("other", "sip:c@x", ""); err != nil {
		t.Fatal(err)
	}
	out, _ := d.Marshal()
	want := `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:x"><list name="buddies"><entry uri="sip:a@x"/><entry uri="sip:b@x"/><x:ext/></list><list name="other"><entry uri="sip:c@x"/></list><x:tail/></resource-lists>
`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestRemoveFromEveryList(t *testing.T) {
	d, err := Parse([]byte(blinkDoc))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Remove("sip:bob@EXAMPLE.test") {
		t.Fatal("Remove found nothing")
	}
	if d.Remove("sip:bob@example.test") {
		t.Error("second Remove found something")
	}
	out, _ := d.Marshal()
	// Gone from the subscription list and the groups...
	if bytes.Contains(out, []byte(`<rl:entry uri="sip:bob@example.test"><rl:display-name>Bob from Blink`)) {
		t.Errorf("bob still subscribed to:\n%s", out)
	}
	if !bytes.Contains(out, []byte("  <rl:list name=\"sipsimple_presence_rls\">\n    <rl:entry uri=\"sip:Carol@EXAMPLE.test\"/>\n  </rl:list>")) {
		t.Errorf("layout after removal:\n%s", out)
	}
	// ...but still allowed to see me: removing a buddy is not blocking.
	if !bytes.Contains(out, []byte("<rl:list name=\"oma_grantedcontacts\">\n    <rl:entry uri=\"sip:bob@example.test\"/>")) {
		t.Errorf("grant lost:\n%s", out)
	}
	// The foreign addressbook still mentions bob: it is not ours to edit.
	if !bytes.Contains(out, []byte(`<sipsimple:uri id="u1">sip:bob@example.test</sipsimple:uri>`)) {
		t.Errorf("foreign content lost:\n%s", out)
	}
}

func TestParseErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not xml":   "buddies",
		"wrong ns":  `<resource-lists xmlns="urn:example"/>`,
		"pidf":      `<presence xmlns="urn:ietf:params:xml:ns:pidf"/>`,
		"truncated": blinkDoc[:200],
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Parse(make([]byte, MaxDocumentSize+1)); !isLimit(err) {
		t.Errorf("too large: %v", err)
	}
	d := New()
	for _, bad := range []struct{ uri, name string }{{"", ""}, {"nocolon", ""}, {"sip:a@x", "a\x00"}} {
		if err := d.Add(BuddiesList, bad.uri, bad.name); !errors.Is(err, ErrInvalid) {
			t.Errorf("Add(%q, %q): %v", bad.uri, bad.name, err)
		}
	}
}

func TestNew(t *testing.T) {
	d := New()
	if len(d.Entries()) != 0 {
		t.Fatal("new document has entries")
	}
	if err := d.Add(BuddiesList, "sip:bob@example.test", "Bob"); err != nil {
		t.Fatal(err)
	}
	out, _ := d.Marshal()
	want := `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="buddies">
    <entry uri="sip:bob@example.test"><display-name>Bob</display-name></entry>
  </list>
</resource-lists>
`
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// xcapEnv starts the real embedded XCAP server on 127.0.0.1 and returns a
// client for alice and one for a second device of alice.
func xcapEnv(t *testing.T) (*xcap.Client, *xcap.Client) {
	t.Helper()
	root, _ := xcaptest.Start(t, map[string]string{"alice": "secret"})
	mk := func() *xcap.Client {
		c, err := xcap.NewClient(xcap.ClientOptions{Root: root, XUI: "sip:alice@example.test", Password: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return mk(), mk()
}

func TestUpdateAgainstXCAPServer(t *testing.T) {
	c, other := xcapEnv(t)
	ctx := context.Background()

	// 404: starts from New() and creates the document.
	d, err := Update(ctx, c, func(d *Document) error { return d.Add(BuddiesList, "sip:bob@example.test", "Bob") })
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Entries()) != 1 {
		t.Fatalf("entries after create: %+v", d.Entries())
	}

	// Another client stores a document with foreign content.
	got, err := other.Get(ctx, AUID, DocumentPath, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Put(ctx, AUID, DocumentPath, []byte(blinkDoc), ContentType, xcap.Condition{IfMatch: got.ETag}); err != nil {
		t.Fatal(err)
	}

	// While we edit, the other device changes the document again: our PUT
	// gets 412, Update reloads and applies fn to the new version.
	var calls atomic.Int32
	d, err = Update(ctx, c, func(d *Document) error {
		if calls.Add(1) == 1 {
			cur, err := other.Get(ctx, AUID, DocumentPath, "")
			if err != nil {
				return err
			}
			changed := bytes.Replace(cur.Body, []byte(`<rl:list name="oma_buddylist"/>`),
				[]byte(`<rl:list name="oma_buddylist"><rl:entry uri="sip:frank@example.test"/></rl:list>`), 1)
			if _, err := other.Put(ctx, AUID, DocumentPath, changed, ContentType, xcap.Condition{IfMatch: cur.ETag}); err != nil {
				return err
			}
		}
		return d.Add(BuddiesList, "sip:dave@example.test", "Dave")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("fn called %d times, want 2 (one 412)", n)
	}
	stored, err := c.Get(ctx, AUID, DocumentPath, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sip:frank@example.test", "sip:dave@example.test", "<sipsimple:name>Friends</sipsimple:name>", `name="sipsimple_presence_rls"`} {
		if !bytes.Contains(stored.Body, []byte(want)) {
			t.Errorf("stored document lacks %s:\n%s", want, stored.Body)
		}
	}
	if !reflect.DeepEqual(d.Entries(), mustParse(t, stored.Body).Entries()) {
		t.Errorf("returned document differs from the stored one")
	}

	// Remove everywhere, through the server.
	if _, err := Update(ctx, c, func(d *Document) error {
		if !d.Remove("sip:bob@example.test") {
			return errors.New("bob not found")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stored, _ = c.Get(ctx, AUID, DocumentPath, "")
	if bytes.Contains(stored.Body, []byte(`rl:entry uri="sip:bob@example.test"><rl:display-name>Bob from Blink`)) {
		t.Errorf("bob still stored:\n%s", stored.Body)
	}

	// fn's error aborts without writing.
	before := stored.ETag
	boom := errors.New("boom")
	if _, err := Update(ctx, c, func(*Document) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("fn error: %v", err)
	}
	if after, _ := c.Get(ctx, AUID, DocumentPath, ""); after.ETag != before {
		t.Errorf("document written despite fn error")
	}
}

func TestUpdateGivesUpOnEndlessConflicts(t *testing.T) {
	c, other := xcapEnv(t)
	ctx := context.Background()
	if _, err := Update(ctx, c, func(d *Document) error { return nil }); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_, err := Update(ctx, c, func(d *Document) error {
		calls++
		cur, err := other.Get(ctx, AUID, DocumentPath, "")
		if err != nil {
			return err
		}
		_, err = other.Put(ctx, AUID, DocumentPath, cur.Body, ContentType, xcap.Condition{IfMatch: cur.ETag})
		return err
	})
	if !errors.Is(err, ErrConflict) || xcap.StatusCodeOf(err) != 412 {
		t.Errorf("err %v, want ErrConflict wrapping the 412", err)
	}
	if calls != MaxUpdateAttempts {
		t.Errorf("%d attempts, want %d", calls, MaxUpdateAttempts)
	}
}

func TestUpdateKeepsUnnamedLists(t *testing.T) {
	c, _ := xcapEnv(t)
	ctx := context.Background()
	big := strings.Replace(blinkDoc, "<rl:list name=\"oma_buddylist\"/>", strings.Repeat("<rl:list/>", 10)+"<rl:list name=\"oma_buddylist\"/>", 1)
	if _, err := c.Put(ctx, AUID, DocumentPath, []byte(big), ContentType, xcap.Condition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(ctx, c, func(d *Document) error { return d.Add(BuddiesList, "sip:x@example.test", "") }); err != nil {
		t.Fatalf("Update: %v", err)
	}
	stored, err := c.Get(ctx, AUID, DocumentPath, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(stored.Body, []byte("<rl:list/>")); n != 10 {
		t.Errorf("%d unnamed lists kept, want 10:\n%s", n, stored.Body)
	}
}

func mustParse(t *testing.T, data []byte) *Document {
	t.Helper()
	d, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(blinkDoc))
	f.Add([]byte(emptyDocument))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		entries := d.Entries()
		out, err := d.Marshal()
		if err != nil {
			return // over the size limit after escaping
		}
		d2, err := Parse(out)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v", err)
		}
		if !reflect.DeepEqual(entries, d2.Entries()) {
			t.Fatalf("entries changed by a round trip: %+v -> %+v", entries, d2.Entries())
		}
		// Adding to the buddies list keeps every entry and adds one.
		if err := d2.Add(BuddiesList, "sip:fuzz-new@example.test", "n"); err != nil {
			if errors.Is(err, ErrExists) {
				return
			}
			t.Fatalf("Add: %v", err)
		}
		out2, err := d2.Marshal()
		if err != nil {
			return
		}
		d3, err := Parse(out2)
		if err != nil {
			t.Fatalf("after Add: %v", err)
		}
		if len(d3.Entries()) < len(entries) {
			t.Fatalf("Add lost entries")
		}
	})
}

func isLimit(err error) bool {
	var le *xmltree.LimitError
	return errors.As(err, &le)
}
