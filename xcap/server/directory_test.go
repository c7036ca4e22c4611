package server

import (
	"context"
	"encoding/xml"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

type dirDoc struct {
	XMLName xml.Name    `xml:"urn:oma:xml:xdm:xcap-directory xcap-directory"`
	Folders []dirFolder `xml:"folder"`
}

type dirFolder struct {
	XMLName xml.Name `xml:"folder"`
	AUID    string   `xml:"auid,attr"`
	Entries []struct {
		URI  string `xml:"uri,attr"`
		ETag string `xml:"etag,attr"`
		Size int    `xml:"size,attr"`
	} `xml:"entry"`
}

func TestDirectory(t *testing.T) {
	e := newEnv(t)
	etags := map[string]string{}
	put := func(path, ct string, body []byte) {
		r := e.do(e.alice, "PUT", path, body, "Content-Type", ct)
		e.want(r, 201, "PUT "+path)
		etags[e.root+path] = strings.Trim(r.etag(), `"`)
	}
	put(aliceRL, ctRL, resourceLists("bob"))
	put(aliceIcon, ctIcon, iconDoc("image/png", pngImage(t, 16, 16)))
	put(legacyIcon, ctIcon, iconDoc("", pngImage(t, 16, 16)))
	e.want(e.do(e.bob, "PUT", bobRL, resourceLists("x"), "Content-Type", ctRL), 201, "bob's list")

	for _, name := range []string{"index", "directory.xml"} {
		r := e.do(e.alice, "GET", "/org.openmobilealliance.xcap-directory/users/sip:alice@example.test/"+name, nil)
		e.want(r, 200, "directory "+name)
		if ct := r.header.Get("Content-Type"); ct != "application/vnd.oma.xcap-directory+xml" {
			t.Fatalf("directory Content-Type %q", ct)
		}
		quoted(t, r.etag())
		var d dirDoc
		if err := xml.Unmarshal(r.body, &d); err != nil {
			t.Fatalf("directory does not parse: %v\n%s", err, r.body)
		}
		got := map[string]string{}
		var auids []string
		for _, f := range d.Folders {
			auids = append(auids, f.AUID)
			for _, en := range f.Entries {
				got[en.URI] = en.ETag
				if !strings.HasPrefix(en.URI, e.root+"/"+f.AUID+"/users/sip:alice@example.test/") || en.Size == 0 {
					t.Errorf("entry %+v in folder %s", en, f.AUID)
				}
			}
		}
		if strings.Join(auids, ",") != "resource-lists,org.openmobilealliance.pres-content,oma_status-icon" {
			t.Fatalf("folders %v", auids)
		}
		if len(got) != len(etags) {
			t.Fatalf("entries %v, want %v", got, etags)
		}
		for uri, etag := range etags {
			if got[uri] != etag {
				t.Errorf("entry %s etag %q, want %q (unquoted)", uri, got[uri], etag)
			}
		}
	}

	// Element GET of one folder, as xcap-icon asks for it (raw) and as RFC
	// 4825 clients send it (percent-encoded).
	for _, sel := range []string{
		`/index/~~/xcap-directory/folder[@auid="oma_status-icon"]`,
		`/index/~~/xcap-directory/folder%5B@auid=%22oma_status-icon%22%5D`,
		`/directory.xml/~~/xcap-directory/folder%5b%40auid%3d'oma_status-icon'%5d`,
	} {
		r := e.do(e.alice, "GET", "/org.openmobilealliance.xcap-directory/users/sip:alice@example.test"+sel, nil)
		e.want(r, 200, "folder GET "+sel)
		if ct := r.header.Get("Content-Type"); ct != "application/xcap-el+xml" {
			t.Fatalf("folder Content-Type %q", ct)
		}
		var f dirFolder
		if err := xml.Unmarshal(r.body, &f); err != nil || f.AUID != "oma_status-icon" || len(f.Entries) != 1 ||
			f.Entries[0].URI != e.root+legacyIcon || f.XMLName.Space != "urn:oma:xml:xdm:xcap-directory" {
			t.Fatalf("folder element: %+v %v\n%s", f, err, r.body)
		}
	}
	e.want(e.do(e.alice, "GET", `/org.openmobilealliance.xcap-directory/users/sip:alice@example.test/index/~~/xcap-directory/folder[@auid="rls-services"]`, nil),
		404, "folder of an AUID without documents")
	e.want(e.do(e.alice, "GET", `/org.openmobilealliance.xcap-directory/users/sip:alice@example.test/index/~~/xcap-directory/folder`, nil),
		404, "ambiguous node selector")
	e.want(e.do(e.bob, "GET", "/org.openmobilealliance.xcap-directory/users/sip:alice@example.test/index", nil), 403, "bob reads alice's directory")
	e.want(e.do(e.anon, "GET", "/org.openmobilealliance.xcap-directory/users/sip:alice@example.test/index", nil), 401, "anonymous directory")
}

func TestNodeSelectorGET(t *testing.T) {
	e := newEnv(t)
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:x">
  <rl:list name="buddies">
    <rl:entry uri="sip:bob@example.test"><rl:display-name>Bob</rl:display-name></rl:entry>
    <rl:entry uri="sip:carol@example.test" x:tag="a&quot;b"><rl:display-name>Carol</rl:display-name></rl:entry>
    <rl:external anchor="http://127.0.0.1/xcap-root/resource-lists/users/sip:x@example.test/index/~~/resource-lists/list%5B@name=%22a%22%5D"/>
  </rl:list>
  <rl:list name="a//b"/>
</rl:resource-lists>`
	r := e.do(e.alice, "PUT", aliceRL, []byte(doc), "Content-Type", ctRL)
	e.want(r, 201, "PUT")
	etag := r.etag()
	for _, c := range []struct{ sel, ct, body string }{
		{`/resource-lists/list[@name="buddies"]/entry[2]/display-name`, MIMEElement,
			`<rl:display-name xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:x">Carol</rl:display-name>`},
		{`/resource-lists/list%5B1%5D/entry%5B@uri=%22sip:bob@example.test%22%5D/@uri`, MIMEAttribute, `sip:bob@example.test`},
		// "//" inside a predicate: must be neither cleaned nor redirected.
		{`/resource-lists/list[@name="a//b"]/@name`, MIMEAttribute, `a//b`},
		{`/resource-lists/list[1]/external/@anchor`, MIMEAttribute,
			`http://127.0.0.1/xcap-root/resource-lists/users/sip:x@example.test/index/~~/resource-lists/list%5B@name=%22a%22%5D`},
		{`/*/*[2]/@name`, MIMEAttribute, `a//b`},
	} {
		g := e.do(e.alice, "GET", aliceRL+"/~~"+c.sel, nil)
		if g.code != 200 || g.header.Get("Content-Type") != c.ct || string(g.body) != c.body || g.etag() != etag {
			t.Errorf("GET %s: %d %q %q etag %s", c.sel, g.code, g.header.Get("Content-Type"), g.body, g.etag())
		}
	}
	// A namespace-bound step with an entity in the value.
	g := e.do(e.alice, "GET", aliceRL+`/~~/rl:resource-lists/rl:list[1]/rl:entry[@x:tag="a&quot;b"]/@uri?xmlns(rl=urn:ietf:params:xml:ns:resource-lists)xmlns(x=urn:example:x)`, nil)
	if g.code != 200 || string(g.body) != "sip:carol@example.test" {
		t.Errorf("prefixed selector: %d %q", g.code, g.body)
	}
	e.want(e.do(e.alice, "GET", aliceRL+`/~~/resource-lists/list[@name="buddies"]/entry`, nil), 404, "two entries match")
	e.want(e.do(e.alice, "GET", aliceRL+`/~~/resource-lists/list[9]`, nil), 404, "no match")
	e.want(e.do(e.alice, "GET", aliceRL+`/~~/resource-lists/list[@name="x"`, nil), 400, "unterminated predicate")
	e.want(e.do(e.alice, "GET", aliceRL+`/~~/rl:resource-lists`, nil), 400, "unbound prefix")
	e.want(e.do(e.alice, "GET", aliceRL+`/~~/resource-lists/list[1]`, nil, "If-None-Match", etag), 304, "element GET revalidation")
	e.want(e.do(e.alice, "PUT", aliceRL+`/~~/resource-lists/list[1]/@name`, []byte("x"), "Content-Type", "application/xcap-att+xml"), 501, "attribute PUT")
	e.want(e.do(e.bob, "GET", aliceRL+`/~~/resource-lists`, nil), 403, "bob reads a node of alice's list")
}

// A raw request (no client-side cleaning) with "//" and "/../" inside the
// node selector is answered, not redirected.
func TestDoubleSlashPathIsNotRedirected(t *testing.T) {
	e := newEnv(t)
	e.want(e.do(e.anon, "GET", "/xcap-caps/global/index", nil), 200, "caps")
	conn, err := net.Dial("tcp", e.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /xcap-root/xcap-caps/global/index/~~/xcap-caps/namespaces/namespace[.=%22http://a//b/../c%22] HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := conn.Read(buf)
	status := string(buf[:n])
	// The step "[.=...]" is not RFC 4825 syntax: 400 from the parser proves
	// the handler saw the path as sent, instead of a 301 from path cleaning.
	if !strings.HasPrefix(status, "HTTP/1.1 400 ") {
		t.Fatalf("response: %q", status)
	}
	r := e.do(e.anon, "GET", "/xcap-caps/global/index/~~/xcap-caps//auids", nil)
	e.want(r, 400, "empty step")
}

func TestRestartKeepsDocumentsETagsAndUsers(t *testing.T) {
	e := newEnv(t)
	r := e.do(e.alice, "PUT", aliceRL, resourceLists("bob"), "Content-Type", ctRL)
	e.want(r, 201, "PUT list")
	ri := e.do(e.alice, "PUT", aliceIcon, iconDoc("image/png", pngImage(t, 16, 16)), "Content-Type", ctIcon)
	e.want(ri, 201, "PUT icon")
	e.stop()

	e.start(e.open())
	g := e.do(e.alice, "GET", aliceRL, nil) // alice's password came back from the file
	if g.code != 200 || g.etag() != r.etag() || string(g.body) != string(resourceLists("bob")) {
		t.Fatalf("after restart: %d %s (want %s)", g.code, g.etag(), r.etag())
	}
	if gi := e.do(e.anon, "GET", aliceIcon, nil); gi.code != 200 || gi.etag() != ri.etag() {
		t.Fatalf("icon after restart: %d %s (want %s)", gi.code, gi.etag(), ri.etag())
	}
	e.want(e.do(e.alice, "PUT", aliceRL, resourceLists(), "Content-Type", ctRL, "If-Match", r.etag()), 200,
		"If-Match with the ETag from before the restart")
}

func TestListenStopsOnContextCancel(t *testing.T) {
	st, err := store.Open(t.TempDir() + "/x.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Listen(ctx, "127.0.0.1:0", Options{Domain: testDomain, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.Root(), "http://127.0.0.1:") || !strings.HasSuffix(srv.Root(), "/xcap-root") {
		t.Fatalf("root %q", srv.Root())
	}
	res, err := http.Get(srv.Root() + "/xcap-caps/global/index")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cancel()
	select {
	case <-srv.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after cancel")
	}
	if err := srv.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(srv.Root() + "/xcap-caps/global/index"); err == nil {
		t.Fatal("server still answers after cancel")
	}
}
