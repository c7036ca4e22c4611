package avatar

import (
	"fmt"
	"hash/fnv"
	"image/color"
	"math"
	"math/rand/v2"
	"strings"
)

// Hair is a hair style of a portrait.
type Hair int

// The hair styles; each gives a distinct silhouette even at 16x16 pixels.
const (
	Buns Hair = iota
	Curls
	SidePart
	Long
	Shaggy
	Bald
	Bob
	Wavy
	Glam
)

// Person is one demo buddy and the look of their icons.
type Person struct {
	User, DisplayName string
	Hue               color.NRGBA // identity colour, the background of every icon
	Skin, Hair, Shirt color.NRGBA
	Style             Hair
	Glasses, Beard    bool
	Earrings, Lips    bool
	Headphones        bool
	Emblem            func(ink, accent color.NRGBA) []Layer
}

func rgb(hex uint32) color.NRGBA {
	return color.NRGBA{uint8(hex >> 16), uint8(hex >> 8), uint8(hex), 0xff}
}

// shade scales a colour's brightness by f (below 1 darkens).
func shade(c color.NRGBA, f float64) color.NRGBA {
	sc := func(v uint8) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(float64(v)*f)))) }
	return color.NRGBA{sc(c.R), sc(c.G), sc(c.B), c.A}
}

func luma(c color.NRGBA) float64 {
	return 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
}

var (
	skinLight  = rgb(0xF3D2B8)
	skinMedium = rgb(0xE0AC85)
	skinTan    = rgb(0xC68A62)
	skinDark   = rgb(0x7E4E33)
	white      = rgb(0xFFFFFF)
	inkDark    = rgb(0x22262E)
)

// People are the simulated demo buddies, in roster order. Their identity
// colours are spread around the hue wheel (and in lightness where hues are
// close) so they are told apart at a glance.
var People = []Person{
	{User: "ada", DisplayName: "Ada Lovelace", Hue: rgb(0x7E57C2), Skin: skinLight, Hair: rgb(0x3B2417), Shirt: rgb(0x3A245E), Style: Buns, Earrings: true, Emblem: gear},
	{User: "grace", DisplayName: "Grace Hopper", Hue: rgb(0x24449C), Skin: skinLight, Hair: rgb(0xE2E2EA), Shirt: rgb(0x0F1A33), Style: Curls, Emblem: moth},
	{User: "alan", DisplayName: "Alan Turing", Hue: rgb(0x2E8B57), Skin: skinMedium, Hair: rgb(0x2A1B12), Shirt: rgb(0x6B5B45), Style: SidePart, Emblem: key},
	{User: "margaret", DisplayName: "Margaret Hamilton", Hue: rgb(0xF07C1E), Skin: skinLight, Hair: rgb(0x7A4A26), Shirt: rgb(0x2F5D8A), Style: Long, Glasses: true, Emblem: moon},
	{User: "katherine", DisplayName: "Katherine Johnson", Hue: rgb(0x14A39A), Skin: skinDark, Hair: rgb(0x15110F), Shirt: rgb(0xF2E6CF), Style: Curls, Glasses: true, Earrings: true, Emblem: orbit},
	{User: "dennis", DisplayName: "Dennis Ritchie", Hue: rgb(0xD83A3A), Skin: skinMedium, Hair: rgb(0x2B211C), Shirt: rgb(0x37474F), Style: Shaggy, Glasses: true, Beard: true, Emblem: prompt},
	{User: "edsger", DisplayName: "Edsger Dijkstra", Hue: rgb(0xF2C12E), Skin: skinLight, Hair: rgb(0x9E9E9E), Shirt: rgb(0x4E342E), Style: Bald, Glasses: true, Beard: true, Emblem: graph},
	{User: "barbara", DisplayName: "Barbara Liskov", Hue: rgb(0xD6408C), Skin: skinLight, Hair: rgb(0x4A3426), Shirt: rgb(0x263238), Style: Bob, Emblem: blocks},
	{User: "claude", DisplayName: "Claude Shannon", Hue: rgb(0x3BB0F0), Skin: skinTan, Hair: rgb(0x5A3A22), Shirt: rgb(0x1B3550), Style: Wavy, Emblem: wave},
	{User: "hedy", DisplayName: "Hedy Lamarr", Hue: rgb(0x8BC34A), Skin: skinLight, Hair: rgb(0x120D0B), Shirt: rgb(0x5A1E3A), Style: Glam, Lips: true, Emblem: radio},
}

// DemoUser is the demo's own user (the person at the keyboard).
var DemoUser = Person{User: "me", DisplayName: "Demo User", Hue: rgb(0x455A64), Skin: skinMedium, Hair: rgb(0x3E2723), Shirt: rgb(0xF5A623), Style: SidePart, Headphones: true, Emblem: star}

// IconsPerPerson is the number of icons Icons returns.
const IconsPerPerson = 3

// Icons returns the person's icon scenes: a portrait, an emblem and a
// monogram.
func Icons(p Person) []Scene {
	return []Scene{Portrait(p), Emblem(p), Monogram(p)}
}

func rng(p Person) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(p.User))
	return rand.New(rand.NewPCG(h.Sum64(), 0x5eed))
}

// Portrait is a head and shoulders on a disc of the person's colour.
func Portrait(p Person) Scene {
	r := rng(p)
	hx, hy := 0.5, 0.45
	head := Ellipse(hx, hy, 0.18, 0.215)
	cap := Inter(Ellipse(hx, hy-0.01, 0.2, 0.235), HalfPlane(0.355, false))
	jit := func(v float64) float64 { return v + (r.Float64()-0.5)*0.02 }
	curls := func(rad, cr float64, from, to, step float64) Shape {
		var cs []Shape
		for a := from; a <= to; a += step {
			t := a * math.Pi / 180
			cs = append(cs, Circle(jit(hx+rad*math.Cos(t)), jit(hy-0.02+rad*1.1*math.Sin(t)), cr))
		}
		return Union(cs...)
	}
	var back, front []Shape
	switch p.Style {
	case Buns:
		back = []Shape{Ellipse(hx, hy, 0.235, 0.25)}
		front = []Shape{
			Minus(cap, Rect(0.494, 0.2, 0.506, 0.36)),
			Circle(0.30, 0.50, 0.065), Circle(0.70, 0.50, 0.065),
			Circle(0.31, 0.61, 0.055), Circle(0.69, 0.61, 0.055),
		}
	case Curls:
		front = []Shape{cap, curls(0.19, 0.07, 185, 355, 17)}
	case SidePart:
		front = []Shape{cap, Polygon([2]float64{0.31, 0.30}, [2]float64{0.66, 0.28}, [2]float64{0.45, 0.40}, [2]float64{0.31, 0.42})}
	case Long:
		back = []Shape{Union(Ellipse(hx, hy, 0.245, 0.27), Rect(0.255, 0.45, 0.745, 0.78))}
		front = []Shape{Minus(cap, Rect(0.494, 0.2, 0.506, 0.36))}
	case Shaggy:
		back = []Shape{Inter(Ellipse(hx, hy-0.01, 0.225, 0.25), HalfPlane(0.53, false))}
		front = []Shape{cap, Polygon([2]float64{0.30, 0.33}, [2]float64{0.70, 0.33}, [2]float64{0.62, 0.40}, [2]float64{0.5, 0.37}, [2]float64{0.38, 0.40})}
	case Bald:
		back = []Shape{Ellipse(0.325, 0.43, 0.045, 0.09), Ellipse(0.675, 0.43, 0.045, 0.09)}
	case Bob:
		back = []Shape{Inter(Ellipse(hx, hy, 0.245, 0.27), HalfPlane(0.61, false))}
		front = []Shape{Inter(Ellipse(hx, hy-0.01, 0.2, 0.235), HalfPlane(0.345, false))}
	case Wavy:
		front = []Shape{cap, curls(0.17, 0.085, 200, 340, 35)}
	case Glam:
		back = []Shape{Union(Ellipse(hx, hy+0.02, 0.26, 0.29), Rect(0.24, 0.45, 0.76, 0.8), curls(0.25, 0.06, -20, 200, 22))}
		front = []Shape{cap, Polygon([2]float64{0.30, 0.30}, [2]float64{0.70, 0.27}, [2]float64{0.70, 0.36}, [2]float64{0.42, 0.44}, [2]float64{0.30, 0.40})}
	}

	dark := rgb(0x2B1D16)
	bg := Circle(0.5, 0.5, 0.5)
	layers := []Layer{
		{Rect(0, 0, 1, 1), p.Hue},
		{Circle(0.5, 0.5, 0.44), shade(p.Hue, 1.08)},
	}
	for _, s := range back {
		layers = append(layers, Layer{s, p.Hair})
	}
	layers = append(layers,
		Layer{Rect(0.445, 0.58, 0.555, 0.75), shade(p.Skin, 0.86)},
		Layer{Ellipse(0.5, 1.0, 0.36, 0.3), p.Shirt},
		Layer{Polygon([2]float64{0.43, 0.70}, [2]float64{0.57, 0.70}, [2]float64{0.5, 0.80}), shade(p.Skin, 0.86)},
		Layer{Union(Circle(0.32, 0.47, 0.04), Circle(0.68, 0.47, 0.04)), shade(p.Skin, 0.95)},
		Layer{head, p.Skin},
	)
	if p.Beard {
		// Sideburns down the cheeks into a full beard below the mouth line,
		// leaving the upper cheeks and the smile line bare.
		beard := Union(
			Inter(Ellipse(hx, hy+0.02, 0.187, 0.23), HalfPlane(0.575, true)),
			Inter(Ellipse(hx, hy, 0.185, 0.22), HalfPlane(0.46, true), func(x, _ float64) bool { return x < 0.355 || x > 0.645 }),
			Ellipse(0.5, 0.575, 0.085, 0.028),
		)
		layers = append(layers, Layer{beard, p.Hair})
	}
	for _, s := range front {
		layers = append(layers, Layer{s, p.Hair})
	}
	layers = append(layers, Layer{Union(Circle(0.43, 0.47, 0.03), Circle(0.57, 0.47, 0.03)), dark})
	if p.Lips {
		layers = append(layers, Layer{Ellipse(0.5, 0.585, 0.055, 0.024), rgb(0xC62839)})
	} else if !p.Beard {
		layers = append(layers, Layer{Arc(0.5, 0.5, 0.08, 0.105, 30, 150), rgb(0x8A2E2E)})
	}
	if p.Glasses {
		frame := Union(Ring(0.43, 0.47, 0.05, 0.068), Ring(0.57, 0.47, 0.05, 0.068), Segment(0.48, 0.465, 0.52, 0.465, 0.018))
		layers = append(layers, Layer{frame, rgb(0x1A1A1A)})
	}
	if p.Earrings {
		layers = append(layers, Layer{Union(Circle(0.32, 0.53, 0.022), Circle(0.68, 0.53, 0.022)), rgb(0xF8F4E8)})
	}
	if p.Headphones {
		phones := Union(Arc(hx, hy, 0.225, 0.26, 180, 360), RoundRect(0.26, 0.40, 0.34, 0.57, 0.03), RoundRect(0.66, 0.40, 0.74, 0.57, 0.03))
		layers = append(layers, Layer{phones, rgb(0x1E1E24)})
	}
	return Scene{Clip: bg, Layers: layers}
}

// inks returns the emblem's main and accent colours: white on dark hues,
// near black on bright ones.
func inks(p Person) (ink, accent color.NRGBA) {
	if luma(p.Hue) > 150 {
		return inkDark, shade(p.Hue, 0.55)
	}
	return white, shade(p.Hue, 0.55)
}

var tile = RoundRect(0.03, 0.03, 0.97, 0.97, 0.2)

// Emblem is the person's symbol on a rounded tile of their colour.
func Emblem(p Person) Scene {
	ink, accent := inks(p)
	layers := []Layer{{tile, p.Hue}}
	layers = append(layers, p.Emblem(ink, accent)...)
	return Scene{Clip: tile, Layers: layers}
}

// Monogram is the person's initials in basicfont, scaled up, on a two-tone
// tile of their colour.
func Monogram(p Person) Scene {
	ink, _ := inks(p)
	text := Text(Initials(p.DisplayName), 0.5, 0.5, 0.058, 0.7)
	layers := []Layer{
		{tile, p.Hue},
		{Polygon([2]float64{1, 0.2}, [2]float64{1, 1}, [2]float64{0.2, 1}), shade(p.Hue, 0.82)},
	}
	if ink == white { // a drop shadow lifts white letters; under dark ones it only blurs them
		layers = append(layers, Layer{Offset(text, 0.03, 0.03), shade(p.Hue, 0.5)})
	}
	return Scene{Clip: tile, Layers: append(layers, Layer{text, ink})}
}

// Initials are the first letters of the first and last words of name.
func Initials(name string) string {
	f := strings.Fields(name)
	if len(f) == 0 {
		return "?"
	}
	s := f[0][:1]
	if len(f) > 1 {
		s += f[len(f)-1][:1]
	}
	return strings.ToUpper(s)
}

func gear(ink, accent color.NRGBA) []Layer {
	return []Layer{
		{Gear(0.5, 0.5, 0.25, 0.35, 0.12, 0.1, 8), ink},
		{Circle(0.5, 0.5, 0.06), accent},
	}
}

func moth(ink, accent color.NRGBA) []Layer {
	wings := Union(
		RotEllipse(0.34, 0.38, 0.17, 0.11, -0.5), RotEllipse(0.66, 0.38, 0.17, 0.11, 0.5),
		RotEllipse(0.37, 0.62, 0.12, 0.08, 0.6), RotEllipse(0.63, 0.62, 0.12, 0.08, -0.6),
	)
	return []Layer{
		{wings, ink},
		{Union(Circle(0.30, 0.37, 0.045), Circle(0.70, 0.37, 0.045)), accent},
		{Union(Ellipse(0.5, 0.52, 0.045, 0.2), Segment(0.48, 0.33, 0.40, 0.2, 0.02), Segment(0.52, 0.33, 0.60, 0.2, 0.02)), accent},
	}
}

func key(ink, accent color.NRGBA) []Layer {
	return []Layer{
		{Union(
			Ring(0.30, 0.5, 0.075, 0.16),
			Rect(0.42, 0.455, 0.82, 0.545),
			Rect(0.66, 0.5, 0.72, 0.65),
			Rect(0.76, 0.5, 0.82, 0.62),
		), ink},
		{Circle(0.30, 0.5, 0.04), accent},
	}
}

func moon(ink, accent color.NRGBA) []Layer {
	return []Layer{
		{Minus(Circle(0.45, 0.53, 0.29), Circle(0.58, 0.44, 0.24)), ink},
		{Star(0.70, 0.30, 0.11, 0.045, 5), ink},
		{Star(0.78, 0.62, 0.05, 0.02, 4), ink},
	}
}

func orbit(ink, accent color.NRGBA) []Layer {
	const tilt = -0.45
	ring := Minus(RotEllipse(0.5, 0.5, 0.39, 0.15, tilt), RotEllipse(0.5, 0.5, 0.33, 0.1, tilt))
	s, c := math.Sincos(tilt)
	front := func(x, y float64) bool { // the near half of the ring, drawn over the planet
		dx, dy := x-0.5, y-0.5
		return -dx*s+dy*c > 0
	}
	return []Layer{
		{ring, ink},
		{Circle(0.5, 0.5, 0.17), ink},
		{Circle(0.5, 0.5, 0.13), accent},
		{Inter(ring, front), ink},
		{Circle(0.5+0.36*math.Cos(tilt+math.Pi), 0.5+0.36*math.Sin(tilt+math.Pi)+0.0, 0.06), ink},
	}
}

func prompt(ink, accent color.NRGBA) []Layer {
	return []Layer{
		{Union(Segment(0.25, 0.32, 0.45, 0.5, 0.1), Segment(0.45, 0.5, 0.25, 0.68, 0.1)), ink},
		{Rect(0.52, 0.62, 0.77, 0.71), ink},
	}
}

func graph(ink, accent color.NRGBA) []Layer {
	n := [][2]float64{{0.26, 0.3}, {0.72, 0.27}, {0.34, 0.74}, {0.74, 0.7}, {0.52, 0.5}}
	edge := func(a, b int, w float64) Shape { return Segment(n[a][0], n[a][1], n[b][0], n[b][1], w) }
	var nodes []Shape
	for _, p := range n {
		nodes = append(nodes, Circle(p[0], p[1], 0.085))
	}
	return []Layer{
		{Union(edge(0, 1, 0.03), edge(1, 3, 0.03), edge(2, 3, 0.03)), accent},
		{Union(edge(0, 4, 0.06), edge(4, 3, 0.06), edge(0, 2, 0.06)), ink},
		{Union(nodes...), ink},
	}
}

func blocks(ink, accent color.NRGBA) []Layer {
	return []Layer{
		{Union(RoundRect(0.2, 0.53, 0.48, 0.81, 0.04), RoundRect(0.52, 0.53, 0.8, 0.81, 0.04)), ink},
		{RoundRect(0.36, 0.21, 0.64, 0.49, 0.04), accent},
		{RoundRect(0.42, 0.27, 0.58, 0.43, 0.02), ink},
	}
}

func wave(ink, accent color.NRGBA) []Layer {
	sine := func(x, y float64) bool {
		if x < 0.16 || x > 0.84 {
			return false
		}
		t := (x - 0.16) / 0.68 * 3 * math.Pi
		cy := 0.5 - 0.17*math.Sin(t)
		// Thickness measured across the curve, not vertically.
		slope := -0.17 * math.Cos(t) * 3 * math.Pi / 0.68
		return math.Abs(y-cy) <= 0.05*math.Sqrt(1+slope*slope)
	}
	return []Layer{
		{Rect(0.12, 0.495, 0.88, 0.505), accent},
		{Union(sine, Circle(0.16, 0.5, 0.05), Circle(0.84, 0.5, 0.05)), ink},
	}
}

func radio(ink, accent color.NRGBA) []Layer {
	const cx, cy = 0.32, 0.68
	return []Layer{
		{Union(Arc(cx, cy, 0.17, 0.25, -90, 0), Arc(cx, cy, 0.33, 0.41, -90, 0), Arc(cx, cy, 0.49, 0.57, -90, 0)), ink},
		{Circle(cx, cy, 0.09), accent},
	}
}

func star(ink, accent color.NRGBA) []Layer {
	return []Layer{
		{Star(0.5, 0.53, 0.36, 0.15, 5), rgb(0xF5C542)},
		{Star(0.5, 0.53, 0.2, 0.085, 5), rgb(0xFFE08A)},
	}
}

// Size is the side of the generated icons in pixels.
const Size = 256

// DemoUserFile is the file name of the demo user's icon.
const DemoUserFile = "demo-user.png"

// IconFile is the file name of a person's i-th icon (from 0).
func IconFile(user string, i int) string {
	return fmt.Sprintf("%s-%d.png", user, i+1)
}
