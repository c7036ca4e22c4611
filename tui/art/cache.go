package art

import (
	"container/list"
	"crypto/sha1"
	"encoding/hex"
	"image"
	"sync"
)

// DefaultCacheEntries is the size NewCache uses when given zero or less:
// a few sizes and modes of a few dozen buddies' icons.
const DefaultCacheEntries = 256

// ContentHash returns a cache key for an icon's encoded bytes (SHA-1 hex,
// the same digest PIDF icon URLs carry in their "#<sha1>" fragment).
func ContentHash(data []byte) string {
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])
}

type cacheKey struct {
	hash       string
	cols, rows int
	opts       Options
}

// Cache is a bounded LRU of rendered art keyed by (content hash, cols, rows,
// options). It is safe for concurrent use; renders run outside its lock, so two
// goroutines asking for the same missing key may both render it.
type Cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *cacheEntry
	items map[cacheKey]*list.Element
}

type cacheEntry struct {
	key cacheKey
	art string
}

// NewCache returns a cache holding at most max renders (DefaultCacheEntries
// when max <= 0).
func NewCache(max int) *Cache {
	if max <= 0 {
		max = DefaultCacheEntries
	}
	return &Cache{max: max, order: list.New(), items: make(map[cacheKey]*list.Element)}
}

// Render returns Render(img, cols, rows, m), from the cache when an earlier
// call had the same key. hash identifies img's content (see ContentHash); an
// empty hash bypasses the cache.
func (c *Cache) Render(hash string, img image.Image, cols, rows int, m Mode) string {
	return c.RenderOptions(hash, img, cols, rows, Options{Mode: m})
}

// RenderOptions is Render with RenderOptions' options.
func (c *Cache) RenderOptions(hash string, img image.Image, cols, rows int, o Options) string {
	cols, rows = clampSize(cols, rows)
	if hash == "" {
		return RenderOptions(img, cols, rows, o)
	}
	k := cacheKey{hash, cols, rows, o}
	if s, ok := c.get(k); ok {
		return s
	}
	s := RenderOptions(img, cols, rows, o)
	c.put(k, s)
	return s
}

// Len returns the number of cached renders.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *Cache) get(k cacheKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).art, true
}

func (c *Cache) put(k cacheKey, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&cacheEntry{k, s})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}
