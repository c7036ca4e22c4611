package tui

import (
	"fmt"
	"image"
	"image/color"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/sipbuddy/sipbuddy/account"
)

// benchIconOnScreen measures an icon's way to the screen: a new icon of
// the first row arrives (account.IconEvent), Update stores its thumbnail,
// the command renders its art (text) or encodes its transmission (kitty)
// off the loop, Update queues the bytes, and View draws the frame that
// holds it. The synchronous driver runs every command at once; on a real
// terminal Bubble Tea adds up to one frame (1/60 s), and kitty-direct
// waits directPlaceDelay for the frame before placing the image.
func benchIconOnScreen(b *testing.B, mode string, replies []tea.Msg) {
	d := newGDriver(b, Options{ArtMode: mode})
	d.send(tea.WindowSizeMsg{Width: 120, Height: 40}, tea.ColorProfileMsg{Profile: colorprofile.TrueColor})
	d.send(replies...)
	d.send(probeExpiredMsg{})
	evs, _ := iconList(50)
	for _, ev := range evs {
		d.send(ev)
	}
	first := d.m.list.visible[0]
	// The account's thumbnails are account.ThumbSide a side.
	thumbs := []image.Image{testIcon(color.RGBA{R: 200, A: 255}, account.ThumbSide), testIcon(color.RGBA{G: 200, A: 255}, account.ThumbSide)}
	cols, rows := d.m.list.layout(120).iconCols, d.m.list.rowHeight
	i := 0
	for b.Loop() {
		i++
		hash := fmt.Sprintf("%040x", 1<<40+i) // new content: a new transmission
		d.send(account.IconEvent{URI: first.URI, Hash: hash, Thumb: thumbs[i%2]})
		_ = d.m.View()
		if _, ok := d.m.arts.get(d.m.artKey(hash, cols, rows)); !ok {
			b.Fatal("the new icon is not on screen after its event")
		}
	}
}

func BenchmarkIconOnScreenKitty(b *testing.B) {
	benchIconOnScreen(b, "auto", kittyReplies("kitty(0.41.1)"))
}

func BenchmarkIconOnScreenKittyDirect(b *testing.B) {
	benchIconOnScreen(b, "auto", kittyReplies("kitty(0.26.5)"))
}

func BenchmarkIconOnScreenSymbols(b *testing.B) {
	benchIconOnScreen(b, "symbols", nil)
}
