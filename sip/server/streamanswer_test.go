package server

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

const oursMark = "z9hG4bKours."

// streamSeeds are streams as a subscriber writes them: answers to our
// NOTIFYs between its own requests, with keep-alives.
var streamSeeds = []string{
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=" + oursMark + "1\r\nCSeq: 3 NOTIFY\r\nContent-Length: 0\r\n\r\n" +
		"SUBSCRIBE sip:p@example.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKc1\r\nCSeq: 2 SUBSCRIBE\r\nContent-Length: 4\r\n\r\nbody" +
		"\r\n\r\n" +
		"SIP/2.0 481 Gone\r\nv: SIP/2.0/TCP h;branch=" + oursMark + "2\r\nCSeq: 4 NOTIFY\r\nl: 0\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKtheirs\r\nCSeq: 3 NOTIFY\r\nContent-Length: 0\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=" + oursMark + "3\r\nCSeq: 3 NOTIFY\r\n\r\n", // no Content-Length: framing ends
}

// takeOurs is the framer's take for tests: answers whose branch starts
// with oursMark.
func takeOurs(taken *[][]byte) func([]byte) bool {
	return func(msg []byte) bool {
		a, ok := readAnswer(msg)
		if !ok || !bytes.HasPrefix(a.branch, []byte(oursMark)) {
			return false
		}
		*taken = append(*taken, append([]byte(nil), msg...))
		return true
	}
}

// frameChunks runs the framer over in, read chunk bytes at a time as
// guardConn.Read does, and returns what sipgo gets and what was taken.
func frameChunks(in []byte, chunk int) (out []byte, taken [][]byte) {
	var f answerFramer
	buf := make([]byte, 64<<10)
	take := takeOurs(&taken)
	for len(in) > 0 || len(f.hold) > 0 {
		if f.off {
			out = append(out, f.hold...)
			out = append(out, in...)
			return out, taken
		}
		h := copy(buf, f.hold)
		f.hold = f.hold[:0]
		k := min(chunk, len(in))
		if k == 0 {
			return append(out, buf[:h]...), taken // held at the end of the stream
		}
		copy(buf[h:], in[:k])
		in = in[k:]
		m := f.filter(take, buf[:h+k])
		out = append(out, buf[:m]...)
	}
	return out, taken
}

func TestAnswerFramer(t *testing.T) {
	out, taken := frameChunks([]byte(streamSeeds[0]), 1<<20)
	if len(taken) != 2 || !strings.Contains(string(taken[0]), oursMark+"1") || !strings.Contains(string(taken[1]), oursMark+"2") {
		t.Fatalf("taken %q, want the two answers of ours", taken)
	}
	want := "SUBSCRIBE sip:p@example.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bKc1\r\nCSeq: 2 SUBSCRIBE\r\nContent-Length: 4\r\n\r\nbody\r\n\r\n"
	if string(out) != want {
		t.Fatalf("sipgo gets %q, want %q", out, want)
	}
	if out, taken := frameChunks([]byte(streamSeeds[1]), 1<<20); len(taken) != 0 || string(out) != streamSeeds[1] {
		t.Fatalf("someone else's answer: taken %q, passed %q", taken, out)
	}
	if out, taken := frameChunks([]byte(streamSeeds[2]+streamSeeds[0]), 1<<20); len(taken) != 0 || string(out) != streamSeeds[2]+streamSeeds[0] {
		t.Fatalf("after a message without Content-Length everything goes to sipgo: taken %q", taken)
	}
	for _, s := range streamSeeds {
		checkFramer(t, []byte(s))
	}
}

// FuzzAnswerFramer checks the stream framer: whatever the chunking, sipgo
// gets the same bytes and the same answers are taken; what is taken plus
// what is passed is the whole stream; and every answer taken is a message
// exactly where sipgo's stream parser, given the whole stream, finds one
// (or after bytes it fails on, where it closes the connection).
func FuzzAnswerFramer(f *testing.F) {
	for _, s := range streamSeeds {
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		checkFramer(t, data)
		whole, takenWhole := frameChunks(data, len(data)+1)
		out, taken := frameChunks(data, int(chunk)+1)
		if !bytes.Equal(out, whole) || len(taken) != len(takenWhole) {
			t.Fatalf("chunks of %d: passed %q taken %q; whole: passed %q taken %q", int(chunk)+1, out, taken, whole, takenWhole)
		}
	})
}

func checkFramer(t *testing.T, data []byte) {
	t.Helper()
	out, taken := frameChunks(data, len(data)+1)
	n := len(out)
	for _, m := range taken {
		n += len(m)
	}
	if n != len(data) {
		t.Fatalf("%q: passed %d bytes and took %d messages, %d bytes in all; want %d", data, len(out), len(taken), n, len(data))
	}
	if len(taken) == 0 {
		return
	}
	// sipgo's messages in the whole stream, as byte strings
	p := sip.NewParser()
	p.MaxMessageLength = MaxSIPMessage
	ps := p.NewSIPStream()
	if _, err := ps.Write(data); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	rest := data
	failed := false // sipgo closes the connection there: nothing after counts
	for {
		_, used, err := ps.ParseNext()
		if err != nil {
			failed = !errors.Is(err, io.ErrUnexpectedEOF)
			break
		}
		m := bytes.TrimLeft(rest[:used], "\r\n")
		msgs = append(msgs, string(m))
		rest = rest[used:]
	}
	j := 0
	for _, m := range taken {
		for j < len(msgs) && msgs[j] != string(m) {
			j++
		}
		if j == len(msgs) {
			if failed {
				return
			}
			t.Fatalf("%q: took %q, which sipgo's stream parser does not read as one message (its messages: %q)", data, m, msgs)
		}
		j++
	}
}
