package server

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The largest document accepted fits in the largest NOTIFY a client parses.
func TestSizesAgree(t *testing.T) {
	if ClientMaxMessage != sip.ParseMaxMessageLength {
		t.Fatalf("ClientMaxMessage %d, sipgo's parser limit %d", ClientMaxMessage, sip.ParseMaxMessageLength)
	}
	if maxDocumentSize+maxNotifyHeaders > ClientMaxMessage {
		t.Fatal("a maximal document does not fit in a NOTIFY")
	}
}

// paddedPIDF is a PIDF document of exactly size bytes.
func paddedPIDF(t testing.TB, size int) []byte {
	base := pidfDoc("alice", "", "", true)
	if size < len(base) {
		t.Fatalf("size %d below %d", size, len(base))
	}
	return pidfDoc("alice", strings.Repeat("n", size-len(base)), "", true)
}

// Issue 11 F4: a PUBLISH whose NOTIFY would not fit in ClientMaxMessage gets
// 413; the largest accepted one reaches a watcher whose parser has sipgo's
// default limit.
func TestLargestDocumentReachesWatchers(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newUA("alice", "TCP")
	bob := e.newUA("bob", "TCP")
	wantStatus(t, bob.subscribe("alice", "presence", 60).res, 200)
	bob.nextNotify()
	wantStatus(t, alice.publish("", paddedPIDF(t, maxDocumentSize+1), 60), 413)
	// Composed, the document grows a little: find the largest accepted.
	size := maxDocumentSize
	for ; size > maxDocumentSize-512; size -= 64 {
		if alice.publish("", paddedPIDF(t, size), 60).StatusCode == 200 {
			break
		}
	}
	n := bob.nextNotify()
	if len(n.Body()) < size-512 {
		t.Fatalf("watcher got %d bytes, published %d", len(n.Body()), size)
	}
}

// Issue 11 F9: NOTIFYs around 1,300 bytes all arrive, over UDP when small
// and over TCP when the final message is larger (the Via counts).
func TestNotifyNearUDPLimitArrives(t *testing.T) {
	e := newEnv(t, envOptions{})
	alice := e.newUA("alice", "TCP")
	bob := e.newUA("bob", "UDP+TCP")
	wantStatus(t, bob.subscribe("alice", "presence", 60).res, 200)
	bob.nextNotify()
	etag := hv(alice.publish("", pidfDoc("alice", strings.Repeat("a", 300), "", true), 60), "SIP-ETag")
	s0 := len(bob.nextNotify().String())
	for size := MaxUDPMessage - 20; size <= MaxUDPMessage+30; size++ {
		note := strings.Repeat("a", 300+size-s0)
		res := alice.publish(etag, pidfDoc("alice", note, "", true), 60)
		wantStatus(t, res, 200)
		etag = hv(res, "SIP-ETag")
		n := bob.nextNotify()
		got := len(n.String())
		if !contains(n.Body(), note) {
			t.Fatalf("NOTIFY of about %d bytes lost its note", got)
		}
		if got > MaxUDPMessage+10 && n.Transport() != "TCP" || got < MaxUDPMessage-10 && n.Transport() != "UDP" {
			t.Fatalf("NOTIFY of about %d bytes came over %s", got, n.Transport())
		}
	}
}

// Issue 11 F5: winfo subscriptions per presentity and presence
// subscriptions per subscriber are capped.
func TestSubscriptionCaps(t *testing.T) {
	e := newEnv(t, envOptions{noAuth: true})
	alice := e.newUA("alice", "UDP")
	alice.onNotify = func(*sip.Request) {}
	var winfo []*dialog
	for range MaxWinfoPerPresentity {
		d := alice.subscribe("alice", "presence.winfo", 60)
		wantStatus(t, d.res, 200)
		winfo = append(winfo, d)
	}
	wantStatus(t, alice.subscribe("alice", "presence.winfo", 60).res, 403)
	for _, d := range winfo {
		wantStatus(t, d.refresh(0), 200)
	}

	bob := e.newUA("bob", "TCP")
	bob.onNotify = func(*sip.Request) {}
	var first *dialog
	for i := range MaxSubscriptionsPerWatcher {
		d := bob.subscribe("alice", "presence", 60)
		wantStatus(t, d.res, 200)
		if i == 0 {
			first = d
		}
	}
	wantStatus(t, bob.subscribe("carol", "presence", 60).res, 403)
	wantStatus(t, first.refresh(0), 200)
	waitFor(t, func() bool { return bob.subscribe("carol", "presence", 60).res.StatusCode == 200 })
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Issue 11 (low): a sipgo parse failure logs one short line, not the data.
func TestParseFailureLogsShortLine(t *testing.T) {
	var buf syncBuffer
	e := newEnv(t, envOptions{logger: slog.New(slog.NewTextHandler(&buf, nil))})
	c, err := net.Dial("tcp4", e.tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("NOT SIP AT ALL " + strings.Repeat("x", 12000) + "\r\nVia: broken\r\n\r\n"))
	waitFor(t, func() bool { return strings.Contains(buf.String(), "parse") })
	time.Sleep(50 * time.Millisecond)
	for _, line := range strings.Split(buf.String(), "\n") {
		if len(line) > 1024 {
			t.Fatalf("log line of %d bytes: %.200s", len(line), line)
		}
	}
}

// Issue 11 F5: a watcher list too long for one NOTIFY still reaches its
// owner, cut to fit what a client parses.
func TestLongWatcherListFitsNotify(t *testing.T) {
	const watchers = 600
	e := newEnv(t, envOptions{noAuth: true, policy: Confirm})
	bob := e.newUA("bob", "TCP")
	bob.onNotify = func(*sip.Request) {}
	for range watchers - 1 {
		wantStatus(t, bob.subscribe("alice", "presence", 60).res, 200)
	}
	carol := e.newUA("carol", "TCP")
	wantStatus(t, carol.subscribe("alice", "presence", 60).res, 200)
	alice := e.newUA("alice", "TCP")
	wantStatus(t, alice.subscribe("alice", "presence.winfo", 60).res, 200)
	n := alice.nextNotify() // parsed with sipgo's default limit, as sip/ua does
	body := n.Body()
	listed := strings.Count(string(body), "<watcher ")
	if len(body) > maxDocumentSize || listed == 0 || listed >= watchers {
		t.Fatalf("winfo body of %d bytes lists %d of %d watchers", len(body), listed, watchers)
	}
}
