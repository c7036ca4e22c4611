package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/sipbuddy/sipbuddy/xcap/server"
	"github.com/sipbuddy/sipbuddy/xcap/store"
	"github.com/sipbuddy/sipbuddy/xcap/store/pgstore"
	"github.com/sipbuddy/sipbuddy/xcap/store/storetest"
)

// Bounds of the concurrency tests.
const (
	racePUTs       = 50
	modelWrites    = 10000
	modelDocuments = 8
	modelWorkers   = 8
	modelDeadline  = 3 * time.Minute
)

// startNode runs an XCAP server over its own connection pool to dsn: one
// stateless node.
func startNode(t testing.TB, dsn, addr string) (*server.HTTPServer, *pgstore.Store) {
	t.Helper()
	st := storetest.OpenPostgres(t, dsn, realm)
	srv, err := server.Listen(context.Background(), addr, server.Options{Domain: realm, Store: st})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("node shutdown: %v", err)
		}
		st.Close()
	})
	return srv, st
}

func aliceClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: 30 * time.Second, Transport: &digest.Transport{Username: "alice", Password: "secret", Transport: tr}}
}

func put(c *http.Client, url string, body []byte, hdr ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/resource-lists+xml")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("ETag"), nil
}

func list(n int) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies"><entry uri="sip:b%d@example.test"/></list></resource-lists>`, n)
}

// TestTwoNodesOneWinner: 50 PUTs of one document with the same If-Match,
// at once, half through each of two XCAP nodes on one database: exactly
// one wins (200), every other gets 412, and the document is the winner's.
func TestTwoNodesOneWinner(t *testing.T) {
	dsn := storetestDSN(t)
	n1, st := startNode(t, dsn, "127.0.0.1:0")
	n2, _ := startNode(t, dsn, "127.0.0.2:0")
	if err := st.SetPassword("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	const doc = "/resource-lists/users/sip:alice@example.test/index"
	code, etag, err := put(aliceClient(t), n1.Root()+doc, list(0))
	if err != nil || code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, err)
	}

	type result struct {
		code int
		etag string
		err  error
	}
	results := make([]result, racePUTs)
	clients := make([]*http.Client, racePUTs)
	for i := range clients {
		clients[i] = aliceClient(t)
		// Authenticate first, so that the PUTs below race each other
		// and not their challenges.
		res, err := clients[i].Get(n1.Root() + doc)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racePUTs {
		root := n1.Root()
		if i%2 == 1 {
			root = n2.Root()
		}
		wg.Go(func() {
			<-start
			c, e, err := put(clients[i], root+doc, list(i+1), "If-Match", etag)
			results[i] = result{c, e, err}
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	var winner int
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("PUT %d: %v", i, r.err)
		case r.code == http.StatusOK:
			winners++
			winner = i
		case r.code != http.StatusPreconditionFailed:
			t.Errorf("PUT %d: status %d, want 200 or 412", i, r.code)
		}
	}
	if winners != 1 {
		t.Fatalf("%d PUTs won, want exactly 1", winners)
	}
	d, err := st.Get(store.Key{AUID: "resource-lists", User: "sip:alice@example.test", Path: "index"})
	if err != nil || !bytes.Equal(d.Body, list(winner+1)) || `"`+d.ETag+`"` != results[winner].etag {
		t.Fatalf("stored %q %s, want the winner's %q %s (%v)", d.Body, d.ETag, list(winner+1), results[winner].etag, err)
	}
}

func storetestDSN(t *testing.T) string {
	t.Helper()
	_, dsn := open(t)
	return dsn
}

// op is one successful write seen by a worker of the model test: the
// version it replaced (empty: the document was absent) and the one it
// made (empty: deleted).
type op struct{ from, to string }

// TestNoLostUpdate runs 10,000 mixed conditional writes (read, then
// replace with If-Match, delete with If-Match, or create with
// If-None-Match: *) from workers spread over two nodes' pools, and checks
// the history against the model of a register per document: every
// version is replaced at most once (no two writers both won over the same
// version: no lost update), creates happen only while the document is
// absent, and the store ends on the one version nothing replaced.
func TestNoLostUpdate(t *testing.T) {
	a, dsn := open(t)
	b := storetest.OpenPostgres(t, dsn, realm)
	defer b.Close()
	nodes := []*pgstore.Store{a, b}
	keys := make([]store.Key, modelDocuments)
	for i := range keys {
		keys[i] = store.Key{AUID: "resource-lists", User: "sip:alice@example.test", Path: "doc" + strconv.Itoa(i)}
		if i%2 == 1 {
			keys[i].AUID = "oma_status-icon" // sipbuddy's own table too
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), modelDeadline)
	defer cancel()

	var mu sync.Mutex
	history := make([][]op, len(keys))
	var done, conflicts int
	var wg sync.WaitGroup
	for w := range modelWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			st := nodes[w%len(nodes)]
			for i := w; i < modelWrites; i += modelWorkers {
				if ctx.Err() != nil {
					return
				}
				d := rng.IntN(len(keys))
				k := keys[d]
				var o op
				var err error
				cur, gerr := st.Get(k)
				switch {
				case errors.Is(gerr, store.ErrNotFound):
					o.to, _, err = st.Put(k, []byte(strconv.Itoa(i)), store.Condition{IfNoneMatch: "*"})
				case gerr != nil:
					t.Error(gerr)
					return
				case rng.IntN(4) == 0:
					o.from = cur.ETag
					err = st.Delete(k, store.Condition{IfMatch: cur.ETag})
				default:
					o.from = cur.ETag
					o.to, _, err = st.Put(k, []byte(strconv.Itoa(i)), store.Condition{IfMatch: cur.ETag})
				}
				mu.Lock()
				switch {
				case err == nil:
					history[d] = append(history[d], o)
					done++
				case errors.Is(err, store.ErrPreconditionFailed), errors.Is(err, store.ErrNotFound):
					conflicts++
					done++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("only %d of %d writes within %v", done, modelWrites, modelDeadline)
	}
	if done != modelWrites {
		t.Fatalf("%d writes done, want %d", done, modelWrites)
	}
	t.Logf("%d writes: %d won, %d lost a race (412)", done, done-conflicts, conflicts)
	for d, h := range history {
		replaced := map[string]bool{}
		made := map[string]bool{}
		creates, deletes := 0, 0
		for _, o := range h {
			if o.from == "" {
				creates++
			} else {
				if replaced[o.from] {
					t.Fatalf("%s: version %s replaced twice: a lost update", keys[d].Path, o.from)
				}
				replaced[o.from] = true
			}
			if o.to == "" {
				deletes++
			} else {
				made[o.to] = true
			}
		}
		for v := range replaced {
			if !made[v] {
				t.Errorf("%s: replaced version %s that no write made", keys[d].Path, v)
			}
		}
		var last []string
		for v := range made {
			if !replaced[v] {
				last = append(last, v)
			}
		}
		cur, err := a.Get(keys[d])
		switch {
		case errors.Is(err, store.ErrNotFound):
			if len(last) != 0 || creates != deletes {
				t.Errorf("%s: absent at the end, but versions %v were never replaced (%d creates, %d deletes)", keys[d].Path, last, creates, deletes)
			}
		case err != nil:
			t.Fatal(err)
		default:
			if len(last) != 1 || last[0] != cur.ETag || creates != deletes+1 {
				t.Errorf("%s: ends on %s; unreplaced versions %v (%d creates, %d deletes)", keys[d].Path, cur.ETag, last, creates, deletes)
			}
		}
	}
}
