package presrules

import (
	"strings"
	"testing"
)

// FuzzAnchorList: any anchor is read without panicking, and the anchor
// python-sipsimple writes for a list name reads back as that name.
func FuzzAnchorList(f *testing.F) {
	f.Add(ListAnchor(blinkListsURL, "oma_grantedcontacts"), "oma_blockedcontacts")
	f.Add("http://x/~~/resource-lists/list%5B@name=%22a%22%5D", "b")
	f.Fuzz(func(t *testing.T, anchor, name string) {
		AnchorList(anchor)
		if name == "" || strings.ContainsAny(name, "\"/%") {
			return
		}
		if got, ok := AnchorList(ListAnchor(blinkListsURL, name)); !ok || got != name {
			t.Fatalf("AnchorList(ListAnchor(%q)) = %q, %v", name, got, ok)
		}
	})
}

// FuzzWatchers reads any pair of documents; every watcher it lists is
// decided as Explain decides it, and an edit of a listed watcher in the
// OMA layout gives the asked-for decision or says why not.
func FuzzWatchers(f *testing.F) {
	f.Add([]byte(`<cp:ruleset xmlns:cp="urn:ietf:params:xml:ns:common-policy" xmlns:ocp="urn:oma:xml:xdm:common-policy"><cp:rule id="r"><cp:conditions><ocp:external-list><ocp:entry anc="http://x/~~/resource-lists/list[@name=&quot;g&quot;]"/></ocp:external-list></cp:conditions></cp:rule></cp:ruleset>`),
		[]byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="g"><entry uri="sip:a@b.test"/></list></resource-lists>`), "sip:w@b.test")
	f.Fuzz(func(t *testing.T, rules, lists []byte, watcher string) {
		ws, err := Watchers(rules, lists, watcher)
		if err != nil {
			return
		}
		for _, w := range ws {
			if w.Handling < Block || w.Handling > Allow {
				t.Fatalf("%+v: no handling", w)
			}
		}
		if len(ws) == 0 {
			return
		}
		r2, l2, err := SetWatcherOMA(rules, lists, "http://x", "sip:self@b.test", ws[0].Watcher, Allow)
		if err != nil {
			return
		}
		if _, err := Watchers(r2, l2); err != nil {
			t.Fatalf("edited documents do not read: %v", err)
		}
	})
}
