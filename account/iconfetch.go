package account

import (
	"context"
	"errors"
	"image"
	"net/http"
	"sync"
	"time"

	"golang.org/x/image/draw"

	"github.com/sipbuddy/sipbuddy/internal/backoff"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// ThumbSide is the side of the thumbnail an IconEvent carries for the
// list: enough pixels for a list row's art (a 4x2-cell icon = 8x8 pixels
// in sextants, an 8x4 one in kitty pixels at 6 px a cell) with margin, and
// about 9 KiB per icon instead of 256 KiB for a full 256x256 image.
const ThumbSide = 48

// LargeThumbSide is the side of the second picture an IconEvent carries,
// for the art that fills a pane (the detail pane, my icon's dialog, large
// rows in pixels): the icon's stored size (icon.Side, 256), so a pixel
// terminal shows the source's pixels. It costs up to 256 KiB (RGBA) while
// a front end keeps it; the TUI keeps it for a bounded number of icons
// (tui.MaxLargeThumbs) and draws from the 48 px thumbnail beyond.
const LargeThumbSide = 256

// Thumbnail scales img down so its longer side is at most ThumbSide (an
// image that small already is returned as it is). Front ends use it for
// pictures the account did not make, such as a preview before an upload.
func Thumbnail(img image.Image) image.Image {
	return ScaleDown(img, ThumbSide)
}

// ScaleDown scales img down so its longer side is at most side pixels
// (side >= 1; an image that small already is returned as it is).
func ScaleDown(img image.Image, side int) image.Image {
	side = max(1, side)
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return img
	}
	tw, th := side, side
	if w > h {
		th = max(1, h*side/w)
	} else {
		tw = max(1, w*side/h)
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// newIconEvent is the IconEvent of a decoded icon: both pictures made
// here, off the front end's loop, once per icon; size is the icon's bytes.
func newIconEvent(uri, url, hash string, img image.Image, format icon.Format, size int) IconEvent {
	b := img.Bounds()
	return IconEvent{
		URI: uri, URL: url, Hash: hash,
		Thumb: Thumbnail(img), Large: ScaleDown(img, LargeThumbSide),
		Format: string(format), Width: b.Dx(), Height: b.Dy(), Bytes: size,
	}
}

// iconWant is the icon a buddy currently publishes.
type iconWant struct {
	url, hash string
	gen       uint64
}

// iconFetcher downloads buddies' icons with bounded concurrency, keeps them
// in the disk cache by content hash and retries failures with back-off.
// The newest presence of a buddy wins: a fetch for an icon the buddy no
// longer publishes is abandoned.
type iconFetcher struct {
	a   *Account
	sem chan struct{}
	wg  sync.WaitGroup

	mu        sync.Mutex
	gen       uint64
	wants     map[string]iconWant // buddy URI → icon
	delivered map[string]string   // buddy URI → hash of the icon it was sent
}

func newIconFetcher(a *Account) *iconFetcher {
	return &iconFetcher{
		a:         a,
		sem:       make(chan struct{}, a.o.IconFetches),
		wants:     map[string]iconWant{},
		delivered: map[string]string{},
	}
}

func (f *iconFetcher) wait() { f.wg.Wait() }

// forget drops a buddy (removed from the list).
func (f *iconFetcher) forget(uri string) {
	f.mu.Lock()
	delete(f.wants, uri)
	delete(f.delivered, uri)
	f.mu.Unlock()
}

// want records the icon a buddy publishes and fetches it unless it was
// already delivered or is being fetched.
func (f *iconFetcher) want(uri, url, hash string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if url == "" {
		delete(f.wants, uri)
		delete(f.delivered, uri)
		return
	}
	if w, ok := f.wants[uri]; ok && w.url == url && w.hash == hash {
		return // same icon: delivered, or its fetch is under way
	}
	if hash != "" && f.delivered[uri] == hash {
		f.wants[uri] = iconWant{url: url, hash: hash, gen: f.wants[uri].gen}
		return
	}
	f.gen++
	w := iconWant{url: url, hash: hash, gen: f.gen}
	f.wants[uri] = w
	if f.a.ctx.Err() != nil {
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.fetchLoop(uri, w)
	}()
}

// current reports whether w is still what uri publishes.
func (f *iconFetcher) current(uri string, w iconWant) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wants[uri].gen == w.gen
}

// fetchLoop tries to get one buddy's icon until it succeeds, fails for
// good, is superseded or the account closes.
func (f *iconFetcher) fetchLoop(uri string, w iconWant) {
	ctx := f.a.ctx
	bo := backoff.Backoff{Min: f.a.o.IconRetryMin, Max: f.a.o.IconRetryMax}
	for attempt := 1; ; attempt++ {
		if !f.current(uri, w) || ctx.Err() != nil {
			return
		}
		data, hash, err := f.get(w.url, w.hash)
		if err == nil {
			img, format, derr := icon.Decode(data, icon.DefaultLimits)
			if derr != nil {
				f.a.q.push(IconFailedEvent{URI: uri, URL: w.url, Err: derr})
				return
			}
			ev := newIconEvent(uri, w.url, hash, img, format, len(data))
			f.mu.Lock()
			ok := f.wants[uri].gen == w.gen
			if ok {
				f.delivered[uri] = hash
			}
			f.mu.Unlock()
			if ok {
				f.a.q.push(ev)
			}
			return
		}
		if ctx.Err() != nil || !f.current(uri, w) {
			return
		}
		retry := retryable(err) && attempt < f.a.o.IconAttempts
		ev := IconFailedEvent{URI: uri, URL: w.url, Err: err}
		if retry {
			// Jittered: the retries of many buddies on one server spread.
			ev.RetryIn = bo.Next(0)
		}
		f.a.q.push(ev)
		if !retry {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(ev.RetryIn):
		}
	}
}

// retryable says whether an icon failure may go away by itself.
func retryable(err error) bool {
	var le *xmltree.LimitError
	if errors.As(err, &le) || errors.Is(err, icon.ErrNotImage) || errors.Is(err, icon.ErrUnsupportedFormat) || errors.Is(err, icon.ErrInvalidContent) {
		return false
	}
	switch code := xcap.StatusCodeOf(err); {
	case code == 0:
		return true // transport
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return true
	case code == http.StatusNotFound:
		return true // the owner may be uploading it right now
	}
	return false
}

// get returns the bytes of the icon at url (and their sha1): from the disk
// cache when the published hash is known there, else downloaded (with
// If-None-Match when an earlier copy is cached).
func (f *iconFetcher) get(url, hash string) ([]byte, string, error) {
	c := f.a.cache
	if hash != "" {
		if data, ok := c.read(hash); ok {
			return data, hash, nil
		}
	}
	f.sem <- struct{}{}
	defer func() { <-f.sem }()
	if f.a.ctx.Err() != nil {
		return nil, "", f.a.ctx.Err()
	}
	prev, known := c.lookup(url)
	etag := ""
	if known {
		if _, ok := c.read(prev.Hash); ok {
			etag = prev.ETag
		}
	}
	ctx, cancel := context.WithTimeout(f.a.ctx, f.a.o.RequestTimeout)
	defer cancel()
	data, newETag, err := f.a.xc.FetchIcon(ctx, url, etag)
	if errors.Is(err, xcap.ErrNotModified) && etag != "" {
		if data, ok := c.read(prev.Hash); ok {
			return data, prev.Hash, nil
		}
		data, newETag, err = f.a.xc.FetchIcon(ctx, url, "")
	}
	if err != nil {
		return nil, "", err
	}
	sum := icon.ContentHash(data)
	if hash != "" && hash != sum {
		f.a.log.Info("icon hash differs from the published one", "url", url, "published", hash, "got", sum)
	}
	c.store(url, newETag, sum, data)
	return data, sum, nil
}
