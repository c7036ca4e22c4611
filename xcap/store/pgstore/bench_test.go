package pgstore_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/xcap/server"
	"github.com/sipbuddy/sipbuddy/xcap/store"
	"github.com/sipbuddy/sipbuddy/xcap/store/storetest"
)

// BenchmarkIconGETTwoNodes measures anonymous GETs of one legacy icon
// through one XCAP node on bbolt, one on PostgreSQL, and two (127.0.0.1,
// 127.0.0.2) on one PostgreSQL database taken round-robin: each GET asks
// the store for the icon's ETag and serves the decoded image from the
// node's cache.
func BenchmarkIconGETTwoNodes(b *testing.B) {
	for _, c := range []struct {
		kind  string
		nodes int
	}{{storetest.Bolt, 1}, {storetest.Postgres, 1}, {storetest.Postgres, 2}} {
		b.Run(c.kind+"-"+strconv.Itoa(c.nodes)+"-nodes", func(b *testing.B) {
			var roots []string
			var st store.Store
			if c.kind == storetest.Bolt {
				st = storetest.Fresh(b, c.kind, realm)()
				srv, err := server.Listen(b.Context(), "127.0.0.1:0", server.Options{Domain: realm, Store: st})
				if err != nil {
					b.Fatal(err)
				}
				defer func() {
					_ = srv.Shutdown(context.Background())
					st.Close()
				}()
				roots = append(roots, srv.Root())
			} else {
				_, dsn := open(b)
				for i := range c.nodes {
					srv, s := startNode(b, dsn, "127.0.0."+strconv.Itoa(i+1)+":0")
					roots = append(roots, srv.Root())
					st = s
				}
			}
			doc := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type><encoding>base64</encoding><data>` +
				base64.StdEncoding.EncodeToString(testtool.NoisyPNG(b)) + `</data></content>`)
			if _, _, err := st.Put(store.Key{AUID: "oma_status-icon", User: "sip:alice@example.test", Path: "index"}, doc, store.Condition{}); err != nil {
				b.Fatal(err)
			}
			const path = "/oma_status-icon/users/sip:alice@example.test/index"
			tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, DisableCompression: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			var next atomic.Uint64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := client.Get(roots[next.Add(1)%uint64(len(roots))] + path)
					if err != nil {
						b.Error(err)
						return
					}
					n, _ := io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 || n < 10000 {
						b.Errorf("GET: %d, %d bytes", res.StatusCode, n)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkConditionalPUT measures If-Match replacements of one resource
// list, each based on the ETag the previous one returned, on each kind of
// store (the database decides the condition).
func BenchmarkConditionalPUT(b *testing.B) {
	for _, kind := range storetest.Kinds() {
		b.Run(kind, func(b *testing.B) {
			st := storetest.Fresh(b, kind, realm)()
			defer st.Close()
			k := store.Key{AUID: "resource-lists", User: "sip:alice@example.test", Path: "index"}
			etag, _, err := st.Put(k, list(0), store.Condition{})
			if err != nil {
				b.Fatal(err)
			}
			body := list(1)
			b.ResetTimer()
			for b.Loop() {
				if etag, _, err = st.Put(k, body, store.Condition{IfMatch: etag}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
		})
	}
}
