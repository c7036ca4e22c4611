package server

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipbuddy/sipbuddy/xcap/icon"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// The icon GET fast path. Watchers fetch icons far more often than anything
// else is asked of the server, and a cached icon's answer is always the
// same bytes: a header block prepared once per ETag, a Date line that
// changes once a second, and the image or document. Listen's connections
// start here: while each request is a plain GET of a cached icon, it is
// answered with one writev and no allocation; the first request that is
// anything else (a PUT, a conditional GET, an unknown path...) hands the
// connection, with the bytes already read, to net/http for good.
//
// The cache is only trusted without asking the store when the store is
// *store.Bolt: bbolt's file lock makes this process its only user, and
// every write to documents goes through this handler, which invalidates
// the entry (changed).
const (
	// FastReadBufferBytes is a fast-path connection's read buffer; a
	// request header that does not fit goes to net/http.
	FastReadBufferBytes = 4 << 10
	// MaxFastPaths bounds the remembered request paths of icons.
	MaxFastPaths = MaxCachedIcons
)

// fastPath serves Listen's connections until they need net/http.
type fastPath struct {
	s       *Server
	handoff *handoffListener

	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*fastConn]struct{}
	wg      sync.WaitGroup
}

type fastConn struct {
	net.Conn
	buf  []byte
	bufs net.Buffers
	arr  [3][]byte
}

func newFastPath(s *Server, handoff *handoffListener) *fastPath {
	return &fastPath{s: s, handoff: handoff, conns: map[*fastConn]struct{}{}}
}

// serve runs one connection's fast loop.
func (f *fastPath) serve(c net.Conn) {
	fc := &fastConn{Conn: c, buf: make([]byte, FastReadBufferBytes)}
	f.mu.Lock()
	if f.closing.Load() {
		f.mu.Unlock()
		_ = c.Close()
		return
	}
	f.conns[fc] = struct{}{}
	f.wg.Add(1)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.conns, fc)
		f.mu.Unlock()
		f.wg.Done()
	}()

	n := 0
	for {
		end, ok := headerEnd(fc.buf[:n])
		for !ok && end < 0 { // need more bytes
			if n == len(fc.buf) {
				f.toNetHTTP(fc, n)
				return
			}
			timeout := ReadHeaderTimeout
			if n == 0 {
				timeout = IdleTimeout
			}
			_ = fc.SetReadDeadline(time.Now().Add(timeout))
			m, err := fc.Read(fc.buf[n:])
			n += m
			if err != nil {
				_ = fc.Close()
				return
			}
			if f.isClosing() {
				_ = fc.Close()
				return
			}
			end, ok = headerEnd(fc.buf[:n])
		}
		if !ok { // bare-LF header end: let net/http judge it
			f.toNetHTTP(fc, n)
			return
		}
		if !f.answer(fc, fc.buf[:end]) {
			f.toNetHTTP(fc, n)
			return
		}
		n = copy(fc.buf, fc.buf[end:n])
		if f.isClosing() {
			_ = fc.Close()
			return
		}
	}
}

func (f *fastPath) isClosing() bool { return f.closing.Load() }

// toNetHTTP gives the connection and its first n buffered bytes to
// net/http.
func (f *fastPath) toNetHTTP(fc *fastConn, n int) {
	_ = fc.SetReadDeadline(time.Time{})
	f.handoff.give(&replayConn{Conn: fc.Conn, pending: fc.buf[:n]})
}

// shutdown stops the fast loops: idle ones at once (their read is cut
// short), busy ones after the answer they are writing.
func (f *fastPath) shutdown() {
	f.mu.Lock()
	f.closing.Store(true)
	for fc := range f.conns {
		_ = fc.SetReadDeadline(time.Now())
	}
	f.mu.Unlock()
}

// wait waits for the fast loops to end, or until done is closed.
func (f *fastPath) wait(done <-chan struct{}) {
	finished := make(chan struct{})
	go func() { f.wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-done:
		f.mu.Lock()
		for fc := range f.conns {
			_ = fc.Close()
		}
		f.mu.Unlock()
	}
}

// headerEnd finds the end of the request header in b: the index after
// CRLF CRLF and true; -1 when more bytes are needed; or, for a line that
// ends in a bare LF (which net/http accepts, the fast path does not), its
// index and false.
func headerEnd(b []byte) (int, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i == 0 || b[i-1] != '\r' {
			return i, false
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3, true
		}
	}
	return -1, false
}

var (
	hdrHost             = []byte("Host")
	hdrAccept           = []byte("Accept")
	hdrConnection       = []byte("Connection")
	hdrIfMatch          = []byte("If-Match")
	hdrIfNoneMatch      = []byte("If-None-Match")
	hdrContentLength    = []byte("Content-Length")
	hdrTransferEncoding = []byte("Transfer-Encoding")
	hdrExpect           = []byte("Expect")
	hdrUpgrade          = []byte("Upgrade")
	valueClose          = []byte("close")
	mimeContentXML      = []byte(icon.ContentMIMEType)
	mimeXML             = []byte("application/xml")
	mimeTextXML         = []byte("text/xml")
)

// answer writes the response to req (the request line and headers, CRLF
// CRLF included) if it is a plain GET of a cached icon, and reports
// whether it did.
func (f *fastPath) answer(fc *fastConn, req []byte) bool {
	line, rest, _ := bytes.Cut(req, []byte("\r\n"))
	path, ok := bytes.CutPrefix(line, []byte("GET "))
	if !ok {
		return false
	}
	path, ok = bytes.CutSuffix(path, []byte(" HTTP/1.1"))
	if !ok || len(path) == 0 || path[0] != '/' || bytes.IndexByte(path, '?') >= 0 || !validFieldValue(path) || bytes.IndexByte(path, ' ') >= 0 {
		return false
	}
	var host, wantXML bool
	for len(rest) > 2 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok || !validFieldName(name) || !validFieldValue(value) {
			return false // obs-fold or a malformed line: net/http answers it
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, hdrHost):
			if host || len(value) == 0 {
				return false
			}
			host = true
		case bytes.EqualFold(name, hdrAccept):
			wantXML = wantXML || acceptsXMLBytes(value)
		case bytes.EqualFold(name, hdrConnection):
			if containsFold(value, valueClose) {
				return false
			}
		case bytes.EqualFold(name, hdrContentLength):
			if !bytes.Equal(value, []byte("0")) {
				return false
			}
		case bytes.EqualFold(name, hdrIfMatch), bytes.EqualFold(name, hdrIfNoneMatch),
			bytes.EqualFold(name, hdrTransferEncoding), bytes.EqualFold(name, hdrExpect), bytes.EqualFold(name, hdrUpgrade):
			return false
		}
	}
	if !host {
		return false
	}
	ic, legacy := f.s.fastIcon(path)
	if ic == nil {
		return false
	}
	hdr, body := ic.xmlHeader, ic.xml
	if legacy && ic.image != nil && !wantXML {
		hdr, body = ic.imageHeader, ic.image
	}
	fc.arr = [3][]byte{hdr, httpDate(), body}
	fc.bufs = fc.arr[:]
	if _, err := fc.bufs.WriteTo(fc.Conn); err != nil {
		_ = fc.Conn.Close()
		return true // answered as far as the client let us; the read fails next
	}
	return true
}

// validFieldName reports whether b is an RFC 9110 token (a header name).
func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// validFieldValue reports whether b has no control characters but tab
// (net/http refuses the others, so the fast path leaves them to it).
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// acceptsXMLBytes is acceptsXML on the raw header value.
func acceptsXMLBytes(accept []byte) bool {
	for len(accept) > 0 {
		var item []byte
		item, accept, _ = bytes.Cut(accept, []byte(","))
		mt, _, _ := bytes.Cut(item, []byte(";"))
		mt = bytes.TrimSpace(mt)
		if bytes.EqualFold(mt, mimeContentXML) || bytes.EqualFold(mt, mimeXML) || bytes.EqualFold(mt, mimeTextXML) {
			return true
		}
	}
	return false
}

func containsFold(list, token []byte) bool {
	for len(list) > 0 {
		var item []byte
		item, list, _ = bytes.Cut(list, []byte(","))
		if bytes.EqualFold(bytes.TrimSpace(item), token) {
			return true
		}
	}
	return false
}

// dateLine is the Date header of one second.
type dateLine struct {
	unix int64
	line []byte
}

var currentDate atomic.Pointer[dateLine]

// httpDate returns "Date: <now>\r\n\r\n", made once a second.
func httpDate() []byte {
	now := time.Now()
	if d := currentDate.Load(); d != nil && d.unix == now.Unix() {
		return d.line
	}
	d := &dateLine{unix: now.Unix(), line: []byte("Date: " + now.UTC().Format(httpTimeFormat) + "\r\n\r\n")}
	currentDate.Store(d)
	return d.line
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT" // http.TimeFormat

// fastHeaders prepares the header blocks of a cached icon (without Date
// and the final CRLF): the XML answer and, when there is one, the image's.
func (c *cachedIcon) fastHeaders(auid string) {
	block := func(mimeType string, n int) []byte {
		var b strings.Builder
		b.WriteString("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(n) + "\r\nContent-Type: " + mimeType + "\r\nEtag: " + c.quoted[0] + "\r\n")
		if auid == AUIDLegacyStatusIcon {
			b.WriteString("Vary: Accept\r\n")
		}
		return []byte(b.String())
	}
	c.xmlHeader = block(appByAUID[auid].mime, len(c.xml))
	if c.image != nil {
		c.imageHeader = block(c.imageType[0], len(c.image))
	}
}

// fastIcon returns the cached icon a fast-path GET of path is for, and
// whether path is on the legacy AUID (which answers with the image); nil
// when net/http must answer. Known paths cost two map lookups; the first
// GET of a path parses it and fills the cache.
func (s *Server) fastIcon(path []byte) (*cachedIcon, bool) {
	s.mu.RLock()
	fp, ok := s.fastPaths[string(path)]
	var ic *cachedIcon
	if ok {
		ic = s.cache[fp.key]
	}
	s.mu.RUnlock()
	if ic != nil {
		return ic, fp.auid == AUIDLegacyStatusIcon
	}
	return s.learnFastPath(string(path))
}

// fastPathEntry is what a request path of an icon names.
type fastPathEntry struct {
	key  string // store.Key.String()
	auid string
}

func (s *Server) learnFastPath(path string) (*cachedIcon, bool) {
	rest, ok := strings.CutPrefix(path, s.rootPath)
	if !ok || rest == "" || rest[0] != '/' {
		return nil, false
	}
	u, err := ParseURI(rest, s.domain)
	if err != nil || u.Global || u.HasNodeSelector || (u.AUID != AUIDPresContent && u.AUID != AUIDLegacyStatusIcon) {
		return nil, false
	}
	k := store.Key{AUID: u.AUID, User: u.XUI, Path: u.Document}
	ic, err := s.iconEntry(k)
	if err != nil {
		return nil, false // 404s and errors: net/http's answer
	}
	s.mu.Lock()
	if len(s.fastPaths) >= MaxFastPaths {
		for p := range s.fastPaths {
			delete(s.fastPaths, p)
			break
		}
	}
	s.fastPaths[path] = fastPathEntry{key: k.String(), auid: u.AUID}
	s.mu.Unlock()
	return ic, u.AUID == AUIDLegacyStatusIcon
}

// handoffListener is the net.Listener net/http serves: the connections
// the fast path gives up.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// replayConn reads the bytes the fast path had read before the
// connection's own.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
