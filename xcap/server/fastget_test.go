package server

import (
	"bufio"
	"bytes"
	"github.com/sipbuddy/sipbuddy/xcap/store/storetest"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawConn is a keep-alive connection to the server written by hand, so a
// test controls exactly what goes on the wire (pipelining, header forms).
type rawConn struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func (e *env) raw(t *testing.T) *rawConn {
	c, err := net.Dial("tcp", e.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, c: c, rd: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) read() resp {
	r.t.Helper()
	res, err := http.ReadResponse(r.rd, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp{code: res.StatusCode, header: res.Header, body: b}
}

// putPNGIcon stores img as alice's legacy icon (a pres-content document of
// image/png) and checks the status: 201 for a new icon, 200 for a
// replacement.
func (e *env) putPNGIcon(img []byte, code int) resp {
	e.t.Helper()
	r := e.do(e.alice, "PUT", legacyIcon, iconDoc("image/png", img), "Content-Type", ctIcon)
	e.want(r, code, "PUT legacy icon")
	return r
}

// rootPath is the path of the XCAP root (e.root without scheme and host).
func rootPath(e *env) string {
	return e.root[strings.Index(e.root[len("http://"):], "/")+len("http://"):]
}

func TestFastIconGETAnswersLikeNetHTTP(t *testing.T) {
	e := newEnv(t)
	img := pngImage(t, 64, 64)
	put := e.putPNGIcon(img, 201)
	path := rootPath(e) + legacyIcon

	r := e.raw(t)
	// Two GETs in one write (pipelined), the second asking for the XML.
	r.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nUser-Agent: wrk\r\n\r\n" +
		"GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: application/vnd.oma.pres-content+xml\r\n\r\n")
	first, second := r.read(), r.read()
	if first.code != 200 || !bytes.Equal(first.body, img) || first.header.Get("Content-Type") != "image/png" ||
		first.etag() != put.etag() || first.header.Get("Vary") != "Accept" || first.header.Get("Date") == "" {
		t.Fatalf("fast GET: %d %v, image %v", first.code, first.header, bytes.Equal(first.body, img))
	}
	if second.code != 200 || !bytes.Equal(second.body, iconDoc("image/png", img)) || second.header.Get("Content-Type") != ctIcon {
		t.Fatalf("fast GET asking for XML: %d %v", second.code, second.header)
	}
	// The same connection goes on with what the fast path does not
	// answer: a conditional GET, then an authenticated PUT.
	r.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + put.etag() + "\r\n\r\n")
	if got := r.read(); got.code != 304 {
		t.Fatalf("conditional GET on a fast connection: %d", got.code)
	}
	r.send("PUT " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + ctIcon + "\r\nContent-Length: 3\r\n\r\nabc")
	if got := r.read(); got.code != 401 {
		t.Fatalf("PUT without credentials on a fast connection: %d", got.code)
	}

	// A replaced icon is served new at once.
	img2 := pngImage(t, 32, 32)
	e.putPNGIcon(img2, 200)
	r2 := e.raw(t)
	r2.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := r2.read(); !bytes.Equal(got.body, img2) {
		t.Fatal("the fast path served the replaced icon")
	}
	e.want(e.do(e.alice, "DELETE", legacyIcon, nil), 200, "delete")
	r2.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := r2.read(); got.code != 404 {
		t.Fatalf("GET after DELETE: %d", got.code)
	}
}

func TestFastPathLeavesOddRequestsToNetHTTP(t *testing.T) {
	e := newEnv(t)
	path := rootPath(e) + legacyIcon
	e.putPNGIcon(pngImage(t, 16, 16), 201)
	for _, c := range []struct {
		name, req string
		code      int
	}{
		{"no Host", "GET " + path + " HTTP/1.1\r\n\r\n", 400},
		{"bare LF", "GET " + path + " HTTP/1.1\nHost: x\n\n", 200},
		{"HTTP/1.0", "GET " + path + " HTTP/1.0\r\n\r\n", 200},
		{"HEAD", "HEAD " + path + " HTTP/1.1\r\nHost: x\r\n\r\n", 200},
		{"unknown document", "GET " + rootPath(e) + "/oma_status-icon/users/sip:bob@example.test/none HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"header larger than the fast buffer", "GET " + path + " HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", FastReadBufferBytes) + "\r\n\r\n", 200},
	} {
		r := e.raw(t)
		r.send(c.req)
		res, err := http.ReadResponse(r.rd, &http.Request{Method: strings.Fields(c.req)[0]})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		res.Body.Close()
		if res.StatusCode != c.code {
			t.Errorf("%s: status %d, want %d", c.name, res.StatusCode, c.code)
		}
	}
}

// discardConn is a net.Conn that writes nowhere: the fast path's answer
// without a socket, for counting its allocations.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }

func TestFastIconGETDoesNotAllocate(t *testing.T) {
	skipUnlessBolt(t)
	e := newEnv(t)
	e.putPNGIcon(pngImage(t, 64, 64), 201)
	f := e.srv.fast
	if f == nil {
		t.Fatal("no fast path on a bbolt store")
	}
	req := []byte("GET " + rootPath(e) + legacyIcon + " HTTP/1.1\r\nHost: 127.0.0.1:8462\r\nAccept: */*\r\nUser-Agent: wrk\r\n\r\n")
	fc := &fastConn{Conn: discardConn{}}
	if !f.answer(fc, req) {
		t.Fatal("the fast path did not answer a plain icon GET")
	}
	if n := testing.AllocsPerRun(100, func() { f.answer(fc, req) }); n != 0 {
		t.Errorf("a fast icon GET made %.0f allocations", n)
	}
}

// FuzzFastRequest feeds the fast path's request parser arbitrary header
// blocks: it must never panic, and whatever it answers itself must be a
// request net/http reads as a plain GET of that icon (in any of the path
// forms that name it), with a Host and no condition or body.
func FuzzFastRequest(f *testing.F) {
	skipUnlessBolt(f)
	e := newEnvTB(f)
	e.putPNGIcon(pngImage(f, 8, 8), 201)
	path := rootPath(e) + legacyIcon
	f.Add([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\nAccept: text/xml;q=1, */*\r\nConnection: keep-alive\r\n\r\n"))
	f.Add([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"e\"\r\n\r\n"))
	f.Add([]byte("GET " + path + " HTTP/1.1\r\n Host: x\r\n\r\n"))
	f.Add([]byte("GET " + path + "?x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
	fc := &fastConn{Conn: discardConn{}}
	f.Fuzz(func(t *testing.T, req []byte) {
		end, ok := headerEnd(req)
		if !ok {
			return
		}
		req = req[:end]
		if !e.srv.fast.answer(fc, req) {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req)))
		if err != nil {
			t.Fatalf("answered %q, which net/http refuses: %v", req, err)
		}
		rest, _ := strings.CutPrefix(r.RequestURI, e.srv.Handler().RootPath())
		u, err := ParseURI(rest, testDomain)
		if err != nil || u.AUID != AUIDLegacyStatusIcon || u.XUI != "sip:alice@example.test" || u.Document != legacyIcon[strings.LastIndexByte(legacyIcon, '/')+1:] ||
			r.Method != "GET" || r.Host == "" || r.ContentLength > 0 ||
			r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Match") != "" || len(r.TransferEncoding) > 0 {
			t.Fatalf("answered %q as a plain GET of %s: net/http reads %s %s host %q (%+v %v)", req, path, r.Method, r.RequestURI, r.Host, u, err)
		}
	})
}

// skipUnlessBolt skips the fast path's own tests on the other stores: the
// fast path serves only a bbolt store, whose file lock makes this process
// its only writer (the suite runs once per store kind).
func skipUnlessBolt(t testing.TB) {
	if storeKind != storetest.Bolt {
		t.Skipf("the icon fast path serves bbolt stores only, this run is on %v", storeKind)
	}
}
