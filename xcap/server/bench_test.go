package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
)

func benchEnv(b *testing.B) (*env, []byte) {
	e := newEnvTB(b)
	img := testtool.NoisyPNG(b)
	for _, p := range []string{aliceIcon, legacyIcon} {
		doc := iconDoc("image/png", img)
		if r := e.do(e.alice, "PUT", p, doc, "Content-Type", ctIcon); r.code != 201 {
			b.Fatalf("PUT %s: %d %s", p, r.code, r.body)
		}
	}
	return e, img
}

// BenchmarkIconGET measures anonymous icon GETs over real HTTP on loopback
// with keep-alive: the figure a burst of watchers sees.
func BenchmarkIconGET(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"pres-content-xml", aliceIcon},
		{"legacy-raw-png", legacyIcon},
	} {
		b.Run(c.name, func(b *testing.B) {
			e, _ := benchEnv(b)
			const parallelism = 8 // goroutines per CPU
			tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, DisableCompression: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			url := e.root + c.path
			first, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			size, _ := io.Copy(io.Discard, first.Body)
			first.Body.Close()
			b.SetBytes(size)
			b.SetParallelism(parallelism)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// discardWriter is a minimal http.ResponseWriter for the in-process variant.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkIconGETHandler measures the handler alone (no sockets).
func BenchmarkIconGETHandler(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"pres-content-xml", aliceIcon},
		{"legacy-raw-png", legacyIcon},
	} {
		b.Run(c.name, func(b *testing.B) {
			e, _ := benchEnv(b)
			h := e.srv.Handler()
			req := httptest.NewRequest("GET", "/xcap-root"+c.path, nil)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					h.ServeHTTP(w, req)
					if w.code != 200 {
						b.Errorf("status %d", w.code)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
