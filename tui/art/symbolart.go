package art

import (
	"fmt"
	"image"
	"strings"
	"sync"

	"github.com/sipbuddy/sipbuddy/tui/art/glyph"
)

// Colors is the colour depth symbol art is drawn for.
type Colors uint8

const (
	// TrueColor draws 24-bit colours (SGR 38;2 / 48;2).
	TrueColor Colors = iota
	// ANSI256 draws xterm palette colours 16-255 (SGR 38;5 / 48;5), each
	// chosen with the same Oklab error the glyphs are chosen with, so
	// gradients do not band the way per-channel rounding makes them.
	ANSI256
)

// paletteCandidates is how many of a cell's best glyphs (by unquantised
// error) ANSI256 re-scores with palette colours: the best glyph in truecolour
// is not always the best once both colours snap to the palette.
const paletteCandidates = 4

// colMask is the coverage mask of a cell's left column (the right one is
// colMask << glyph.Bands).
const colMask = 1<<glyph.Bands - 1

// pen colours for indexed palette entries: 1<<25 | index.
const indexedPen pen = 1 << 25

// symbolTable is one symbol set's glyphs with the lookups rendering needs.
type symbolTable struct {
	glyphs []glyph.Glyph
	// distinct lists the glyphs worth scoring: of a glyph and its
	// complement (the same picture with the colours swapped) only one.
	distinct []glyph.Glyph
	byCover  map[uint16]rune
}

var symbolTables sync.Map // glyph.Set -> *symbolTable

func tableFor(set glyph.Set) *symbolTable {
	if t, ok := symbolTables.Load(set); ok {
		return t.(*symbolTable)
	}
	t := &symbolTable{glyphs: glyph.Glyphs(set), byCover: map[uint16]rune{}}
	for _, g := range t.glyphs {
		t.byCover[g.Cover] = g.Rune
	}
	for _, g := range t.glyphs {
		if _, ok := t.byCover[glyph.Full^g.Cover]; !ok || g.Cover < glyph.Full^g.Cover {
			t.distinct = append(t.distinct, g)
		}
	}
	symbolTables.Store(set, t)
	return t
}

// cellChoice is what one cell shows.
type cellChoice struct {
	cover  uint16
	fg, bg pen
}

// atomAlphaThreshold: an atom whose mean alpha is below it shows the
// terminal's background (as alphaThreshold does for half blocks).
const atomAlphaThreshold = alphaThreshold

func renderSymbols(img image.Image, cols, rows int, set glyph.Set, colors Colors) string {
	if set&glyph.All == 0 {
		set = glyph.Default
	}
	// Each cell is sampled as two columns of glyph.CellH rows, every sample
	// 3 units wide and 1 tall (cells are 6x12 units).
	grid := fitArea(img, cols*2, rows*glyph.CellH, glyph.CellW/2, 1)
	t := tableFor(set & glyph.All)
	cells := make([]cellChoice, cols*rows)
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			cells[y*cols+x] = t.chooseCell(grid, x, y, colors)
		}
	}
	return t.encode(cells, cols, rows)
}

// atoms holds one cell's atoms: mean colour, weight (height in units), and
// whether each is opaque.
type atoms struct {
	col    [glyph.Atoms]rgbf
	weight [glyph.Atoms]float32
	opaque uint16
}

func readAtoms(grid *image.RGBA, x, y int) atoms {
	var a atoms
	for c := 0; c < 2; c++ {
		for k := 0; k < glyph.Bands; k++ {
			var r, g, b, al uint32
			top, end := glyph.Band(k)
			for row := top; row < end; row++ {
				p := grid.Pix[(y*glyph.CellH+row)*grid.Stride+(2*x+c)*4:]
				r, g, b, al = r+uint32(p[0]), g+uint32(p[1]), b+uint32(p[2]), al+uint32(p[3])
			}
			h := uint32(end - top)
			i := c*glyph.Bands + k
			a.weight[i] = float32(h)
			if al < atomAlphaThreshold*h || al == 0 {
				continue
			}
			a.opaque |= 1 << i
			// Un-premultiply the band's sums.
			a.col[i] = toRGBF(uint8(min(255, (r*255+al/2)/al)), uint8(min(255, (g*255+al/2)/al)), uint8(min(255, (b*255+al/2)/al)))
		}
	}
	return a
}

// columnSums holds, for every subset of one column's six bands, the
// weighted colour sum and the weight of the opaque atoms in it.
type columnSums struct {
	sum    [1 << glyph.Bands]rgbf
	weight [1 << glyph.Bands]float32
}

func (cs *columnSums) fill(a *atoms, col int) {
	for s := 1; s < 1<<glyph.Bands; s++ {
		low := s & -s
		k := bitIndex(low)
		i := col*glyph.Bands + k
		prev := s &^ low
		cs.sum[s], cs.weight[s] = cs.sum[prev], cs.weight[prev]
		if a.opaque&(1<<i) != 0 {
			cs.sum[s] = cs.sum[s].add(a.col[i].scale(a.weight[i]))
			cs.weight[s] += a.weight[i]
		}
	}
}

func bitIndex(low int) int {
	n := 0
	for low > 1 {
		low >>= 1
		n++
	}
	return n
}

// chooseCell picks the glyph and colours of cell (x, y) with the least
// squared Oklab error. For a glyph the best colours are the means of the
// atoms it covers and leaves, and its error is a constant minus
// |S_fg|²/n_fg + |S_bg|²/n_bg (S a colour sum, n a weight), so only that
// gain is computed per glyph.
func (t *symbolTable) chooseCell(grid *image.RGBA, x, y int, colors Colors) cellChoice {
	a := readAtoms(grid, x, y)
	if a.opaque == 0 {
		return cellChoice{}
	}
	var left, right columnSums
	left.fill(&a, 0)
	right.fill(&a, 1)
	const all = glyph.Full
	if a.opaque != all {
		return t.chooseTransparent(&a, &left, &right, colors)
	}
	total := left.sum[colMask].add(right.sum[colMask])
	totalW := left.weight[colMask] + right.weight[colMask]

	type scored struct {
		cover  uint16
		gain   float32
		fg, bg rgbf
		nf, nb float32
	}
	var best [paletteCandidates]scored
	nbest := 0
	keep := 1
	if colors == ANSI256 {
		keep = paletteCandidates
	}
	for _, g := range t.distinct {
		lo, hi := g.Cover&colMask, g.Cover>>glyph.Bands
		sf := left.sum[lo].add(right.sum[hi])
		nf := left.weight[lo] + right.weight[hi]
		sb := total.sub(sf)
		nb := totalW - nf
		var gain float32
		var fg, bg rgbf
		if nf > 0 {
			fg = sf.scale(1 / nf)
			gain += sf.norm2() / nf
		}
		if nb > 0 {
			bg = sb.scale(1 / nb)
			gain += sb.norm2() / nb
		}
		// Insert into the small sorted list of the best candidates.
		if nbest == keep && gain <= best[keep-1].gain {
			continue
		}
		i := min(nbest, keep-1)
		for i > 0 && best[i-1].gain < gain {
			best[i] = best[i-1]
			i--
		}
		best[i] = scored{g.Cover, gain, fg, bg, nf, nb}
		nbest = min(nbest+1, keep)
	}
	if colors != ANSI256 {
		b := best[0]
		b.fg, b.bg = widen(b.fg, b.bg, b.nf, b.nb)
		return cellChoice{b.cover, truePen(b.fg, b.nf), truePen(b.bg, b.nb)}
	}
	// Error with palette colours = unquantised error + n·|q(μ)-μ|² per
	// colour; the constant part is the same for every glyph.
	var choice cellChoice
	bestErr := float32(0)
	for i := 0; i < nbest; i++ {
		b := best[i]
		fi, df := nearest256(b.fg)
		bi, db := nearest256(b.bg)
		err := -b.gain + b.nf*df + b.nb*db
		if i == 0 || err < bestErr {
			bestErr = err
			choice = cellChoice{b.cover, indexedPen | pen(fi), indexedPen | pen(bi)}
			if b.nf == 0 {
				choice.fg = defaultPen
			}
			if b.nb == 0 {
				choice.bg = defaultPen
			}
		}
	}
	return choice
}

// contrastWiden is how far the two colours of a cell are pushed apart,
// as a fraction of their difference, keeping the cell's mean colour. The
// means that minimise the squared error flatten edges that fall inside a
// glyph's parts; widening them a little keeps local contrast, which is what
// makes features recognisable (fidelity benchmark: SSIM +0.002 to +0.004,
// mean squared error about 1% worse). Only truecolour widens: snapping to
// the palette already moves the colours, and widening first lost SSIM there.
const contrastWiden = 0.05

func widen(fg, bg rgbf, nf, nb float32) (rgbf, rgbf) {
	if nf == 0 || nb == 0 {
		return fg, bg
	}
	d := fg.sub(bg).scale(contrastWiden / (nf + nb))
	return fg.add(d.scale(nb)), bg.sub(d.scale(nf))
}

// truePen is the truecolour pen of c, or the default pen for an empty part.
func truePen(c rgbf, weight float32) pen {
	if weight == 0 {
		return defaultPen
	}
	r, g, b := c.bytes()
	return pen(1<<24 | uint32(r)<<16 | uint32(g)<<8 | uint32(b))
}

// chooseTransparent handles a cell that is partly transparent: the
// background must stay the terminal's own (a guessed colour would halo on
// the other kind of terminal), so the glyph is the one whose cover best
// matches the opaque atoms, drawn in their mean colour.
func (t *symbolTable) chooseTransparent(a *atoms, left, right *columnSums, colors Colors) cellChoice {
	// Weight of every subset of a column's bands (the same for both).
	var bandWeight [1 << glyph.Bands]float32
	for s := 1; s < len(bandWeight); s++ {
		low := s & -s
		bandWeight[s] = bandWeight[s&^low] + a.weight[bitIndex(low)]
	}
	bestGlyph, bestMiss := 0, float32(-1)
	for gi, g := range t.glyphs {
		if g.Cover == 0 {
			continue
		}
		diff := g.Cover ^ a.opaque
		miss := bandWeight[diff&colMask] + bandWeight[diff>>glyph.Bands]
		if bestMiss < 0 || miss < bestMiss {
			bestGlyph, bestMiss = gi, miss
		}
	}
	g := t.glyphs[bestGlyph]
	lo, hi := g.Cover&(colMask), g.Cover>>glyph.Bands
	s, n := left.sum[lo].add(right.sum[hi]), left.weight[lo]+right.weight[hi]
	if n == 0 { // the glyph covers only transparent atoms: use all opaque ones
		s = left.sum[colMask].add(right.sum[colMask])
		n = left.weight[colMask] + right.weight[colMask]
	}
	mean := s.scale(1 / n)
	if colors == ANSI256 {
		i, _ := nearest256(mean)
		return cellChoice{g.Cover, indexedPen | pen(i), defaultPen}
	}
	return cellChoice{g.Cover, truePen(mean, n), defaultPen}
}

// encode writes the cells as lines of glyphs and SGR colour changes. Like
// halfBlocks it only emits what changes and, where a glyph's complement in
// the set would need fewer changes, draws that one with swapped colours.
func (t *symbolTable) encode(cells []cellChoice, cols, rows int) string {
	const all = glyph.Full
	out := make([]byte, 0, cols*rows*40+rows*4)
	for y := 0; y < rows; y++ {
		if y > 0 {
			out = append(out, '\n')
		}
		fg, bg := defaultPen, defaultPen
		for x := 0; x < cols; x++ {
			c := cells[y*cols+x]
			cover, wantFG, wantBG := c.cover, c.fg, c.bg
			switch cover {
			case 0: // only the background shows
				wantFG = fg
				if wantBG != defaultPen && wantBG == fg && bg != wantBG {
					cover, wantBG = all, bg
				}
			case all:
				cover, wantBG, wantFG = 0, wantFG, fg
				if wantBG == fg && bg != wantBG {
					cover, wantBG = all, bg
				}
			default:
				if _, ok := t.byCover[all^cover]; ok && wantFG != defaultPen && wantBG != defaultPen {
					if btoi(fg != wantBG)+btoi(bg != wantFG) < btoi(fg != wantFG)+btoi(bg != wantBG) {
						cover, wantFG, wantBG = all^cover, wantBG, wantFG
					}
				}
			}
			out = appendSGR(out, fg, bg, wantFG, wantBG)
			fg, bg = wantFG, wantBG
			out = append(out, string(t.byCover[cover])...)
		}
		if fg != defaultPen || bg != defaultPen {
			out = append(out, "\x1b[m"...)
		}
	}
	return string(out)
}

// String returns the colour depth's name as ParseColors accepts it.
func (c Colors) String() string {
	if c == ANSI256 {
		return "256"
	}
	return "truecolor"
}

// ParseColors parses a colour depth: "truecolor" (or "24bit", "full") or
// "256".
func ParseColors(s string) (Colors, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "truecolor", "truecolour", "24bit", "24-bit", "full", "":
		return TrueColor, nil
	case "256", "ansi256":
		return ANSI256, nil
	}
	return TrueColor, fmt.Errorf("art: unknown colour depth %q (want truecolor or 256)", s)
}
