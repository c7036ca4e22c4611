package server

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// closedByServer reports whether the server closes c (a read ends) within
// limit.
func closedByServer(t testing.TB, c net.Conn, limit time.Duration) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

func dialSIP(t testing.TB, e *testEnv, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp4", e.tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Issue 11 F3: an unauthenticated connection is closed when PreAuthTimeout
// ends, idle or sending a message slowly; an authenticated one stays.
func TestPreAuthTimeout(t *testing.T) {
	e := newEnv(t, envOptions{preAuth: 2 * time.Second})
	idle := dialSIP(t, e, "127.0.0.1")
	slow := dialSIP(t, e, "127.0.0.1")
	slow.Write([]byte("REGISTER sip:example.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-1\r\n"))
	alice := e.newUA("alice", "TCP")
	wantStatus(t, alice.publish("", pidfDoc("alice", "before", "", true), 60), 200)
	if !closedByServer(t, idle, 5*time.Second) {
		t.Fatal("idle unauthenticated connection still open")
	}
	if !closedByServer(t, slow, 5*time.Second) {
		t.Fatal("slow unauthenticated connection still open")
	}
	// alice's connection authenticated: it outlives the pre-auth deadline.
	wantStatus(t, alice.publish("", pidfDoc("alice", "after", "", true), 60), 200)
	if e.srv.conns.len() != 1 {
		t.Fatalf("%d connections open, want alice's", e.srv.conns.len())
	}
}

// Issue 11 F3: an unauthenticated peer may send PreAuthMaxBytes, then its
// connection is closed, whatever it sends.
func TestPreAuthBytesCap(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := dialSIP(t, e, "127.0.0.1")
	go io.Copy(io.Discard, c) // the 200s to the OPTIONS
	opt := "OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-%d\r\n" +
		"From: <sip:x@example.test>;tag=1\r\nTo: <sip:example.test>\r\nCall-ID: cap\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n"
	sent := 0
	var err error
	for i := 1; sent <= PreAuthMaxBytes+4096 && err == nil; i++ {
		var n int
		n, err = fmt.Fprintf(c, opt, i, i)
		sent += n
	}
	if err == nil {
		waitFor(t, func() bool { return e.srv.conns.len() == 0 })
	}
}

// Issue 11 F3: at most MaxConnsPerSource connections from one address; other
// addresses are not affected.
func TestConnsPerSource(t *testing.T) {
	e := newEnv(t, envOptions{})
	for range MaxConnsPerSource {
		dialSIP(t, e, "127.0.0.1")
	}
	waitFor(t, func() bool { return e.srv.conns.len() == MaxConnsPerSource })
	extra := dialSIP(t, e, "127.0.0.1")
	if !closedByServer(t, extra, 5*time.Second) {
		t.Fatalf("connection %d from one address accepted", MaxConnsPerSource+1)
	}
	other := dialSIP(t, e, "127.0.0.2")
	if closedByServer(t, other, 200*time.Millisecond) {
		t.Fatal("a connection from another address was refused")
	}
}

// BenchmarkConnMemory measures the server memory (heap and goroutine
// stacks) held per idle TCP connection and per connection holding a
// partial message of PreAuthMaxBytes-1 bytes, 100 of each.
func BenchmarkConnMemory(b *testing.B) {
	const n = 100
	for _, partial := range []int{0, PreAuthMaxBytes - 1} {
		name := "idle"
		if partial > 0 {
			name = "partial"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				e := newEnv(b, envOptions{})
				before := memInUse()
				head := "PUBLISH sip:alice@example.test SIP/2.0\r\nContent-Length: 70000\r\n\r\n"
				msg := head + strings.Repeat("x", max(0, partial-len(head)))
				for range n {
					c := dialSIP(b, e, "127.0.0.1")
					if partial > 0 {
						c.Write([]byte(msg))
					}
				}
				waitFor(b, func() bool { return e.srv.conns.len() == n })
				time.Sleep(200 * time.Millisecond) // let sipgo read what was sent
				b.ReportMetric(float64(memInUse()-before)/n, "B/conn")
			}
		})
	}
}

func memInUse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}
