package server

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"image"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

const legacyIcon = "/oma_status-icon/users/sip:alice@example.test/UsRfcDxIAMgGYj8zuXOH.png"

func TestModernIconPublicGETReturnsXML(t *testing.T) {
	e := newEnv(t)
	img := pngImage(t, 64, 48) // the modern AUID does not require a square
	doc := iconDoc("image/png", img)
	e.want(e.do(e.anon, "PUT", aliceIcon, doc, "Content-Type", ctIcon), 401, "anonymous PUT")
	r := e.do(e.alice, "PUT", aliceIcon, doc, "Content-Type", ctIcon)
	e.want(r, 201, "PUT icon")
	etag := r.etag()
	for i := 0; i < 2; i++ { // second GET is served from the cache
		g := e.do(e.anon, "GET", aliceIcon, nil)
		e.want(g, 200, "anonymous GET")
		if g.header.Get("Content-Type") != "application/vnd.oma.pres-content+xml" || g.etag() != etag || !bytes.Equal(g.body, doc) {
			t.Fatalf("GET: %q %q body equal %v", g.header.Get("Content-Type"), g.etag(), bytes.Equal(g.body, doc))
		}
	}
	e.want(e.do(e.anon, "GET", aliceIcon, nil, "If-None-Match", strings.Trim(etag, `"`)), 304, "bare If-None-Match (Blink)")
	// Replace: the cache must not serve the old icon.
	doc2 := iconDoc("image/png", pngImage(t, 32, 32))
	r = e.do(e.alice, "PUT", aliceIcon, doc2, "Content-Type", ctIcon, "If-Match", etag)
	e.want(r, 200, "replace icon")
	g := e.do(e.anon, "GET", aliceIcon, nil)
	if g.etag() != r.etag() || !bytes.Equal(g.body, doc2) {
		t.Fatal("GET after replace returned the old icon")
	}
	e.want(e.do(e.bob, "DELETE", aliceIcon, nil), 403, "bob deletes alice's icon")
	e.want(e.do(e.alice, "DELETE", aliceIcon, nil), 200, "alice deletes her icon")
	e.want(e.do(e.anon, "GET", aliceIcon, nil), 404, "GET after delete")
}

func TestLegacyIconGETReturnsImage(t *testing.T) {
	e := newEnv(t)
	img := pngImage(t, 256, 256)
	// The 2010 xcap-icon sent only <data>, base64 wrapped at 76 columns.
	doc := iconDoc("", img)
	r := e.do(e.alice, "PUT", legacyIcon, doc, "Content-Type", ctIcon)
	e.want(r, 201, "legacy PUT without mime-type")
	g := e.do(e.anon, "GET", legacyIcon, nil)
	e.want(g, 200, "legacy GET")
	if g.header.Get("Content-Type") != "image/png" || g.etag() != r.etag() || !bytes.Equal(g.body, img) {
		t.Fatalf("legacy GET: %q %q, body is the image: %v", g.header.Get("Content-Type"), g.etag(), bytes.Equal(g.body, img))
	}
	x := e.do(e.anon, "GET", legacyIcon, nil, "Accept", "application/vnd.oma.pres-content+xml")
	if x.code != 200 || x.header.Get("Content-Type") != ctIcon || !bytes.Equal(x.body, doc) || x.etag() != r.etag() {
		t.Fatalf("legacy GET asking for XML: %d %q", x.code, x.header.Get("Content-Type"))
	}
	e.want(e.do(e.anon, "GET", legacyIcon, nil, "If-None-Match", r.etag()), 304, "legacy revalidation")

	// JPEG with the jpg subtype the old server insisted on.
	src, _, err := image.Decode(bytes.NewReader(pngImage(t, 100, 100)))
	if err != nil {
		t.Fatal(err)
	}
	jb := testtool.EncodeJPEG(t, src)
	p := "/oma_status-icon/users/sip:alice@example.test/photo.jpg"
	e.want(e.do(e.alice, "PUT", p, iconDoc("image/jpg", jb), "Content-Type", ctIcon), 201, "legacy JPEG")
	if g := e.do(e.anon, "GET", p, nil); g.header.Get("Content-Type") != "image/jpeg" || !bytes.Equal(g.body, jb) {
		t.Fatalf("legacy JPEG GET: %q", g.header.Get("Content-Type"))
	}
	e.want(e.do(e.alice, "PUT", "/oma_status-icon/users/sip:alice@example.test/a/b", doc, "Content-Type", ctIcon), 201,
		"legacy name with a sub-path")
}

func TestIconLimits(t *testing.T) {
	e := newEnv(t)
	png := pngImage(t, 32, 32)
	for _, c := range []struct {
		name, path string
		body       []byte
		tag        string
		phrase     string // substring; exact when it starts with "="
	}{
		{"raw PNG instead of XML", aliceIcon, png, "not-well-formed", ""},
		{"non-image data", aliceIcon, iconDoc("image/png", []byte("hello, this is not an image at all")), "constraint-failure", "not an image"},
		{"PNG header claiming 30000x30000", aliceIcon, iconDoc("image/png", pngHeaderOnly(30000, 30000)), "constraint-failure", "30000x30000"},
		{"PNG header claiming 30000x30000 (legacy)", legacyIcon, iconDoc("image/png", pngHeaderOnly(30000, 30000)), "constraint-failure", "=" + legacySizePhrase},
		{"truncated PNG", aliceIcon, iconDoc("image/png", png[:len(png)/2]), "constraint-failure", "damaged"},
		{"mime-type missing (modern)", aliceIcon, iconDoc("", png), "constraint-failure", "=Unsupported MIME type. Allowed MIME types: image/jpeg,image/gif,image/png"},
		{"webp mime-type", aliceIcon, iconDoc("image/webp", png), "constraint-failure", "Unsupported MIME type"},
		{"mime-type says jpeg, data is png", aliceIcon, iconDoc("image/jpeg", png), "constraint-failure", "image/png"},
		{"no data", aliceIcon, []byte(`<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type></content>`), "constraint-failure", "=No icon data was provided"},
		{"bad encoding", aliceIcon, []byte(`<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type><encoding>hex</encoding><data>00</data></content>`), "constraint-failure", "encoding"},
		{"not base64", aliceIcon, []byte(`<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type><data>!!!!</data></content>`), "constraint-failure", "base64"},
		{"wrong namespace", aliceIcon, []byte(`<content xmlns="urn:example"><data>AAAA</data></content>`), "schema-validation-error", ""},
		{"non-square (legacy)", legacyIcon, iconDoc("image/png", pngImage(t, 64, 32)), "constraint-failure", "=" + legacySizePhrase},
		{"300x300 (legacy)", legacyIcon, iconDoc("image/png", pngImage(t, 300, 300)), "constraint-failure", "=" + legacySizePhrase},
	} {
		tag, phrase := xcapErr(t, e.do(e.alice, "PUT", c.path, c.body, "Content-Type", ctIcon))
		ok := tag == c.tag
		if p, exact := strings.CutPrefix(c.phrase, "="); exact {
			ok = ok && phrase == p
		} else {
			ok = ok && strings.Contains(phrase, c.phrase)
		}
		if !ok {
			t.Errorf("%s: <%s phrase=%q>, want <%s> phrase %q", c.name, tag, phrase, c.tag, c.phrase)
		}
	}

	// More than 307200 base64 characters, but under the body limit.
	data := strings.Repeat("A", icon.MaxIconDataChars+4)
	over := []byte(`<content xmlns="urn:oma:xml:prs:pres-content"><mime-type>image/png</mime-type><data>` + data + `</data></content>`)
	tag, phrase := xcapErr(t, e.do(e.alice, "PUT", aliceIcon, over, "Content-Type", ctIcon))
	if tag != "constraint-failure" || phrase != "Size limit exceeded, maximum allowed size is 307200 bytes" {
		t.Errorf("data over 307200 chars: <%s phrase=%q>", tag, phrase)
	}

	// A 20 MB body is refused before it is read.
	huge := bytes.Repeat([]byte("A"), 20<<20)
	e.want(e.do(e.alice, "PUT", aliceIcon, huge, "Content-Type", ctIcon), 413, "20 MB icon body")
	e.want(e.do(e.anon, "GET", aliceIcon, nil), 404, "nothing stored by the rejected PUTs")
	e.want(e.do(e.anon, "GET", legacyIcon, nil), 404, "nothing stored by the rejected legacy PUTs")

	// Other documents under the pres-content AUID are not icons.
	e.want(e.do(e.alice, "PUT", "/org.openmobilealliance.pres-content/users/sip:alice@example.test/other/x",
		[]byte(`<content xmlns="urn:oma:xml:prs:pres-content"><data>text</data></content>`), "Content-Type", ctIcon), 201, "non-icon pres-content")

	// A base64 body OpenXCAP would accept: 76-column lines and a description.
	ok := iconDoc("image/png", png)
	ok = bytes.Replace(ok, []byte("<data>"), []byte(`<description xml:lang="en">me</description><data>`), 1)
	e.want(e.do(e.alice, "PUT", aliceIcon, ok, "Content-Type", ctIcon+";charset=utf-8"), 201, "valid icon")
	var back struct {
		Data string `xml:"urn:oma:xml:prs:pres-content data"`
	}
	g := e.do(e.anon, "GET", aliceIcon, nil)
	if err := xml.Unmarshal(g.body, &back); err != nil {
		t.Fatal(err)
	}
	dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(back.Data), ""))
	if err != nil || !bytes.Equal(dec, png) {
		t.Fatalf("stored icon does not decode to the PNG: %v", err)
	}
}

func TestIconCacheStaysWithinBounds(t *testing.T) {
	s := &Server{cache: map[string]*cachedIcon{}}
	big := make([]byte, MaxIconCacheBytes/16)
	for i := 0; i < 2*MaxCachedIcons; i++ {
		ic := &cachedIcon{etag: "e", xml: big[:i%1000+1]}
		if i%100 == 0 {
			ic.xml = big
		}
		s.cachePut(strings.Repeat("k", i%50)+string(rune('a'+i%26))+strings.Repeat("x", i/1300), ic, 0)
		if len(s.cache) > MaxCachedIcons || s.cacheBytes > MaxIconCacheBytes {
			t.Fatalf("after %d puts: %d entries, %d bytes", i+1, len(s.cache), s.cacheBytes)
		}
	}
	total := 0
	for _, ic := range s.cache {
		total += ic.size()
	}
	if total != s.cacheBytes {
		t.Fatalf("cacheBytes %d, entries hold %d", s.cacheBytes, total)
	}
	s.cachePut("huge", &cachedIcon{xml: make([]byte, MaxIconCacheBytes/16+1)}, 0)
	if _, ok := s.cache["huge"]; ok {
		t.Fatal("an entry over the per-entry bound was cached")
	}
}
