package account

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"time"

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

// cachedURL is what the cache remembers of one icon URL.
type cachedURL struct {
	ETag string `json:"etag"`
	Hash string `json:"sha1"`
}

// iconCache keeps icon files on disk, named by the sha1 of their bytes,
// with an index of the URLs they came from (and their ETags, for
// revalidation). It is shared by every fetch; its methods are safe for
// concurrent use.
type iconCache struct {
	dir      string
	maxBytes int64
	log      *slog.Logger

	mu     sync.Mutex
	index  map[string]cachedURL
	dirErr error

	pruneMu sync.Mutex // one pruning pass at a time
}

func newIconCache(dir string, maxBytes int64, log *slog.Logger) *iconCache {
	c := &iconCache{dir: dir, maxBytes: maxBytes, log: log, index: map[string]cachedURL{}}
	c.loadIndex()
	return c
}

// loadIndex reads the revalidation index; a damaged one is ignored.
func (c *iconCache) loadIndex() {
	data, err := icon.ReadFile(filepath.Join(c.dir, cacheIndexFile), MaxCacheIndexBytes)
	if err != nil {
		return
	}
	var idx map[string]cachedURL
	if json.Unmarshal(data, &idx) != nil || len(idx) > MaxCacheIndexEntries {
		return
	}
	for u, e := range idx {
		if sha1Pattern.MatchString(e.Hash) {
			c.index[u] = e
		}
	}
}

// lookup returns what the index knows of url.
func (c *iconCache) lookup(url string) (cachedURL, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.index[url]
	return e, ok
}

// saveIndexLocked writes the index atomically (c.mu held).
func (c *iconCache) saveIndexLocked() {
	if len(c.index) > MaxCacheIndexEntries {
		c.index = map[string]cachedURL{}
	}
	data, err := json.Marshal(c.index)
	if err != nil {
		return
	}
	if err := writeAtomic(c.dir, cacheIndexFile, data); err != nil {
		c.log.Warn("icon cache index not saved", "error", err)
	}
}

// store writes icon bytes to the cache and indexes the URL.
func (c *iconCache) store(url, etag, hash string, data []byte) {
	if err := c.ensureDir(); err != nil {
		return
	}
	if _, ok := c.read(hash); !ok {
		if err := writeAtomic(c.dir, hash, data); err != nil {
			c.log.Warn("icon not cached", "error", err)
			return
		}
		c.prune(c.maxBytes)
	}
	c.mu.Lock()
	c.index[url] = cachedURL{ETag: etag, Hash: hash}
	c.saveIndexLocked()
	c.mu.Unlock()
}

func (c *iconCache) ensureDir() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dirErr != nil {
		return c.dirErr
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		c.dirErr = fmt.Errorf("icon cache %s: %w", c.dir, err)
		c.log.Warn("icon cache disabled", "error", c.dirErr)
		return c.dirErr
	}
	return nil
}

// read returns the cached bytes of hash if the file is there, within the
// limits, and really has that hash.
func (c *iconCache) read(hash string) ([]byte, bool) {
	if !sha1Pattern.MatchString(hash) {
		return nil, false
	}
	path := filepath.Join(c.dir, hash)
	data, err := icon.ReadFile(path, icon.DefaultLimits.MaxBytes)
	if err != nil || icon.ContentHash(data) != hash {
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
func (c *iconCache) prune(limit int64) {
	c.pruneMu.Lock()
	defer c.pruneMu.Unlock()
	entries, err := os.ReadDir(c.dir)
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
		files = append(files, cached{filepath.Join(c.dir, e.Name()), info.Size(), info.ModTime()})
		total += info.Size()
	}
	if total <= limit {
		return
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
	for _, f := range files {
		if total <= limit*3/4 {
			break
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
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
