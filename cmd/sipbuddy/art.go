package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sipbuddy/sipbuddy/tui/art"
)

const artUsage = `usage: sipbuddy art FILE [--size COLSxROWS] [--mode M] [--symbols SET] [--colors C]
  prints FILE as the buddy list draws an icon: checked like an upload,
  centre-cropped to a square, then drawn in COLSxROWS terminal cells
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
	mode := fs.String("mode", art.Symbols.String(), "symbols, halfblock, ascii or plain")
	symbols := fs.String("symbols", art.DefaultSymbols.String(), "glyph classes for symbols mode: half, quad, sextant, octant, all (joined by +)")
	colors := fs.String("colors", "truecolor", "colour depth for symbols mode: truecolor or 256")
	// The file may come before the flags (sipbuddy art FILE --size 32x16).
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
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
	var o art.Options
	if o.Mode, err = art.ParseMode(*mode); err != nil {
		return fail(err)
	}
	if o.Symbols, err = art.ParseSymbols(*symbols); err != nil {
		return fail(err)
	}
	if o.Colors, err = art.ParseColors(*colors); err != nil {
		return fail(err)
	}
	img, err := art.LoadFile(files[0])
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, art.RenderOptions(img, cols, rows, o))
	return 0
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
