package tui

import "github.com/sipbuddy/sipbuddy/tui/art"

// artCycle is the order the m key steps through the text art modes (after
// the pixel mode the terminal answered for: renderCycle).
var artCycle = []art.Mode{art.Symbols, art.HalfBlock, art.ASCII, art.Plain}

// detailFieldLines is how many lines of fields the right-hand detail pane
// keeps below its icon and title.
const detailFieldLines = 10

// detailIconSize is the detail pane's icon size in cells for a pane of
// w x h: beside the fields in the pane below the list, or as wide as the
// right-hand pane (square, so half as many rows) as far as its height
// leaves room for the title and detailFieldLines.
func detailIconSize(w, h int, right bool) (cols, rows int) {
	if !right {
		return detailIconCols, detailIconRows
	}
	innerW := max(0, w-4)
	rows = min(innerW/2, h-2-3-1-detailFieldLines)
	if rows < detailIconRows {
		return detailIconCols, detailIconRows
	}
	return 2 * rows, rows
}
