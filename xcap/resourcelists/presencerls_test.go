package resourcelists

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestSyncPresenceRLS: the list the RLS service serves ends up holding
// every SIP buddy of every group once, foreign content and the other
// lists untouched, and a second sync changes nothing.
func TestSyncPresenceRLS(t *testing.T) {
	doc, err := Parse([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:x">
  <rl:list name="buddies"><rl:entry uri="sip:ada@example.test"/><rl:entry uri="tel:+15551234"/></rl:list>
  <rl:list name="work"><rl:entry uri="SIP:Bob@Example.Test"/><rl:entry uri="sip:ada@example.test"/></rl:list>
  <rl:list name="sipsimple_presence_rls"><rl:entry uri="sip%3Abob%40example.test"/><rl:entry uri="sip:gone@example.test"/><x:note>kept</x:note></rl:list>
</rl:resource-lists>`))
	if err != nil {
		t.Fatal(err)
	}
	if !doc.SyncPresenceRLS() {
		t.Fatal("a stale list reported unchanged")
	}
	got, ok := doc.ListURIs(PresenceRLSList)
	if !ok || !slices.Equal(got, []string{"sip:bob@example.test", "sip:ada@example.test", "tel:+15551234"}) {
		t.Errorf("presence list %v, want bob (kept as written), then ada and the tel: buddy (added)", got)
	}
	if doc.SyncPresenceRLS() {
		t.Error("a second sync changed the document")
	}
	out, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<x:note>kept</x:note>", `uri="tel:+15551234"`, `name="work"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s lost:\n%s", want, out)
		}
	}
	e := New()
	if !e.SyncPresenceRLS() || e.SyncPresenceRLS() {
		t.Error("an empty document did not get its (empty) RLS list once")
	}
	if uris, ok := e.ListURIs(PresenceRLSList); !ok || len(uris) != 0 {
		t.Errorf("RLS list of an empty document: %v %v", uris, ok)
	}
}

// TestSyncPresenceRLSLeavesBlinksListAlone: with the addressbook the list
// is Blink's (Dave, whom Blink does not subscribe to, stays out of it).
func TestSyncPresenceRLSLeavesBlinksListAlone(t *testing.T) {
	data, err := os.ReadFile("testdata/blink-index.xml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := doc.Marshal()
	if doc.SyncPresenceRLS() {
		t.Error("Blink's sipsimple_presence_rls was rewritten")
	}
	out, _ := doc.Marshal()
	if string(out) != string(before) {
		t.Error("the Blink document changed")
	}
}
