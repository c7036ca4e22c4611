package account

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/xcapdiff"
)

// TestNoteDiff: the first xcap-diff document lists what is there (only a
// buddy list other than the one read is news); later ones report what
// changed, an ETag already known (my own write of the list) being none.
func TestNoteDiff(t *testing.T) {
	var l listSync
	l.init("sip:me@example.test")
	l.etag = "e1"
	const (
		lists = "resource-lists/users/sip:me@example.test/index"
		rules = "pres-rules/users/sip:me@example.test/index"
		icon  = "oma_status-icon/users/sip:me@example.test/index"
	)
	step := func(docs ...xcapdiff.DocumentChange) []string {
		l.noteDiff(&xcapdiff.Diff{XCAPRoot: "http://x/xcap-root", Documents: docs})
		got := slices.Sorted(maps.Keys(l.changed))
		l.changed = map[string]bool{}
		return got
	}
	for _, c := range []struct {
		name string
		docs []xcapdiff.DocumentChange
		want []string
	}{
		{"the first listing", []xcapdiff.DocumentChange{{Sel: lists, NewETag: `"e1"`}, {Sel: rules, NewETag: "r1"}, {Sel: icon, NewETag: "i1"}}, nil},
		{"pres-rules changed", []xcapdiff.DocumentChange{{Sel: rules, PreviousETag: "r1", NewETag: "r2"}}, []string{"pres-rules"}},
		{"the same again", []xcapdiff.DocumentChange{{Sel: rules, PreviousETag: "r1", NewETag: "r2"}}, nil},
		{"the list as read", []xcapdiff.DocumentChange{{Sel: lists, PreviousETag: "e0", NewETag: "e1"}}, nil},
		{"the list edited elsewhere, icon deleted", []xcapdiff.DocumentChange{{Sel: lists, PreviousETag: "e1", NewETag: "e2"}, {Sel: icon, PreviousETag: "i1"}}, []string{"oma_status-icon", "resource-lists"}},
	} {
		if got := step(c.docs...); !slices.Equal(got, c.want) {
			t.Errorf("%s: changed %v, want %v", c.name, got, c.want)
		}
	}
	if !sameETag(`W/"abc"`, "abc") || sameETag("abc", "abd") {
		t.Error("sameETag")
	}
}

// TestDocChanged: a polled document is news on its first read, when it is
// created, rewritten or deleted, and not while it stays as it was (a 304,
// or a 404 again).
func TestDocChanged(t *testing.T) {
	s := startServer(t, 0, false, false)
	a, err := New(Options{
		Options:  ua.Options{AOR: testerAOR, Password: "pw", Proxy: s.Proxy()},
		XCAPRoot: s.XCAPRoot(), CacheDir: t.TempDir(), NoTrace: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.cancel)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	xc := s.xcapOf(t, "tester")
	put := func(note string) {
		t.Helper()
		doc, err := pidf.Encode(pidf.Publication{Entity: testerAOR, TupleID: offlineTupleID, Note: note})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := xc.Put(ctx, offlineAUID, offlinePath, doc, offlineContentType, xcap.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, step := range []struct {
		what string
		do   func()
		want bool
	}{
		{"first read, no document", func() {}, true},
		{"still none", func() {}, false},
		{"created", func() { put("away") }, true},
		{"unchanged", func() {}, false},
		{"rewritten", func() { put("on holiday") }, true},
		{"deleted", func() {
			if _, err := xc.Delete(ctx, offlineAUID, offlinePath, xcap.Condition{}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"still deleted", func() {}, false},
	} {
		step.do()
		if got := a.docChanged(ctx, offlineAUID, offlinePath); got != step.want {
			t.Errorf("step %d (%s): changed %v, want %v", i, step.what, got, step.want)
		}
	}
}
