package resourcelists

import (
	"fmt"
	"testing"
)

// bigBlinkDocument is Blink's document with n more contacts in "Friends",
// each also in sipbuddy's buddies list.
func bigBlinkDocument(b *testing.B, n int) *Document {
	d := mustParseB(b, blinkIndexB(b))
	for i := range n {
		if err := d.Add("Friends", fmt.Sprintf("sip:user%d@example.test", i), fmt.Sprintf("User %d", i)); err != nil {
			b.Fatal(err)
		}
	}
	return d
}

// BenchmarkGroups1000 measures reading the groups of a 1,000-buddy Blink
// document: go test -bench Groups -benchmem ./xcap/resourcelists/
func BenchmarkGroups1000(b *testing.B) {
	d := bigBlinkDocument(b, 1000)
	b.ResetTimer()
	for range b.N {
		if gs := d.Groups(); len(gs) != 3 {
			b.Fatalf("%d groups", len(gs))
		}
	}
}

// BenchmarkMoveEntry1000 measures one move in that document.
func BenchmarkMoveEntry1000(b *testing.B) {
	d := bigBlinkDocument(b, 1000)
	b.ResetTimer()
	for i := range b.N {
		target := "Work"
		if i%2 == 1 {
			target = "Friends"
		}
		if err := d.MoveEntry("sip:user500@example.test", target); err != nil {
			b.Fatal(err)
		}
	}
}
