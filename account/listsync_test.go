package account

import (
	"maps"
	"slices"
	"testing"

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
