package backend

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// Limits of the icon cache.
const (
	// MaxCacheIndexEntries bounds the URL → (ETag, hash) index kept for
	// revalidation; beyond it the index is emptied (the files stay and are
	// still found by hash).
	MaxCacheIndexEntries = 4096
	// MaxCacheIndexBytes bounds the index file read at start.
	MaxCacheIndexBytes = 4 << 20
	// MaxCacheBytes bounds the icon files kept on disk (Options.CacheMaxBytes
	// overrides it); beyond it the least recently used go, down to three
	// quarters of the bound so that one new icon does not rescan each time.
	MaxCacheBytes  = 64 << 20
	cacheIndexFile = "index.json"
)

var sha1Pattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

func sha1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// cachedURL is what the cache remembers of one icon URL.
type cachedURL struct {
	ETag string `json:"etag"`
	Hash string `json:"sha1"`
}

// iconWant is the icon a buddy currently publishes.
type iconWant struct {
	url, hash string
	gen       uint64
}

// iconFetcher downloads buddies' icons with bounded concurrency, caches them
// on disk by content hash and retries failures with back-off. The newest
// presence of a buddy wins: a fetch for an icon the buddy no longer
// publishes is abandoned.
type iconFetcher struct {
	b   *Backend
	dir string
	sem chan struct{}
	wg  sync.WaitGroup

	mu        sync.Mutex
	gen       uint64
	wants     map[string]iconWant // buddy URI → icon
	delivered map[string]string   // buddy URI → hash of the icon it was sent
	index     map[string]cachedURL
	dirErr    error

	pruneMu sync.Mutex // one pruning pass at a time
}

func newIconFetcher(b *Backend) *iconFetcher {
	f := &iconFetcher{
		b:         b,
		dir:       b.o.CacheDir,
		sem:       make(chan struct{}, b.o.IconFetches),
		wants:     map[string]iconWant{},
		delivered: map[string]string{},
		index:     map[string]cachedURL{},
	}
	f.loadIndex()
	return f
}

func (f *iconFetcher) wait() { f.wg.Wait() }

// loadIndex reads the revalidation index; a damaged one is ignored.
func (f *iconFetcher) loadIndex() {
	data, err := readFileLimitedPlain(filepath.Join(f.dir, cacheIndexFile), MaxCacheIndexBytes)
	if err != nil {
		return
	}
	var idx map[string]cachedURL
	if json.Unmarshal(data, &idx) != nil || len(idx) > MaxCacheIndexEntries {
		return
	}
	for u, c := range idx {
		if sha1Pattern.MatchString(c.Hash) {
			f.index[u] = c
		}
	}
}

// saveIndexLocked writes the index atomically (f.mu held).
func (f *iconFetcher) saveIndexLocked() {
	if len(f.index) > MaxCacheIndexEntries {
		f.index = map[string]cachedURL{}
	}
	data, err := json.Marshal(f.index)
	if err != nil {
		return
	}
	if err := writeAtomic(f.dir, cacheIndexFile, data); err != nil {
		f.b.log.Warn("icon cache index not saved", "error", err)
	}
}

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
	if f.b.ctx.Err() != nil {
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
// good, is superseded or the backend closes.
func (f *iconFetcher) fetchLoop(uri string, w iconWant) {
	ctx := f.b.ctx
	delay := f.b.o.IconRetryMin
	for attempt := 1; ; attempt++ {
		if !f.current(uri, w) || ctx.Err() != nil {
			return
		}
		data, hash, err := f.get(w.url, w.hash)
		if err == nil {
			img, _, derr := icon.Decode(data, icon.DefaultLimits)
			if derr != nil {
				f.b.q.push(IconFailedEvent{URI: uri, URL: w.url, Err: derr})
				return
			}
			f.mu.Lock()
			ok := f.wants[uri].gen == w.gen
			if ok {
				f.delivered[uri] = hash
			}
			f.mu.Unlock()
			if ok {
				f.b.q.push(IconEvent{URI: uri, URL: w.url, Hash: hash, Image: img})
			}
			return
		}
		if ctx.Err() != nil || !f.current(uri, w) {
			return
		}
		retry := retryable(err) && attempt < f.b.o.IconAttempts
		ev := IconFailedEvent{URI: uri, URL: w.url, Err: err}
		if retry {
			// Jitter spreads the retries of many buddies on one server.
			ev.RetryIn = delay/2 + rand.N(delay/2+1)
		}
		f.b.q.push(ev)
		if !retry {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(ev.RetryIn):
		}
		delay = min(2*delay, f.b.o.IconRetryMax)
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
	if hash != "" {
		if data, ok := f.readCached(hash); ok {
			return data, hash, nil
		}
	}
	f.sem <- struct{}{}
	defer func() { <-f.sem }()
	if f.b.ctx.Err() != nil {
		return nil, "", f.b.ctx.Err()
	}
	f.mu.Lock()
	prev, known := f.index[url]
	f.mu.Unlock()
	etag := ""
	if known {
		if _, ok := f.readCached(prev.Hash); ok {
			etag = prev.ETag
		}
	}
	ctx, cancel := context.WithTimeout(f.b.ctx, f.b.o.RequestTimeout)
	defer cancel()
	data, newETag, err := f.b.xc.FetchIcon(ctx, url, etag)
	if errors.Is(err, xcap.ErrNotModified) && etag != "" {
		if data, ok := f.readCached(prev.Hash); ok {
			return data, prev.Hash, nil
		}
		data, newETag, err = f.b.xc.FetchIcon(ctx, url, "")
	}
	if err != nil {
		return nil, "", err
	}
	sum := sha1Hex(data)
	if hash != "" && hash != sum {
		f.b.log.Info("icon hash differs from the published one", "url", url, "published", hash, "got", sum)
	}
	f.store(url, newETag, sum, data)
	return data, sum, nil
}

// store writes icon bytes to the cache and indexes the URL.
func (f *iconFetcher) store(url, etag, hash string, data []byte) {
	if err := f.ensureDir(); err != nil {
		return
	}
	if _, ok := f.readCached(hash); !ok {
		if err := writeAtomic(f.dir, hash, data); err != nil {
			f.b.log.Warn("icon not cached", "error", err)
			return
		}
		f.prune(f.b.o.CacheMaxBytes)
	}
	f.mu.Lock()
	f.index[url] = cachedURL{ETag: etag, Hash: hash}
	f.saveIndexLocked()
	f.mu.Unlock()
}

func (f *iconFetcher) ensureDir() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirErr != nil {
		return f.dirErr
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		f.dirErr = fmt.Errorf("icon cache %s: %w", f.dir, err)
		f.b.log.Warn("icon cache disabled", "error", f.dirErr)
		return f.dirErr
	}
	return nil
}

// readCached returns the cached bytes of hash if the file is there, within
// the limits, and really has that hash.
func (f *iconFetcher) readCached(hash string) ([]byte, bool) {
	if !sha1Pattern.MatchString(hash) {
		return nil, false
	}
	path := filepath.Join(f.dir, hash)
	data, err := readFileLimitedPlain(path, icon.DefaultLimits.MaxBytes)
	if err != nil || sha1Hex(data) != hash {
		return nil, false
	}
	// The modification time is the last use: pruning keeps what is used.
	now := time.Now()
	_ = os.Chtimes(path, now, now)
	return data, true
}

// prune removes the least recently used icon files while the cache holds
// more than limit bytes (down to three quarters of it). Only files named by
// a hash are touched: the directory may hold nothing else of ours.
func (f *iconFetcher) prune(limit int64) {
	f.pruneMu.Lock()
	defer f.pruneMu.Unlock()
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return
	}
	type cached struct {
		path string
		size int64
		used time.Time
	}
	var files []cached
	var total int64
	for _, e := range entries {
		if !e.Type().IsRegular() || !sha1Pattern.MatchString(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, cached{filepath.Join(f.dir, e.Name()), info.Size(), info.ModTime()})
		total += info.Size()
	}
	if total <= limit {
		return
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
	for _, c := range files {
		if total <= limit*3/4 {
			break
		}
		if os.Remove(c.path) == nil {
			total -= c.size
		}
	}
}

// readFileLimitedPlain reads a file of at most limit bytes.
func readFileLimitedPlain(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > limit {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", path, limit)
	}
	return readFileLimited(path, limit)
}

// writeAtomic writes dir/name through a temporary file and a rename, so a
// crash never leaves a half-written file under the final name.
func writeAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return errors.Join(werr, cerr)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
