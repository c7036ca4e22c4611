package presrules

import (
	"bytes"
	"testing"
)

// Asking about unlisted watchers, in both layouts: a blocked watcher stays
// blocked (other-identity does not match a named watcher), an unlisted one
// waits, and turning it off gives the IETF layout back to the server's
// default and Blink's layout its allow-unlisted rule.
func TestSetUnlisted(t *testing.T) {
	set := func(doc []byte, oma, ask bool) []byte {
		t.Helper()
		out, err := SetUnlisted(doc, oma, ask)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	wantUnlisted := func(doc []byte, want Unlisted, what string) {
		t.Helper()
		if u, _ := UnlistedOf(doc); u != want {
			t.Errorf("%s: %v, want %v\n%s", what, u, want, doc)
		}
	}
	decide := func(doc []byte, w string) (Handling, bool) {
		r, err := Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		return r.Decide(w)
	}

	doc, err := SetWatcher(nil, "sip:mallory@example.test", Block)
	if err != nil {
		t.Fatal(err)
	}
	wantUnlisted(doc, UnlistedDefault, "new IETF document")
	ask := set(doc, false, true)
	wantUnlisted(ask, UnlistedAsk, "after ask")
	if h, _ := decide(ask, "sip:mallory@example.test"); h != Block {
		t.Errorf("mallory under ask-everyone: %v", h)
	}
	if h, ok := decide(ask, "sip:stranger@example.test"); h != Confirm || !ok {
		t.Errorf("stranger under ask-everyone: %v %v", h, ok)
	}
	if again := set(ask, false, true); !bytes.Equal(again, ask) {
		t.Errorf("asking twice changed the document")
	}
	off := set(ask, false, false)
	if _, ok := decide(off, "sip:stranger@example.test"); ok {
		t.Errorf("stranger still decided by a rule:\n%s", off)
	}

	oma, err := NewOMARuleset("http://x/xcap-root/resource-lists/users/sip:alice@example.test/index", "sip:alice@example.test")
	if err != nil {
		t.Fatal(err)
	}
	wantUnlisted(oma, UnlistedAsk, "python-sipsimple's default")
	allow := set(oma, false, false)
	wantUnlisted(allow, UnlistedAllow, "Blink's allow-unlisted")
	if !bytes.Contains(allow, []byte(OMARuleAllowUnlisted)) || bytes.Contains(allow, []byte(`"`+OMARuleUnlisted+`"`)) {
		t.Errorf("Blink's allow-unlisted is not its own rule:\n%s", allow)
	}
	if h, _ := decide(allow, "sip:stranger@example.test"); h != Allow {
		t.Errorf("stranger under allow-unlisted: %v", h)
	}
	back := set(allow, true, true)
	if h, _ := decide(back, "sip:stranger@example.test"); h != Confirm {
		t.Errorf("stranger back to asking: %v", h)
	}
}

// FuzzSetUnlisted: whatever the document, SetUnlisted either refuses it or
// returns a ruleset that says what was asked.
func FuzzSetUnlisted(f *testing.F) {
	f.Add([]byte(""), false, true)
	f.Add([]byte(omaDoc), true, false)
	f.Add([]byte(`<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy"><cp:rule id="sipbuddy_ask_everyone"/></cp:ruleset>`), false, false)
	f.Fuzz(func(t *testing.T, doc []byte, oma, ask bool) {
		out, err := SetUnlisted(doc, oma, ask)
		if err != nil {
			return
		}
		u, err := UnlistedOf(out)
		if err != nil {
			t.Fatalf("edited document does not parse: %v\n%s", err, out)
		}
		if ask != (u == UnlistedAsk) {
			t.Fatalf("ask=%v, but %v:\n%s", ask, u, out)
		}
	})
}
