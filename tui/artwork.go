package tui

import (
	"image"

	tea "charm.land/bubbletea/v2"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/tui/art"
)

// Bounds of the art kept by one program. Beyond them the least recently
// used entries go; what is on screen is rendered again on demand.
const (
	// MaxArtEntries bounds the rendered art (and, separately, the
	// placeholders).
	MaxArtEntries = 4096
	// MaxThumbs bounds the icon thumbnails (each at most
	// account.ThumbSide pixels a side, about 9 KiB): every buddy the UA
	// may watch, and my own icon, with room to spare.
	MaxThumbs = 2048
	// MaxLargeThumbs bounds the large pictures (account.LargeThumbSide,
	// up to 256 KiB each, 16 MiB in all) kept for art that fills a pane:
	// the detail pane, my icon's dialog, large rows in pixels. A screen
	// shows far fewer; beyond them the art is drawn from the thumbnail.
	MaxLargeThumbs = 64
)

// artKey identifies one rendered piece of art.
type artKey struct {
	hash       string
	cols, rows int
	mode       art.Mode
	px         bool // placeholder cells of a pixel image (graphics.go), not text art
}

// artStore holds icon thumbnails and their rendered art, for View to read
// without ever rendering (rendering happens in commands, off the loop).
type artStore struct {
	thumbs   *lru.Cache[string, image.Image] // by content hash
	larges   *lru.Cache[string, image.Image] // by content hash: the pictures for large art
	arts     *lru.Cache[artKey, string]
	inflight map[artKey]bool
	ph       *lru.Cache[artKey, string] // placeholders, keyed by initials instead of hash
}

func newArtStore() *artStore {
	return &artStore{
		thumbs:   mustLRU[string, image.Image](MaxThumbs),
		larges:   mustLRU[string, image.Image](MaxLargeThumbs),
		arts:     mustLRU[artKey, string](MaxArtEntries),
		inflight: map[artKey]bool{},
		ph:       mustLRU[artKey, string](MaxArtEntries),
	}
}

// mustLRU builds an LRU of a positive constant size (lru.New fails only
// for a size below 1).
func mustLRU[K comparable, V any](size int) *lru.Cache[K, V] {
	c, err := lru.New[K, V](size)
	if err != nil {
		panic(err)
	}
	return c
}

// artMsg delivers a batch of rendered art.
type artMsg struct {
	keys []artKey
	arts []string
	done []artKey // asked for but not rendered: no longer in flight
}

// add renders thumb (or large, when the art needs more pixels than the
// thumbnail has and large is not nil) for key (hash, cols, rows, mode)
// into the batch; it is called off the loop.
func (a *artMsg) add(hash string, thumb, large image.Image, cols, rows int, mode art.Mode) {
	src := thumb
	if large != nil && textNeedsLarge(cols, rows) {
		src = large
	}
	a.keys = append(a.keys, artKey{hash: hash, cols: cols, rows: rows, mode: mode})
	a.arts = append(a.arts, art.Render(src, cols, rows, mode))
}

// textNeedsLarge reports whether text art of cols x rows cells shows more
// pixels than a thumbnail has: octants resolve 2x4 pixels a cell.
func textNeedsLarge(cols, rows int) bool {
	return 2*cols > account.ThumbSide || 4*rows > account.ThumbSide
}

// addThumb keeps the pictures the account made of an icon (large may be
// nil).
func (s *artStore) addThumb(hash string, thumb, large image.Image) {
	if hash == "" || thumb == nil {
		return
	}
	s.thumbs.Add(hash, account.Thumbnail(thumb)) // a no-op for the account's own thumbnails
	if large != nil {
		s.larges.Add(hash, account.ScaleDown(large, account.LargeThumbSide))
	}
}

// source is the picture to draw hash's art from: the large one when large
// is asked for and still kept, else the thumbnail (nil: neither).
func (s *artStore) source(hash string, large bool) image.Image {
	if large {
		if img, ok := s.larges.Get(hash); ok {
			return img
		}
	}
	img, _ := s.thumbs.Peek(hash)
	return img
}

// get returns the rendered art for key, if it is ready.
func (s *artStore) get(k artKey) (string, bool) {
	return s.arts.Get(k)
}

// want collects the keys that need rendering and are not being rendered.
func (s *artStore) want(keys []artKey) []artKey {
	var out []artKey
	for _, k := range keys {
		if k.hash == "" || !s.thumbs.Contains(k.hash) {
			continue
		}
		if s.arts.Contains(k) || s.inflight[k] {
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
		imgs[i] = s.source(k.hash, textNeedsLarge(k.cols, k.rows))
	}
	return func() tea.Msg {
		var out artMsg
		for i, k := range keys {
			if imgs[i] == nil {
				continue
			}
			out.add(k.hash, imgs[i], nil, k.cols, k.rows, k.mode)
		}
		if len(out.keys) < len(keys) {
			// Thumbnails evicted meanwhile: let the next frame ask again.
			out.done = keys
		}
		return out
	}
}

// add stores rendered art.
func (s *artStore) add(m artMsg) {
	for _, k := range m.done {
		delete(s.inflight, k)
	}
	for i, k := range m.keys {
		delete(s.inflight, k)
		s.arts.Add(k, m.arts[i])
	}
}

// placeholder returns the neutral tile with label's initials. It is cheap
// and cached, so View may call it.
func (s *artStore) placeholder(label string, cols, rows int, m art.Mode) string {
	k := artKey{hash: art.Initials(label), cols: cols, rows: rows, mode: m}
	if p, ok := s.ph.Get(k); ok {
		return p
	}
	p := art.Placeholder(cols, rows, label, m)
	s.ph.Add(k, p)
	return p
}

// ensureArt asks for the art that is about to be shown and is missing:
// the visible rows, the selected buddy's large icon, my own icon.
func (m *Model) ensureArt() tea.Cmd {
	if m.c.width == 0 {
		return nil
	}
	lay := m.layout()
	cols, rows := 2*m.list.rowHeight, m.list.rowHeight
	var keys []artKey
	for _, b := range m.list.onScreen(lay.listRows) {
		if b.IconHash != "" {
			keys = append(keys, m.artKey(b.IconHash, cols, rows))
		}
	}
	if b := m.list.selected(); b != nil && lay.detailW > 0 && b.IconHash != "" {
		dc, dr := detailIconSize(lay.detailW, lay.detailH, lay.detailRight)
		keys = append(keys, m.artKey(b.IconHash, dc, dr))
	}
	if m.self.IconHash != "" {
		keys = append(keys, m.artKey(m.self.IconHash, headerIconCols, headerIconRows))
		if _, ok := m.dialogs.top().(myIconDialog); ok {
			c, r := myIconSize(m.c.width, m.c.height)
			keys = append(keys, m.artKey(m.self.IconHash, c, r))
		}
	}
	var text, px []artKey
	for _, k := range m.arts.want(keys) {
		if k.px {
			px = append(px, k)
		} else {
			text = append(text, k)
		}
	}
	return tea.Batch(m.arts.render(text), m.requestPixels(px))
}

// iconArt returns the art of a buddy's icon, or its placeholder.
func (m *Model) iconArt(hash, label string, cols, rows int) string {
	if hash != "" {
		if a, ok := m.arts.get(m.artKey(hash, cols, rows)); ok {
			return a
		}
	}
	return m.arts.placeholder(label, cols, rows, m.c.mode)
}
