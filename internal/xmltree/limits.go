package xmltree

import (
	"fmt"
)

// Limits bound the work Parse does on one document, so a hostile body costs
// at most this much. A zero field takes the value of DefaultLimits.
type Limits struct {
	// MaxBytes is the largest document accepted, in bytes.
	MaxBytes int
	// MaxDepth is the deepest element nesting accepted.
	MaxDepth int
	// MaxElements bounds the number of elements.
	MaxElements int
	// MaxNodes bounds the number of nodes of every kind (elements, runs
	// of text, comments, processing instructions, directives).
	MaxNodes int
	// MaxAttrs bounds the attributes of one element, namespace
	// declarations included.
	MaxAttrs int
	// MaxAttrLen bounds the length of one attribute value, in bytes.
	MaxAttrLen int
}

// DefaultLimits suit the documents SIP SIMPLE carries (PIDF, watcherinfo,
// XCAP resource-lists and pres-rules) with a wide margin.
var DefaultLimits = Limits{
	MaxBytes:    1 << 20,
	MaxDepth:    64,
	MaxElements: 100_000,
	MaxNodes:    200_000,
	MaxAttrs:    256,
	MaxAttrLen:  64 << 10,
}

// withDefaults fills the zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxBytes, DefaultLimits.MaxBytes)
	def(&l.MaxDepth, DefaultLimits.MaxDepth)
	def(&l.MaxElements, DefaultLimits.MaxElements)
	def(&l.MaxNodes, DefaultLimits.MaxNodes)
	def(&l.MaxAttrs, DefaultLimits.MaxAttrs)
	def(&l.MaxAttrLen, DefaultLimits.MaxAttrLen)
	return l
}

// What a LimitError is about, for the limits of this package. Other
// packages (xcap/icon: image size and pixels) name their own.
const (
	WhatSize     = "document size"
	WhatDepth    = "nesting depth"
	WhatElements = "number of elements"
	WhatNodes    = "number of nodes"
	WhatAttrs    = "number of attributes on one element"
	WhatAttrLen  = "attribute value length"
)

// Unit tells how a LimitError prints its numbers.
type Unit uint8

// Units of LimitError values.
const (
	Count  Unit = iota // a plain number
	Bytes              // a size: "64 KiB", "1.5 MiB (1572864 bytes)"
	Pixels             // "4096 pixels", "16.8 megapixels" from a million on
)

// LimitError is the one error sipbuddy returns for input over a named
// limit: an XML document too large, too deep or with too many nodes, an
// image with too many pixels, an HTTP body or a file too large. Callers
// test for it with errors.As and read What to tell the limits apart.
type LimitError struct {
	What   string // what was measured, in words ("document size", "image side")
	Limit  int64
	Actual int64 // 0 when the reader stopped at the limit without measuring further
	Unit   Unit
}

func (e *LimitError) Error() string {
	if e.Actual > e.Limit {
		return fmt.Sprintf("%s is %s, the limit is %s", e.What, e.Unit.format(e.Actual), e.Unit.format(e.Limit))
	}
	return fmt.Sprintf("%s is over the limit of %s", e.What, e.Unit.format(e.Limit))
}

func (u Unit) format(n int64) string {
	switch u {
	case Bytes:
		return byteSize(n)
	case Pixels:
		if n >= 1_000_000 {
			return fmt.Sprintf("%.1f megapixels", float64(n)/1e6)
		}
		return fmt.Sprintf("%d pixels", n)
	}
	return fmt.Sprint(n)
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB (%d bytes)", float64(n)/(1<<10), n)
	}
	return fmt.Sprintf("%d bytes", n)
}

// TooLarge returns the LimitError for n bytes over limit bytes: a
// document, an image, a body or a file checked before it is read.
func TooLarge(what string, n, limit int64) *LimitError {
	return &LimitError{What: what, Limit: limit, Actual: n, Unit: Bytes}
}
