// Package avatar draws the demo buddies' icons: flat geometric scenes in a
// unit square, rasterised with 4x4 supersampling so edges are smooth and the
// result is identical on every run.
package avatar

import (
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Shape reports whether a point of the unit square (y grows downwards) is
// inside it.
type Shape func(x, y float64) bool

// Layer is one flat-coloured shape of a scene.
type Layer struct {
	Shape Shape
	Color color.NRGBA
}

// Scene is painted in order, later layers on top, and clipped to Clip (the
// whole square when nil); everything outside is transparent.
type Scene struct {
	Clip   Shape
	Layers []Layer
}

// supersample is the number of samples per pixel side.
const supersample = 4

// Render rasterises the scene into an n x n image.
func (sc Scene) Render(n int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	const k = supersample
	for py := 0; py < n; py++ {
		for px := 0; px < n; px++ {
			var r, g, b, a float64
			for sy := 0; sy < k; sy++ {
				for sx := 0; sx < k; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/k) / float64(n)
					y := (float64(py) + (float64(sy)+0.5)/k) / float64(n)
					c, ok := sc.at(x, y)
					if !ok {
						continue
					}
					fa := float64(c.A) / 255
					r += float64(c.R) * fa
					g += float64(c.G) * fa
					b += float64(c.B) * fa
					a += fa
				}
			}
			if a == 0 {
				continue
			}
			o := img.PixOffset(px, py)
			img.Pix[o+0] = uint8(math.Round(r / a))
			img.Pix[o+1] = uint8(math.Round(g / a))
			img.Pix[o+2] = uint8(math.Round(b / a))
			img.Pix[o+3] = uint8(math.Round(a * 255 / (k * k)))
		}
	}
	return img
}

func (sc Scene) at(x, y float64) (color.NRGBA, bool) {
	if sc.Clip != nil && !sc.Clip(x, y) {
		return color.NRGBA{}, false
	}
	for i := len(sc.Layers) - 1; i >= 0; i-- {
		if sc.Layers[i].Shape(x, y) {
			return sc.Layers[i].Color, true
		}
	}
	return color.NRGBA{}, false
}

// Circle is a disc.
func Circle(cx, cy, r float64) Shape {
	return func(x, y float64) bool { return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r }
}

// Ellipse is an axis-aligned ellipse.
func Ellipse(cx, cy, rx, ry float64) Shape {
	return RotEllipse(cx, cy, rx, ry, 0)
}

// RotEllipse is an ellipse turned by theta radians (clockwise on screen).
func RotEllipse(cx, cy, rx, ry, theta float64) Shape {
	s, c := math.Sincos(theta)
	return func(x, y float64) bool {
		dx, dy := x-cx, y-cy
		u, v := dx*c+dy*s, -dx*s+dy*c
		return (u*u)/(rx*rx)+(v*v)/(ry*ry) <= 1
	}
}

// Rect is an axis-aligned rectangle.
func Rect(x0, y0, x1, y1 float64) Shape {
	return func(x, y float64) bool { return x >= x0 && x <= x1 && y >= y0 && y <= y1 }
}

// RoundRect is a rectangle with corners rounded to radius r.
func RoundRect(x0, y0, x1, y1, r float64) Shape {
	return func(x, y float64) bool {
		if x < x0 || x > x1 || y < y0 || y > y1 {
			return false
		}
		cx := math.Max(x0+r, math.Min(x, x1-r))
		cy := math.Max(y0+r, math.Min(y, y1-r))
		return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
	}
}

// Ring is the band between radii r0 < r1.
func Ring(cx, cy, r0, r1 float64) Shape {
	return Minus(Circle(cx, cy, r1), Circle(cx, cy, r0))
}

// Arc is the part of a ring between angles a0 and a1 (degrees, 0 = right,
// 90 = down).
func Arc(cx, cy, r0, r1, a0, a1 float64) Shape {
	ring := Ring(cx, cy, r0, r1)
	return func(x, y float64) bool {
		if !ring(x, y) {
			return false
		}
		a := math.Atan2(y-cy, x-cx) * 180 / math.Pi
		for a < a0 {
			a += 360
		}
		return a <= a1
	}
}

// Segment is a line from (x0,y0) to (x1,y1) of width w with round caps.
func Segment(x0, y0, x1, y1, w float64) Shape {
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	return func(x, y float64) bool {
		t := 0.0
		if l2 > 0 {
			t = math.Max(0, math.Min(1, ((x-x0)*dx+(y-y0)*dy)/l2))
		}
		px, py := x0+t*dx-x, y0+t*dy-y
		return px*px+py*py <= w*w/4
	}
}

// Polygon is the even-odd interior of the closed polyline pts.
func Polygon(pts ...[2]float64) Shape {
	return func(x, y float64) bool {
		in := false
		for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
			xi, yi, xj, yj := pts[i][0], pts[i][1], pts[j][0], pts[j][1]
			if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
				in = !in
			}
		}
		return in
	}
}

// Star is a regular star with n points, pointing up.
func Star(cx, cy, rOuter, rInner float64, n int) Shape {
	pts := make([][2]float64, 0, 2*n)
	for i := 0; i < 2*n; i++ {
		r := rOuter
		if i%2 == 1 {
			r = rInner
		}
		a := -math.Pi/2 + float64(i)*math.Pi/float64(n)
		pts = append(pts, [2]float64{cx + r*math.Cos(a), cy + r*math.Sin(a)})
	}
	return Polygon(pts...)
}

// Gear is a cog: a disc of radius r with n teeth reaching rTooth, and a
// hole of radius rHole.
func Gear(cx, cy, r, rTooth, toothWidth, rHole float64, n int) Shape {
	return func(x, y float64) bool {
		dx, dy := x-cx, y-cy
		d := math.Hypot(dx, dy)
		if d < rHole || d > rTooth {
			return false
		}
		if d <= r {
			return true
		}
		a := math.Atan2(dy, dx)
		step := 2 * math.Pi / float64(n)
		a = math.Mod(a+2*math.Pi+step/2, step) - step/2 // angle to the nearest tooth axis
		return math.Abs(d*math.Sin(a)) <= toothWidth/2
	}
}

// HalfPlane is everything with y below (greater than) y0 when below is
// true, or above it otherwise.
func HalfPlane(y0 float64, below bool) Shape {
	return func(_, y float64) bool { return (y >= y0) == below }
}

// Union is inside any of the shapes.
func Union(shapes ...Shape) Shape {
	return func(x, y float64) bool {
		for _, s := range shapes {
			if s(x, y) {
				return true
			}
		}
		return false
	}
}

// Inter is inside all of the shapes.
func Inter(shapes ...Shape) Shape {
	return func(x, y float64) bool {
		for _, s := range shapes {
			if !s(x, y) {
				return false
			}
		}
		return true
	}
}

// Minus is inside a but not inside b.
func Minus(a, b Shape) Shape {
	return func(x, y float64) bool { return a(x, y) && !b(x, y) }
}

// Offset moves a shape by (dx, dy).
func Offset(s Shape, dx, dy float64) Shape {
	return func(x, y float64) bool { return s(x-dx, y-dy) }
}

// Text is s in basicfont's 7x13 face, made bold by doubling every stroke
// one pixel to the right, with its ink box centred on (cx, cy) and each font
// pixel px units wide, or less so that the ink is at most maxW wide.
func Text(s string, cx, cy, px, maxW float64) Shape {
	f := basicfont.Face7x13
	w := f.Advance*len(s) + 1
	h := f.Ascent + f.Descent
	mask := image.NewAlpha(image.Rect(0, 0, w, h))
	for shift := 0; shift <= 1; shift++ {
		d := font.Drawer{Dst: mask, Src: image.Opaque, Face: f, Dot: fixed.P(shift, f.Ascent)}
		d.DrawString(s)
	}
	ink := image.Rectangle{}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if mask.AlphaAt(x, y).A >= 128 {
				ink = ink.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	px = math.Min(px, maxW/float64(max(1, ink.Dx())))
	x0 := cx - float64(ink.Dx())*px/2
	y0 := cy - float64(ink.Dy())*px/2
	return func(x, y float64) bool {
		mx := int(math.Floor((x-x0)/px)) + ink.Min.X
		my := int(math.Floor((y-y0)/px)) + ink.Min.Y
		if !(image.Point{mx, my}.In(ink)) {
			return false
		}
		return mask.AlphaAt(mx, my).A >= 128
	}
}
