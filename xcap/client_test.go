package xcap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/digest"
	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// request is what a test server saw.
type request struct {
	Method, URI, Auth, IfMatch, IfNoneMatch, ContentType string
	Body                                                 []byte
}

// recorder is a small XCAP-ish test server: it checks Digest credentials with
// the project's real verifier, records every request and lets each test
// answer as it needs.
type recorder struct {
	t        *testing.T
	srv      *httptest.Server
	verifier *digest.Verifier
	mu       sync.Mutex
	reqs     []request
	handle   func(w http.ResponseWriter, r *http.Request, body []byte)
	authGET  bool // challenge GETs too
}

func newRecorder(t *testing.T, realm string, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *recorder {
	rec := &recorder{t: t, handle: handle}
	rec.verifier = digest.NewVerifier(digest.Options{Realm: realm, Password: func(user string) (string, bool) {
		if user == "alice" {
			return "secret", true
		}
		return "", false
	}})
	rec.srv = httptest.NewServer(http.HandlerFunc(rec.serve))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, request{r.Method, r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("If-Match"), r.Header.Get("If-None-Match"), r.Header.Get("Content-Type"), body})
	rec.mu.Unlock()
	if r.Method != http.MethodGet || rec.authGET {
		if _, err := rec.verifier.Verify(r.Method, r.Header.Get("Authorization")); err != nil {
			w.Header().Set("WWW-Authenticate", rec.verifier.Challenge(errors.Is(err, digest.ErrStale)))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	rec.handle(w, r, body)
}

func (rec *recorder) requests() []request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]request(nil), rec.reqs...)
}

func (rec *recorder) root() string { return rec.srv.URL + "/xcap-root" }

func (rec *recorder) client(t *testing.T, password string) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{Root: rec.root(), XUI: "sip:alice@example.test", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jpegBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	return testtool.EncodeJPEG(t, img)
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	return testtool.EncodePNG(t, image.NewNRGBA(image.Rect(0, 0, w, h)))
}

func TestDigestPutResendsBody(t *testing.T) {
	rec := newRecorder(t, "example.test", func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("ETag", `"e1"`)
		w.WriteHeader(http.StatusCreated)
	})
	c := rec.client(t, "secret")
	body := []byte(`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>`)
	resp, err := c.Put(context.Background(), AUIDResourceLists, "index", body, "application/resource-lists+xml", Condition{IfNoneMatch: "*"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 201 || resp.Status != "201 Created" || resp.ETag != "e1" {
		t.Errorf("response %+v", resp)
	}
	reqs := rec.requests()
	if len(reqs) != 2 || reqs[0].Auth != "" || reqs[1].Auth == "" {
		t.Fatalf("want challenge then authenticated retry, got %+v", reqs)
	}
	last := reqs[1]
	if !bytes.Equal(last.Body, body) || last.IfNoneMatch != "*" || last.URI != "/xcap-root/resource-lists/users/sip:alice@example.test/index" {
		t.Errorf("retry %+v", last)
	}
	if !strings.Contains(last.Auth, `username="alice"`) || !strings.Contains(last.Auth, `realm="example.test"`) {
		t.Errorf("Authorization %q", last.Auth)
	}
}

func TestWrongPasswordAndForeignRealm(t *testing.T) {
	rec := newRecorder(t, "example.test", func(w http.ResponseWriter, r *http.Request, body []byte) {})
	_, err := rec.client(t, "wrong").Delete(context.Background(), AUIDResourceLists, "index", Condition{})
	var xe *Error
	if !errors.As(err, &xe) || xe.StatusCode != 401 {
		t.Fatalf("err = %v", err)
	}
	if err.Error() != "401 Unauthorized: wrong user name or password" {
		t.Errorf("message %q", err)
	}

	// A server in another realm never gets the password.
	other := newRecorder(t, "evil.example", func(w http.ResponseWriter, r *http.Request, body []byte) {})
	_, err = other.client(t, "secret").Delete(context.Background(), AUIDResourceLists, "index", Condition{})
	if StatusCodeOf(err) != 401 {
		t.Fatalf("err = %v", err)
	}
	for _, r := range other.requests() {
		if r.Auth != "" {
			t.Errorf("credentials sent to a foreign realm: %q", r.Auth)
		}
	}
}

func TestETagsAndConditionals(t *testing.T) {
	rec := newRecorder(t, "example.test", func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.Method == http.MethodGet && r.Header.Get("If-None-Match") == `"abc"`:
			w.Header().Set("ETag", `"abc"`)
			w.WriteHeader(http.StatusNotModified)
		case r.Method == http.MethodGet:
			w.Header().Set("ETag", "abc") // bare, as Kamailio may send it
			w.Header().Set("Content-Type", "application/resource-lists+xml")
			io.WriteString(w, "<doc/>")
		case r.Header.Get("If-Match") != `"abc"`:
			w.WriteHeader(http.StatusPreconditionFailed)
		default:
			w.Header().Set("ETag", `"def"`)
			w.WriteHeader(http.StatusOK)
		}
	})
	c := rec.client(t, "secret")
	ctx := context.Background()
	doc, err := c.Get(ctx, AUIDResourceLists, "index", "")
	if err != nil {
		t.Fatal(err)
	}
	if doc.ETag != "abc" || string(doc.Body) != "<doc/>" || doc.ContentType != "application/resource-lists+xml" || doc.URL != rec.root()+"/resource-lists/users/sip:alice@example.test/index" {
		t.Errorf("doc %+v", doc)
	}
	if _, err := c.Get(ctx, AUIDResourceLists, "index", doc.ETag); !errors.Is(err, ErrNotModified) {
		t.Errorf("conditional GET: %v", err)
	}
	if _, err := c.Put(ctx, AUIDResourceLists, "index", []byte("<x/>"), "application/resource-lists+xml", Condition{IfMatch: "stale"}); StatusCodeOf(err) != 412 {
		t.Errorf("stale If-Match: %v", err)
	}
	resp, err := c.Put(ctx, AUIDResourceLists, "index", []byte("<x/>"), "application/resource-lists+xml", Condition{IfMatch: "abc"})
	if err != nil || resp.ETag != "def" || resp.StatusCode != 200 {
		t.Fatalf("PUT: %+v %v", resp, err)
	}
}

func TestXCAPErrorDetail(t *testing.T) {
	rec := newRecorder(t, "example.test", func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", ErrorMIMEType)
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<xcap-error xmlns="urn:ietf:params:xml:ns:xcap-error"><constraint-failure phrase="Unsupported MIME type. Allowed MIME types: image/jpeg,image/gif,image/png"><!-- detail --></constraint-failure></xcap-error>`)
	})
	_, err := rec.client(t, "secret").Put(context.Background(), AUIDPresContent, "oma_status-icon/x", []byte("<x/>"), icon.ContentMIMEType, Condition{})
	var xe *Error
	if !errors.As(err, &xe) {
		t.Fatal(err)
	}
	if xe.StatusCode != 409 || xe.Tag != "constraint-failure" || !strings.HasPrefix(xe.Phrase, "Unsupported MIME type") {
		t.Errorf("%+v", xe)
	}
	if want := "409 Conflict: Unsupported MIME type. Allowed MIME types: image/jpeg,image/gif,image/png"; err.Error() != want {
		t.Errorf("message %q", err)
	}
}

func TestResponseSizeLimit(t *testing.T) {
	rec := newRecorder(t, "example.test", func(w http.ResponseWriter, r *http.Request, body []byte) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for written := 0; written <= MaxResponseSize; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	_, err := rec.client(t, "").Get(context.Background(), AUIDResourceLists, "index", "")
	var tl *xmltree.LimitError
	if !errors.As(err, &tl) || tl.What != icon.WhatBody || tl.Limit != MaxResponseSize || !strings.HasSuffix(err.Error(), "the server's answer: response size is over the limit of 4 MiB") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := NewClient(ClientOptions{Root: "http://" + addr + "/xcap-root", XUI: "sip:alice@example.test", Password: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Directory(context.Background())
	var te *TransportError
	if !errors.As(err, &te) || !strings.HasPrefix(err.Error(), "cannot reach the XCAP server at "+addr+": ") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewClientRejectsBadOptions(t *testing.T) {
	for _, o := range []ClientOptions{
		{Root: "ftp://x/xcap-root", XUI: "sip:alice@example.test"},
		{Root: "http://127.0.0.1/xcap-root", XUI: "alice@example.test"},
		{Root: "http://127.0.0.1/xcap-root", XUI: "sip:alice"},
		{Root: "http://127.0.0.1/xcap-root", XUI: "sip:al/ice@example.test"},
	} {
		if _, err := NewClient(o); err == nil {
			t.Errorf("NewClient(%+v) accepted", o)
		}
	}
}

func TestSelectorEscaping(t *testing.T) {
	rec := newRecorder(t, "example.test", func(w http.ResponseWriter, r *http.Request, body []byte) { io.WriteString(w, "<x/>") })
	c := rec.client(t, "")
	if _, err := c.Get(context.Background(), AUIDResourceLists, `index/~~/resource-lists/list[@name="my friends"]`, ""); err != nil {
		t.Fatal(err)
	}
	want := "/xcap-root/resource-lists/users/sip:alice@example.test/index/~~/resource-lists/list%5B@name=%22my%20friends%22%5D"
	if got := rec.requests()[0].URI; got != want {
		t.Errorf("request URI\n got %s\nwant %s", got, want)
	}
}

const capsWithLegacy = `<?xml version="1.0" encoding="UTF-8"?>
<xcap-caps xmlns="urn:ietf:params:xml:ns:xcap-caps"><auids><auid>xcap-caps</auid><auid>resource-lists</auid>
<auid>org.openmobilealliance.pres-content</auid><auid>%s</auid></auids><namespaces><namespace>urn:oma:xml:prs:pres-content</namespace></namespaces></xcap-caps>`

// iconServer accepts icon PUTs and offers the legacy AUID in xcap-caps when
// legacy is set; with capsStatus != 200 it has no xcap-caps at all.
func iconServer(t *testing.T, legacy bool, capsStatus int) *recorder {
	return newRecorder(t, "example.test", func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/xcap-caps/global/index"):
			if capsStatus != 200 {
				w.WriteHeader(capsStatus)
				return
			}
			extra := "pidf-manipulation"
			if legacy {
				extra = AUIDLegacyIcon
			}
			w.Header().Set("Content-Type", CapsMIMEType)
			fmt.Fprintf(w, capsWithLegacy, extra)
		case r.Method == http.MethodPut:
			w.Header().Set("ETag", `"icon-etag"`)
			w.Header().Set("Content-Type", icon.ContentMIMEType)
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/xcap-root/"+AUIDLegacyIcon+"/"):
			w.WriteHeader(http.StatusNotFound)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
}

func TestUploadIconLayoutsAndDocument(t *testing.T) {
	name := regexp.MustCompile(`^[A-Za-z0-9]{20}\.jpg$`)
	cases := []struct {
		legacy     bool
		capsStatus int
		prefix     string
	}{
		{true, 200, "/xcap-root/oma_status-icon/users/sip:alice@example.test/"},
		{false, 200, "/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/"},
		{false, 501, "/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/"}, // Kamailio
	}
	for _, tc := range cases {
		rec := iconServer(t, tc.legacy, tc.capsStatus)
		c := rec.client(t, "secret")
		up, err := c.UploadIcon(context.Background(), jpegBytes(t, 1024, 768), "")
		if err != nil {
			t.Fatal(err)
		}
		if !name.MatchString(up.Name) || up.URL != rec.srv.URL+tc.prefix+up.Name || up.ETag != "icon-etag" || up.Format != icon.JPEG || up.Side != icon.Side {
			t.Errorf("upload %+v", up)
		}
		var put *request
		for _, r := range rec.requests() {
			if r.Method == http.MethodPut && r.Auth != "" {
				put = &r
			}
		}
		if put == nil || put.URI != tc.prefix+up.Name || put.ContentType != icon.ContentMIMEType || put.IfNoneMatch != "*" {
			t.Fatalf("PUT %+v", put)
		}
		content, err := icon.ParseContent(put.Body)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := icon.Check(content.Data, icon.DefaultLimits)
		if err != nil || cfg.Format != icon.JPEG || cfg.Width != 256 || cfg.Height != 256 || content.MIMEType != "image/jpeg" || content.Encoding != "base64" {
			t.Errorf("stored icon %+v %+v %v", content.MIMEType, cfg, err)
		}
	}
}

func TestUploadIconFixedName(t *testing.T) {
	rec := iconServer(t, false, 200)
	url, etag, err := rec.client(t, "secret").PutIcon(context.Background(), pngBytes(t, 40, 60), BlinkIconName)
	if err != nil || etag != "icon-etag" || !strings.HasSuffix(url, "/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index") {
		t.Fatalf("%s %s %v", url, etag, err)
	}
	for _, r := range rec.requests() {
		if r.Method == http.MethodPut && r.IfNoneMatch != "" {
			t.Errorf("a fixed name must be replaceable, sent If-None-Match %q", r.IfNoneMatch)
		}
	}
	if _, _, err := rec.client(t, "secret").PutIcon(context.Background(), pngBytes(t, 4, 4), "../x"); !errors.Is(err, ErrInvalidIconName) {
		t.Errorf("bad name: %v", err)
	}
}

func TestUploadIconRejectsLocallyWithoutRequests(t *testing.T) {
	bomb := pngBytes(t, 1, 1)
	// Rewrite the IHDR dimensions to 30000x30000 and fix its CRC: a valid
	// header in front of a 1-pixel image.
	copy(bomb[16:24], []byte{0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30})
	binary.BigEndian.PutUint32(bomb[29:33], crc32.ChecksumIEEE(bomb[12:29]))
	cases := map[string]struct {
		data  []byte
		check func(error) bool
	}{
		"text": {[]byte("hello, world\n"), func(err error) bool { return errors.Is(err, icon.ErrNotImage) }},
		"bomb": {bomb, func(err error) bool { var le *xmltree.LimitError; return errors.As(err, &le) && le.Actual == 30000 }},
		"20 MiB": {append(jpegBytes(t, 8, 8), make([]byte, icon.UploadMaxBytes)...), func(err error) bool {
			var le *xmltree.LimitError
			return errors.As(err, &le) && le.What == icon.WhatBytes
		}},
	}
	for name, tc := range cases {
		rec := iconServer(t, true, 200)
		_, err := rec.client(t, "secret").UploadIcon(context.Background(), tc.data, "")
		if !tc.check(err) {
			t.Errorf("%s: %v", name, err)
		}
		if n := len(rec.requests()); n != 0 {
			t.Errorf("%s: %d requests reached the server", name, n)
		}
	}
}

func TestDeleteIconFallsBackToOtherLayout(t *testing.T) {
	rec := iconServer(t, true, 200) // legacy offered, but legacy DELETE answers 404
	resp, err := rec.client(t, "secret").DeleteIcon(context.Background(), "index")
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.URL, "/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index") {
		t.Fatalf("%+v %v", resp, err)
	}
}

func TestFetchIcon(t *testing.T) {
	img := pngBytes(t, 16, 16)
	doc := (&icon.Content{MIMEType: "image/png", Data: img}).Marshal()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.RequestURI+" "+r.Header.Get("If-None-Match")+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		switch r.URL.Path {
		case "/modern":
			w.Header().Set("Content-Type", icon.ContentMIMEType)
			w.Write(doc)
		case "/legacy": // OpenXCAP 1.x: raw bytes labelled as XML
			w.Header().Set("Content-Type", icon.ContentMIMEType)
			w.Write(img)
		case "/plain": // a web server, XML without the type
			w.Header().Set("Content-Type", "text/plain")
			w.Write(doc)
		case "/text":
			w.Write([]byte("not an icon"))
		case "/huge":
			w.Write(make([]byte, MaxIconResponseSize+1))
		case "/tiff":
			w.Header().Set("Content-Type", icon.ContentMIMEType)
			w.Write((&icon.Content{MIMEType: "image/tiff", Data: img}).Marshal())
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, p := range []string{"/modern#blink-icon0123", "/legacy", "/plain"} {
		data, etag, err := FetchIcon(ctx, nil, srv.URL+p, "")
		if err != nil || !bytes.Equal(data, img) || etag != "v1" {
			t.Errorf("%s: %d bytes, etag %q, %v", p, len(data), etag, err)
		}
	}
	if _, etag, err := FetchIcon(ctx, nil, srv.URL+"/modern", "v1"); !errors.Is(err, ErrNotModified) || etag != "v1" {
		t.Errorf("304: %q %v", etag, err)
	}
	if _, _, err := FetchIcon(ctx, nil, srv.URL+"/text", ""); !errors.Is(err, icon.ErrNotImage) {
		t.Errorf("text: %v", err)
	}
	if _, _, err := FetchIcon(ctx, nil, srv.URL+"/tiff", ""); !errors.Is(err, icon.ErrUnsupportedFormat) {
		t.Errorf("tiff: %v", err)
	}
	var tl *xmltree.LimitError
	if _, _, err := FetchIcon(ctx, nil, srv.URL+"/huge", ""); !errors.As(err, &tl) || tl.What != icon.WhatBody {
		t.Errorf("huge: %v", err)
	}
	if _, _, err := FetchIcon(ctx, nil, srv.URL+"/gone", ""); !IsNotFound(err) {
		t.Errorf("404: %v", err)
	}
	if _, _, err := FetchIcon(ctx, nil, "file:///etc/passwd", ""); err == nil {
		t.Error("file URL accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	if seen[0] != "/modern  " {
		t.Errorf("first request %q: fragment or credentials sent", seen[0])
	}
	if seen[3] != `/modern "v1" ` {
		t.Errorf("conditional request %q", seen[3])
	}
}
