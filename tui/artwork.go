package tui

import (
	"image"

	tea "charm.land/bubbletea/v2"
	"golang.org/x/image/draw"

	"github.com/sipbuddy/sipbuddy/tui/art"
)

// ThumbSide is the side of the thumbnail the UI keeps of every icon: enough
// pixels for the largest art it draws (detail pane, 16x8 cells = 16x16
// pixels in half-block mode) with margin, and about 9 KiB per icon instead
// of 256 KiB for a full 256x256 image.
const ThumbSide = 48

// MaxArtEntries bounds the rendered-art cache of one program. When it is
// full it is emptied; what is on screen is rendered again on demand.
const MaxArtEntries = 4096

// artKey identifies one rendered piece of art.
type artKey struct {
	hash       string
	cols, rows int
	mode       art.Mode
}

// artStore holds icon thumbnails and their rendered art, for View to read
// without ever rendering (rendering happens in commands, off the loop).
type artStore struct {
	thumbs   map[string]image.Image // by content hash
	pending  map[string]bool        // thumbnails being made
	arts     map[artKey]string
	inflight map[artKey]bool
	ph       map[artKey]string // placeholders, keyed by initials instead of hash
}

func newArtStore() *artStore {
	return &artStore{
		thumbs:   map[string]image.Image{},
		pending:  map[string]bool{},
		arts:     map[artKey]string{},
		inflight: map[artKey]bool{},
		ph:       map[artKey]string{},
	}
}

// thumbMsg delivers a thumbnail made off the loop.
type thumbMsg struct {
	hash string
	img  image.Image
}

// artMsg delivers a batch of rendered art.
type artMsg struct {
	keys []artKey
	arts []string
}

// thumbnail scales img down so its longer side is at most ThumbSide.
func thumbnail(img image.Image) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= ThumbSide && h <= ThumbSide {
		return img
	}
	tw, th := ThumbSide, ThumbSide
	if w > h {
		th = max(1, h*ThumbSide/w)
	} else {
		tw = max(1, w*ThumbSide/h)
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// makeThumb returns a command that makes the thumbnail of an icon, unless
// it exists or is being made.
func (s *artStore) makeThumb(hash string, img image.Image) tea.Cmd {
	if hash == "" || img == nil || s.thumbs[hash] != nil || s.pending[hash] {
		return nil
	}
	s.pending[hash] = true
	return func() tea.Msg { return thumbMsg{hash: hash, img: thumbnail(img)} }
}

// addThumb stores a finished thumbnail.
func (s *artStore) addThumb(m thumbMsg) {
	delete(s.pending, m.hash)
	s.thumbs[m.hash] = m.img
}

// get returns the rendered art for key, if it is ready.
func (s *artStore) get(k artKey) (string, bool) {
	a, ok := s.arts[k]
	return a, ok
}

// want collects the keys that need rendering and are not being rendered.
func (s *artStore) want(keys []artKey) []artKey {
	var out []artKey
	for _, k := range keys {
		if k.hash == "" || s.thumbs[k.hash] == nil {
			continue
		}
		if _, ok := s.arts[k]; ok || s.inflight[k] {
			continue
		}
		s.inflight[k] = true
		out = append(out, k)
	}
	return out
}

// render returns a command that renders keys (from their thumbnails) off
// the loop.
func (s *artStore) render(keys []artKey) tea.Cmd {
	if len(keys) == 0 {
		return nil
	}
	imgs := make([]image.Image, len(keys))
	for i, k := range keys {
		imgs[i] = s.thumbs[k.hash]
	}
	return func() tea.Msg {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = art.Render(imgs[i], k.cols, k.rows, k.mode)
		}
		return artMsg{keys: keys, arts: out}
	}
}

// add stores rendered art.
func (s *artStore) add(m artMsg) {
	if len(s.arts)+len(m.keys) > MaxArtEntries {
		s.arts = map[artKey]string{}
	}
	for i, k := range m.keys {
		delete(s.inflight, k)
		s.arts[k] = m.arts[i]
	}
}

// placeholder returns the neutral tile with label's initials. It is cheap
// and cached, so View may call it.
func (s *artStore) placeholder(label string, cols, rows int, m art.Mode) string {
	k := artKey{hash: art.Initials(label), cols: cols, rows: rows, mode: m}
	if p, ok := s.ph[k]; ok {
		return p
	}
	p := art.Placeholder(cols, rows, label, m)
	if len(s.ph) < MaxArtEntries {
		s.ph[k] = p
	}
	return p
}
