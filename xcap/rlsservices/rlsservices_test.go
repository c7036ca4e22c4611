package rlsservices

import (
	"errors"
	"strings"
	"testing"
)

// A document as python-sipsimple writes it: a presence and a dialog
// service, the presence one pointing at its sipsimple_presence_rls list.
const sipsimpleDoc = `<?xml version='1.0' encoding='UTF-8'?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services" xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:other">
  <service uri="sip:alice+presence@example.test">
    <resource-list>http://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22sipsimple_presence_rls%22%5D</resource-list>
    <packages>
      <package>presence</package>
    </packages>
  </service>
  <service uri="sip:alice+dialog@example.test">
    <resource-list>http://xcap.example.test/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22sipsimple_dialog_rls%22%5D</resource-list>
    <packages>
      <package>dialog</package>
    </packages>
    <x:note>kept</x:note>
  </service>
</rls-services>
`

func TestParseSipsimple(t *testing.T) {
	d, err := Parse([]byte(sipsimpleDoc))
	if err != nil {
		t.Fatal(err)
	}
	s := d.Services()
	if len(s) != 2 || s[0].URI != "sip:alice+presence@example.test" || !s[0].Serves("presence") || s[1].Serves("presence") || !s[1].Serves("dialog") {
		t.Fatalf("services %+v", s)
	}
	name, ok := ListName(s[0].ResourceList, "sip:alice@example.test")
	if !ok || name != "sipsimple_presence_rls" {
		t.Errorf("ListName(%q) = %q %v", s[0].ResourceList, name, ok)
	}
	if _, ok := ListName(s[0].ResourceList, "sip:bob@example.test"); ok {
		t.Error("another user's list URL was taken as alice's")
	}
}

// Ensure points the presence service at sipbuddy's list, keeps the dialog
// service and the foreign element, and is a no-op the second time.
func TestEnsure(t *testing.T) {
	d, err := Parse([]byte(sipsimpleDoc))
	if err != nil {
		t.Fatal(err)
	}
	url := ListURL("http://127.0.0.1:8080/xcap-root/", "sip:alice@example.test", "buddies")
	if !d.Ensure("sip:alice+presence@example.test", url) {
		t.Fatal("Ensure changed nothing")
	}
	again, err := Parse(d.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if again.Ensure("sip:alice+presence@example.test", url) {
		t.Error("second Ensure changed the document")
	}
	s, ok := again.Service("sip:alice+presence@example.test")
	if !ok || s.ResourceList != url || len(s.Packages) != 1 {
		t.Errorf("presence service %+v", s)
	}
	out := string(again.Marshal())
	for _, want := range []string{"sip:alice+dialog@example.test", "<x:note>kept</x:note>", "sipsimple_dialog_rls"} {
		if !strings.Contains(out, want) {
			t.Errorf("lost %q:\n%s", want, out)
		}
	}
	if name, ok := ListName(url, "sip:alice@example.test"); !ok || name != "buddies" {
		t.Errorf("ListName(ListURL) = %q %v", name, ok)
	}
	n := New()
	if !n.Ensure("sip:bob+presence@example.test", "u") || len(n.Services()) != 1 {
		t.Errorf("new document: %s", n.Marshal())
	}
}

func TestPresenceServiceURI(t *testing.T) {
	if u, err := PresenceServiceURI("sip:alice@example.test"); err != nil || u != "sip:alice+presence@example.test" {
		t.Errorf("%q %v", u, err)
	}
	if _, err := PresenceServiceURI("alice"); err == nil {
		t.Error("no error for a non-address")
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := Parse([]byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`)); !errors.Is(err, ErrNotServices) {
		t.Errorf("wrong root: %v", err)
	}
	if _, err := Parse([]byte(`<rls-services`)); err == nil {
		t.Error("malformed XML accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sipsimpleDoc))
	f.Add([]byte(emptyDocument))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		before := d.Services()
		again, err := Parse(d.Marshal())
		if err != nil {
			t.Fatalf("written back, it does not parse: %v", err)
		}
		if len(again.Services()) != len(before) {
			t.Fatalf("services %d -> %d", len(before), len(again.Services()))
		}
	})
}
