package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"

	"github.com/sipbuddy/sipbuddy/internal/flagargs"
	"github.com/sipbuddy/sipbuddy/tui/art"
)

const artUsage = `usage: sipbuddy art FILE [--size COLSxROWS] [--mode M] [--symbols SET] [--colors C] [--cell WxH]
  prints FILE as the buddy list draws an icon: checked like an upload,
  centre-cropped to a square, then drawn in COLSxROWS terminal cells;
  modes kitty, kitty-direct, sixel and iterm2 draw real pixels
`

// defaultArtCols and defaultArtRows are the size "sipbuddy art" draws in
// without --size: the detail pane's icon.
const (
	defaultArtCols = 16
	defaultArtRows = 8
)

// artCmd implements "sipbuddy art": it prints exactly what the buddy list
// would draw for an icon, so a user can preview their picture and compare
// it with other tools.
func artCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("art", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, artUsage); fs.PrintDefaults() }
	size := fs.String("size", fmt.Sprintf("%dx%d", defaultArtCols, defaultArtRows), "size in terminal cells, COLSxROWS")
	mode := fs.String("mode", art.Symbols.String(), "symbols, halfblock, ascii, plain, or pixels: kitty, kitty-direct, sixel, iterm2")
	cell := fs.String("cell", fmt.Sprintf("%dx%d", art.DefaultCellWidth, art.DefaultCellHeight), "the terminal's cell size in pixels, WxH (sixel)")
	tmux := fs.Bool("tmux", false, "wrap pixel modes for tmux passthrough (needs allow-passthrough on)")
	symbols := fs.String("symbols", art.DefaultSymbols.String(), "glyph classes for symbols mode: half, quad, sextant, octant, all (joined by +)")
	colors := fs.String("colors", "truecolor", "colour depth for symbols mode: truecolor or 256")
	// The file may come before the flags (sipbuddy art FILE --size 32x16).
	files, err := flagargs.Parse(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(files) != 1 {
		fmt.Fprint(stderr, artUsage)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	cols, rows, err := parseCells(*size)
	if err != nil {
		return fail(err)
	}
	proto, protoErr := art.ParseProtocol(*mode)
	var o art.Options
	if protoErr != nil {
		if o.Mode, err = art.ParseMode(*mode); err != nil {
			return fail(fmt.Errorf("art: unknown mode %q (want symbols, halfblock, ascii, plain, kitty, kitty-direct, sixel or iterm2)", *mode))
		}
	}
	if o.Symbols, err = art.ParseSymbols(*symbols); err != nil {
		return fail(err)
	}
	if o.Colors, err = art.ParseColors(*colors); err != nil {
		return fail(err)
	}
	cw, ch, err := parseCellPixels(*cell)
	if err != nil {
		return fail(err)
	}
	img, err := art.LoadFile(files[0])
	if err != nil {
		return fail(err)
	}
	if protoErr != nil {
		fmt.Fprintln(stdout, art.RenderOptions(img, cols, rows, o))
		return 0
	}
	out, err := pixelArt(art.Graphics{Protocol: proto, Tmux: *tmux, CellWidth: cw, CellHeight: ch}, img, cols, rows)
	if err != nil {
		return fail(err)
	}
	fmt.Fprint(stdout, out)
	return 0
}

// artImageID is the kitty image id "sipbuddy art" uses: one image per run.
const artImageID = 1

// pixelArt draws img with a graphics protocol at the cursor and leaves the
// cursor at the start of the line below it.
func pixelArt(g art.Graphics, img image.Image, cols, rows int) (string, error) {
	send, err := g.Transmit(artImageID, img, cols, rows)
	if err != nil {
		return "", err
	}
	place, err := g.Place(artImageID, img, cols, rows)
	if err != nil {
		return "", err
	}
	switch g.Protocol {
	case art.KittyDirect: // the placement does not move the cursor
		return send + place + strings.Repeat("\n", rows), nil
	default: // placeholder text, sixel and iTerm2 leave the cursor on the image's last row
		return send + place + "\n", nil
	}
}

// parseCellPixels parses a cell size "WxH" in pixels.
func parseCellPixels(s string) (w, h int, err error) {
	a, b, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "x")
	if ok {
		w, err = strconv.Atoi(a)
		if err == nil {
			h, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || w < 1 || h < 1 || w > art.MaxCellPixels || h > art.MaxCellPixels {
		return 0, 0, fmt.Errorf("cell size %q: want WxH pixels, from 1x1 to %dx%d", s, art.MaxCellPixels, art.MaxCellPixels)
	}
	return w, h, nil
}

// parseCells parses "COLSxROWS" within art's limits.
func parseCells(s string) (cols, rows int, err error) {
	c, r, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "x")
	if ok {
		cols, err = strconv.Atoi(c)
		if err == nil {
			rows, err = strconv.Atoi(r)
		}
	}
	if !ok || err != nil || cols < 1 || rows < 1 || cols > art.MaxCols || rows > art.MaxRows {
		return 0, 0, fmt.Errorf("size %q: want COLSxROWS, from 1x1 to %dx%d cells", s, art.MaxCols, art.MaxRows)
	}
	return cols, rows, nil
}
