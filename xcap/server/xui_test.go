package server

import (
	"bytes"
	"testing"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// TestXUISpellingsAreOneFolder: however a client spells alice's XUI in the
// path (scheme and domain case, sips:, a needless escape, her user name in
// capitals), it reaches one folder, stored under the canonical XUI, and bob
// cannot reach it by respelling it.
func TestXUISpellingsAreOneFolder(t *testing.T) {
	e := newEnv(t)
	doc := resourceLists("spelled")
	e.want(e.do(e.alice, "PUT", "/resource-lists/users/SIPS:Alice@Example.Test/index", doc, "Content-Type", ctRL), 201,
		"alice creates her list as SIPS:Alice@Example.Test")
	for _, xui := range []string{"sip:alice@example.test", "SIP:ALICE@EXAMPLE.TEST", "sips:alice@example.test",
		"sip:%2561lice@example.test", "alice", "sip:alice@example.test;transport=tcp"} {
		r := e.do(e.alice, "GET", "/resource-lists/users/"+xui+"/index", nil)
		if r.code != 200 || !bytes.Equal(r.body, doc) {
			t.Errorf("GET as %s: %d %q, want alice's list", xui, r.code, r.body)
		}
		e.want(e.do(e.bob, "GET", "/resource-lists/users/"+xui+"/index", nil), 403, "bob reads alice's list as "+xui)
	}
	if _, err := e.st.Get(store.Key{AUID: "resource-lists", User: "sip:alice@example.test", Path: "index"}); err != nil {
		t.Fatalf("the document is not stored under the canonical XUI: %v", err)
	}
	e.want(e.do(e.alice, "GET", "/resource-lists/users/sip:alice@exa%20mple.test/index", nil), 400, "an XUI that is not a SIP address")
}

func TestCanonicalXUI(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"sip:alice@example.test", "sip:alice@example.test"},
		{"SIPS:Alice@Example.Test", "sip:alice@example.test"},
		{"alice", "sip:alice@example.test"},
		{"sip:alice", "sip:alice@example.test"},
		{"alice@other.test", "sip:alice@other.test"},
		{"sip:%61lice@example.test;transport=tcp", "sip:alice@example.test"},
		{"TEL:+15551234", "tel:+15551234"},
	} {
		got, err := CanonicalXUI(c.in, "example.test")
		if err != nil || got != c.want {
			t.Errorf("CanonicalXUI(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "sip:@example.test", "sip:alice@", "a/b", "sip:al ice@example.test"} {
		if got, err := CanonicalXUI(bad, "example.test"); err == nil {
			t.Errorf("CanonicalXUI(%q) = %q, want an error", bad, got)
		}
	}
}
