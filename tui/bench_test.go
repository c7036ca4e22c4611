package tui

import (
	"fmt"
	"image/color"
	"runtime"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// bigList builds a model of n buddies, each with its own 256x256 icon
// (the size stored on XCAP servers), at w x h, with every command run.
func bigList(tb testing.TB, n, w, h int) Model {
	tb.Helper()
	return bigGroupedList(tb, n, w, h, 0)
}

// bigGroupedList is bigList in g groups (none: the flat list); every
// tenth buddy is in two groups.
func bigGroupedList(tb testing.TB, n, w, h, g int) Model {
	tb.Helper()
	var buddies []account.Buddy
	var groups []account.Group
	for i := range g {
		groups = append(groups, account.Group{Name: fmt.Sprintf("group%02d", i), DisplayName: fmt.Sprintf("Group %02d", i)})
	}
	for i := range n {
		b := account.Buddy{URI: fmt.Sprintf("sip:user%04d@example.test", i), DisplayName: fmt.Sprintf("User %04d", i)}
		if g > 0 {
			b.Groups = []string{groups[i%g].Name}
			if i%10 == 0 {
				b.Groups = append(b.Groups, groups[(i+1)%g].Name)
			}
		}
		buddies = append(buddies, b)
	}
	msgs := []tea.Msg{tea.WindowSizeMsg{Width: w, Height: h}, account.BuddiesEvent{Buddies: buddies, Groups: groups}}
	acts := [][]string{nil, {"away"}, {"busy"}, {"on-the-phone"}, {"meeting"}}
	for i, b := range buddies {
		basic := pidf.BasicOpen
		if i%7 == 0 {
			basic = pidf.BasicClosed
		}
		// The account sends both pictures: the 256 px icon is the large one.
		img := testIcon(color.RGBA{R: uint8(i), G: uint8(i >> 8), B: 200, A: 255}, 256)
		msgs = append(msgs,
			account.PresenceEvent{URI: b.URI, State: pidf.State{Basic: basic, Activities: acts[i%len(acts)], Note: fmt.Sprintf("note number %d", i)}},
			account.IconEvent{URI: b.URI, Hash: fmt.Sprintf("%040x", i+1), Thumb: img, Large: img})
	}
	m := drive(tb, newTestModel(Options{}), msgs...)
	if len(m.list.visible) != n {
		tb.Fatalf("%d buddies visible", len(m.list.visible))
	}
	return m
}

// BenchmarkView1000 measures one frame of a 1,000-buddy list with icons at
// 120x40 (the detail pane on the right), scrolled to the middle.
func BenchmarkView1000(b *testing.B) {
	m := bigList(b, 1000, 120, 40)
	m = drive(b, m, keyMsg("G"))
	for range 500 {
		m = drive(b, m, keyMsg("up"))
	}
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkView1000Narrow is the same at 80x24.
func BenchmarkView1000Narrow(b *testing.B) {
	m := bigList(b, 1000, 80, 24)
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkPresenceUpdate1000 measures handling one NOTIFY's presence in a
// 1,000-buddy list (re-sort and re-filter included).
func BenchmarkPresenceUpdate1000(b *testing.B) {
	m := bigList(b, 1000, 120, 40)
	i := 0
	for b.Loop() {
		i++
		ev := account.PresenceEvent{URI: fmt.Sprintf("sip:user%04d@example.test", i%1000), State: pidf.State{Basic: pidf.BasicOpen, Activities: []string{"away"}[:i%2]}}
		nm, _ := m.Update(ev)
		m = nm.(Model)
	}
}

// BenchmarkPresenceUpdate1000Groups is BenchmarkPresenceUpdate1000 with
// the buddies in 20 groups, a tenth of them in two, scrolled to the middle.
func BenchmarkPresenceUpdate1000Groups(b *testing.B) {
	m := bigGroupedList(b, 1000, 120, 40, 20)
	for range 500 {
		m = drive(b, m, keyMsg("down"))
	}
	i := 0
	for b.Loop() {
		i++
		ev := account.PresenceEvent{URI: fmt.Sprintf("sip:user%04d@example.test", i%1000), State: pidf.State{Basic: pidf.BasicOpen, Activities: []string{"away"}[:i%2]}}
		nm, _ := m.Update(ev)
		m = nm.(Model)
	}
}

// BenchmarkMemory1000 reports the heap the model keeps for 1,000 buddies
// with icons (thumbnails, the MaxLargeThumbs large pictures and rendered
// art, after the other decoded images were dropped).
func BenchmarkMemory1000(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := bigList(b, 1000, 120, 40)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB/1000buddies")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1000, "B/buddy")
		runtime.KeepAlive(m)
	}
}
