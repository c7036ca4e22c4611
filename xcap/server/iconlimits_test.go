package server

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// deepPNG is the probe's icon: 2048x2048 RGBA at 16 bits a channel,
// inside the pixel and side limits, about 44 KB on the wire and 32 MiB
// decoded. It is written chunk by chunk (png.Encode of a 32 MiB image is
// slow under -race): black pixels, filter type 0.
func deepPNG(t *testing.T) []byte {
	t.Helper()
	const side, bytesPerPixel = MaxIconSide, 8
	var idat bytes.Buffer
	zw, err := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]byte, 1+side*bytesPerPixel)
	for range side {
		if _, err := zw.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], side)
	binary.BigEndian.PutUint32(ihdr[4:], side)
	ihdr[8], ihdr[9] = 16, 6 // 16-bit RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	if cfg, err := png.DecodeConfig(bytes.NewReader(b.Bytes())); err != nil || cfg.Width != side || cfg.ColorModel != color.NRGBA64Model {
		t.Fatalf("the probe's PNG: %+v %v", cfg, err)
	}
	return b.Bytes()
}

// concurrentIconPUTs is how many icon PUTs the concurrency tests send at
// once: more than MaxConcurrentIconValidations, so that some must wait.
const concurrentIconPUTs = 16

// putIconConcurrently PUTs image (PNG) as alice's pres-content icon to n
// different paths (iconPaths), all at once, each on its own connection,
// and returns the answers.
func (e *env) putIconConcurrently(n int, image []byte) []resp {
	paths := iconPaths(n)
	doc := iconDoc("image/png", image)
	out := make([]resp, len(paths))
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range paths {
		wg.Go(func() {
			c := &http.Client{Transport: &digest.Transport{Username: "alice", Password: "secret", Transport: &http.Transport{}}}
			<-start
			req, err := http.NewRequest("PUT", e.root+paths[i], bytes.NewReader(doc))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", ctIcon)
			res, err := c.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			out[i] = resp{code: res.StatusCode, header: res.Header, body: b}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			e.t.Fatalf("PUT %s: %v", paths[i], err)
		}
	}
	return out
}

func iconPaths(n int) []string {
	p := make([]string, n)
	for i := range p {
		p[i] = fmt.Sprintf("/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/n%d", i)
	}
	return p
}

func TestIconPUTRefusesLargeDecodeFromHeader(t *testing.T) {
	e := newEnv(t)
	data := deepPNG(t)
	if len(data) > 60<<10 {
		t.Fatalf("the probe's PNG is %d bytes, want about 44 KB", len(data))
	}
	for i, r := range e.putIconConcurrently(concurrentIconPUTs, data) {
		if r.code != http.StatusConflict {
			t.Fatalf("PUT %d of a 2048x2048 16-bit PNG: status %d, want 409; body %q", i, r.code, r.body)
		}
		tag, phrase := xcapErr(t, r)
		want := "2048x2048 pixels: the memory to decode it is 32 MiB, the limit is 16 MiB"
		if tag != "constraint-failure" || !strings.Contains(phrase, want) {
			t.Fatalf("PUT %d: <%s> %q, want constraint-failure saying %q", i, tag, phrase, want)
		}
	}
	if got := e.srv.Handler().iconValidatingPeak.Load(); got > MaxConcurrentIconValidations {
		t.Errorf("%d icon validations ran at once, the bound is %d", got, MaxConcurrentIconValidations)
	}
}

func TestIconPUTsWaitForAValidationSlot(t *testing.T) {
	e := newEnv(t)
	// Icons that pass and take a while to decode (the largest, 2048x2048,
	// decodes too slowly under -race for a test).
	img := pngImage(t, 512, 512)
	for i, r := range e.putIconConcurrently(concurrentIconPUTs, img) {
		if r.code != http.StatusCreated {
			t.Fatalf("PUT %d of a 512x512 PNG: status %d, want 201 (callers wait for a slot); body %q", i, r.code, r.body)
		}
	}
	if got := e.srv.Handler().iconValidatingPeak.Load(); got < 1 || got > MaxConcurrentIconValidations {
		t.Errorf("%d icon validations ran at once, want 1..%d", got, MaxConcurrentIconValidations)
	}
}

func TestIconPUTBusyIs503WithRetryAfter(t *testing.T) {
	e := newEnv(t)
	h := e.srv.Handler()
	h.iconWait = 50 * time.Millisecond
	for range MaxConcurrentIconValidations { // every slot taken by someone else
		h.iconSlots <- struct{}{}
	}
	doc := iconDoc("image/png", pngImage(t, 32, 32))
	r := e.do(e.alice, "PUT", aliceIcon, doc, "Content-Type", ctIcon)
	e.want(r, http.StatusServiceUnavailable, "PUT while every validation slot is busy")
	if got := r.header.Get("Retry-After"); got != fmt.Sprint(IconRetryAfterSeconds) {
		t.Errorf("Retry-After %q, want %d", got, IconRetryAfterSeconds)
	}
	if !strings.Contains(string(r.body), "try again") {
		t.Errorf("body %q does not tell the user what to do", r.body)
	}
	e.want(e.do(e.anon, "GET", aliceIcon, nil), http.StatusNotFound, "the refused icon was not stored")
	// Documents that are not icons do not wait.
	e.want(e.do(e.alice, "PUT", aliceRL, resourceLists("a"), "Content-Type", ctRL), http.StatusCreated, "resource-lists PUT while icons are busy")
	<-h.iconSlots
	e.want(e.do(e.alice, "PUT", aliceIcon, doc, "Content-Type", ctIcon), http.StatusCreated, "PUT once a slot is free")
}
