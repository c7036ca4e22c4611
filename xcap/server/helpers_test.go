package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/xcap/store"
	"github.com/sipbuddy/sipbuddy/xcap/store/storetest"
)

// storeKind is the kind of store the suite runs on: TestMain runs every
// test once per kind storetest.Kinds names.
var storeKind = storetest.Bolt

func TestMain(m *testing.M) {
	code := 0
	for _, kind := range storetest.Kinds() {
		storeKind = kind
		fmt.Fprintf(os.Stderr, "xcap/server: the suite on the %s store\n", kind)
		if c := m.Run(); c != 0 {
			code = c
		}
	}
	os.Exit(code)
}

const testDomain = "example.test"

// env is a running XCAP server on 127.0.0.1 with users alice and bob.
type env struct {
	t       testing.TB
	srv     *HTTPServer
	st      store.Store
	open    func() store.Store // opens st again (a restart)
	root    string
	anon    *http.Client
	alice   *http.Client
	bob     *http.Client
	mu      sync.Mutex
	changes []store.Key
}

func newEnv(t *testing.T, tweak ...func(*Options)) *env { return newEnvTB(t, tweak...) }

func newEnvTB(t testing.TB, tweak ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, open: storetest.Fresh(t, storeKind, testDomain)}
	st := e.open()
	for user, pw := range map[string]string{"alice": "secret", "bob": "bobpw"} {
		if err := st.SetPassword(user, pw); err != nil {
			t.Fatal(err)
		}
	}
	e.start(st, tweak...)
	t.Cleanup(e.stop)
	return e
}

func (e *env) start(st store.Store, tweak ...func(*Options)) {
	e.st = st
	o := Options{Domain: testDomain, Store: st, OnChange: func(k store.Key) {
		e.mu.Lock()
		e.changes = append(e.changes, k)
		e.mu.Unlock()
	}}
	for _, f := range tweak {
		f(&o)
	}
	srv, err := Listen(context.Background(), "127.0.0.1:0", o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	e.root = srv.Root()
	tr := &http.Transport{}
	e.t.Cleanup(tr.CloseIdleConnections)
	e.anon = &http.Client{Transport: tr, CheckRedirect: noRedirect}
	e.alice = &http.Client{Transport: &digest.Transport{Username: "alice", Password: "secret", Transport: tr}, CheckRedirect: noRedirect}
	e.bob = &http.Client{Transport: &digest.Transport{Username: "bob", Password: "bobpw", Transport: tr}, CheckRedirect: noRedirect}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// stop shuts the server down and closes the store (idempotent).
func (e *env) stop() {
	if e.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			e.t.Errorf("shutdown: %v", err)
		}
		e.srv = nil
	}
	if e.st != nil {
		if err := e.st.Close(); err != nil {
			e.t.Errorf("store close: %v", err)
		}
		e.st = nil
	}
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (r resp) etag() string { return r.header.Get("ETag") }

// do sends a request; path is appended to the XCAP root verbatim.
func (e *env) do(c *http.Client, method, path string, body []byte, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.root+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{code: res.StatusCode, header: res.Header, body: b}
}

func (e *env) want(r resp, code int, what string) {
	e.t.Helper()
	if r.code != code {
		e.t.Fatalf("%s: status %d, want %d; body %q", what, r.code, code, r.body)
	}
}

const (
	aliceRL   = "/resource-lists/users/sip:alice@example.test/index"
	bobRL     = "/resource-lists/users/sip:bob@example.test/index"
	aliceIcon = "/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index"
	ctRL      = "application/resource-lists+xml"
	ctIcon    = "application/vnd.oma.pres-content+xml"
)

func resourceLists(names ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies">`)
	for _, n := range names {
		b.WriteString(`<entry uri="sip:` + n + `@example.test"><display-name>` + n + `</display-name></entry>`)
	}
	b.WriteString(`</list></resource-lists>`)
	return []byte(b.String())
}

// pngImage returns a w×h PNG with some texture (so it does not compress to
// nothing).
func pngImage(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 7), uint8(y * 13), uint8((x ^ y) * 31), 255})
		}
	}
	return testtool.EncodePNG(t, img)
}

// pngHeaderOnly returns a PNG signature and IHDR chunk claiming w×h pixels,
// with a valid CRC and no pixel data: a decompression-bomb header.
func pngHeaderOnly(w, h uint32) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	_ = binary.Write(&ihdr, binary.BigEndian, w)
	_ = binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{8, 6, 0, 0, 0})
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	_ = binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr.Bytes())
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	return b.Bytes()
}

// iconDoc builds a pres-content document; the base64 is wrapped at 76
// columns like Python's encodestring. An empty mimeType leaves the element
// out (the 2010 xcap-icon did).
func iconDoc(mimeType string, data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var wrapped strings.Builder
	for len(enc) > 76 {
		wrapped.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	wrapped.WriteString(enc + "\n")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<content xmlns="urn:oma:xml:prs:pres-content">`)
	if mimeType != "" {
		b.WriteString("<mime-type>" + mimeType + "</mime-type><encoding>base64</encoding>")
	}
	b.WriteString("<data>\n" + wrapped.String() + "</data></content>")
	return []byte(b.String())
}

// xcapErr parses a 409 body and returns the child element name and phrase.
func xcapErr(t *testing.T, r resp) (tag, phrase string) {
	t.Helper()
	if r.code != http.StatusConflict {
		t.Fatalf("status %d, want 409; body %q", r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != MIMEError {
		t.Fatalf("409 Content-Type %q", ct)
	}
	var doc struct {
		XMLName xml.Name `xml:"urn:ietf:params:xml:ns:xcap-error xcap-error"`
		Child   []struct {
			XMLName xml.Name
			Phrase  string `xml:"phrase,attr"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("409 body does not parse: %v\n%s", err, r.body)
	}
	if len(doc.Child) != 1 || doc.Child[0].XMLName.Space != "urn:ietf:params:xml:ns:xcap-error" {
		t.Fatalf("409 body: want exactly one xcap-error child: %s", r.body)
	}
	return doc.Child[0].XMLName.Local, doc.Child[0].Phrase
}
