package server

import (
	"hash/maphash"
	"sync"
)

// shardCount spreads lock contention of the server's maps; handlers of
// different users almost never share a lock.
const shardCount = 64

var shardSeed = maphash.MakeSeed()

// shardMap is a string-keyed map split into independently locked shards.
type shardMap[V any] struct {
	shards [shardCount]struct {
		mu sync.Mutex
		m  map[string]V
	}
}

func (m *shardMap[V]) init() {
	for i := range m.shards {
		m.shards[i].m = make(map[string]V)
	}
}

func (m *shardMap[V]) shard(key string) int {
	return int(maphash.String(shardSeed, key) % shardCount)
}

func (m *shardMap[V]) get(key string) (V, bool) {
	sh := &m.shards[m.shard(key)]
	sh.mu.Lock()
	v, ok := sh.m[key]
	sh.mu.Unlock()
	return v, ok
}

// getOrCreate returns the value under key, creating it with mk if absent.
func (m *shardMap[V]) getOrCreate(key string, mk func() V) V {
	sh := &m.shards[m.shard(key)]
	sh.mu.Lock()
	v, ok := sh.m[key]
	if !ok {
		v = mk()
		sh.m[key] = v
	}
	sh.mu.Unlock()
	return v
}

func (m *shardMap[V]) put(key string, v V) {
	sh := &m.shards[m.shard(key)]
	sh.mu.Lock()
	sh.m[key] = v
	sh.mu.Unlock()
}

// deleteIf removes key when drop reports true for its value.
func (m *shardMap[V]) deleteIf(key string, drop func(V) bool) {
	sh := &m.shards[m.shard(key)]
	sh.mu.Lock()
	if v, ok := sh.m[key]; ok && drop(v) {
		delete(sh.m, key)
	}
	sh.mu.Unlock()
}

func (m *shardMap[V]) len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// take removes key and returns its value: of concurrent callers exactly one
// gets ok.
func (m *shardMap[V]) take(key string) (V, bool) {
	sh := &m.shards[m.shard(key)]
	sh.mu.Lock()
	v, ok := sh.m[key]
	if ok {
		delete(sh.m, key)
	}
	sh.mu.Unlock()
	return v, ok
}
