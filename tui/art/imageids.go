package art

import (
	"container/list"
	"sync"
)

// DefaultKittyImages is how many images NewImageIDs keeps on the terminal
// when given zero or less: every icon of a long buddy list at two sizes.
const DefaultKittyImages = 512

// ImageIDs allocates kitty image ids per (content hash, cols, rows), so an
// image is sent once per content and size, not once per frame, and bounds
// how many stay on the terminal: the least recently used is evicted, and
// its id freed for reuse. It is safe for concurrent use.
type ImageIDs struct {
	mu    sync.Mutex
	max   int
	next  uint32
	free  []uint32
	order *list.List // front = most recently used; values are *idEntry
	byKey map[idKey]*list.Element
}

type idKey struct {
	hash       string
	cols, rows int
}

type idEntry struct {
	key idKey
	id  uint32
}

// NewImageIDs returns an allocator keeping at most max images
// (DefaultKittyImages when max <= 0; never more than MaxKittyImageID).
func NewImageIDs(max int) *ImageIDs {
	if max <= 0 {
		max = DefaultKittyImages
	}
	return &ImageIDs{max: min(max, MaxKittyImageID), order: list.New(), byKey: map[idKey]*list.Element{}}
}

// Acquire returns the id of the image (hash, cols, rows). fresh reports a
// new id: the caller must Transmit the image under it before placing it.
// evicted lists ids whose images the caller must Delete on the terminal.
func (r *ImageIDs) Acquire(hash string, cols, rows int) (id uint32, fresh bool, evicted []uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := idKey{hash, cols, rows}
	if e, ok := r.byKey[k]; ok {
		r.order.MoveToFront(e)
		return e.Value.(*idEntry).id, false, nil
	}
	for r.order.Len() >= r.max {
		last := r.order.Back()
		r.order.Remove(last)
		old := last.Value.(*idEntry)
		delete(r.byKey, old.key)
		evicted = append(evicted, old.id)
	}
	// An id evicted now is deleted by the caller after this transmission,
	// so only ids freed by earlier calls are reused.
	if n := len(r.free); n > 0 {
		id, r.free = r.free[n-1], r.free[:n-1]
	} else {
		r.next++
		id = r.next
	}
	r.free = append(r.free, evicted...)
	r.byKey[k] = r.order.PushFront(&idEntry{k, id})
	return id, true, evicted
}

// Release forgets every image and returns their ids, for deleting them all
// on exit or when the terminal's images were lost (a mode switch).
func (r *ImageIDs) Release() []uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []uint32
	for e := r.order.Front(); e != nil; e = e.Next() {
		ids = append(ids, e.Value.(*idEntry).id)
	}
	r.order.Init()
	clear(r.byKey)
	r.free, r.next = nil, 0
	return ids
}

// Len returns how many images are held.
func (r *ImageIDs) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}
