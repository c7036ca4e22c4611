package server

import (
	"bytes"
	"strconv"
)

// Answers to our NOTIFYs on stream connections (TCP, TLS) are taken out of
// the byte stream before sipgo's stream parser sees it: sipgo would parse
// each one in full and start a goroutine for it. guardConn.Read passes what
// it read through answerFramer, which follows the message boundaries
// (header section, then Content-Length bytes of body) as sipgo's stream
// parser does, removes every complete message that the narrow reader
// (answer.go) reads as an answer to one of our NOTIFYs, matches it, and
// leaves every other byte in place and in order. A header section it cannot
// frame plainly (over maxFramedHeader, folded, without a Content-Length)
// turns the framer off for the connection: from then on sipgo gets every
// byte, and its own parser judges them as it always did.

// maxFramedHeader bounds the header section (or whole response) the framer
// holds back while it waits for the rest; answers are a few hundred bytes.
const maxFramedHeader = 16 << 10

// answerFramer is one connection's framing state; only the connection's
// reading goroutine touches it.
type answerFramer struct {
	off  bool   // framing given up: pass everything
	skip int    // body bytes of a passed message still to come
	hold []byte // the start of a header section not complete yet
}

// filter rewrites b in place and returns the length of what goes on to
// sipgo; take matches a whole message that starts like a response, and
// reports whether it was an answer of ours. Held-back bytes are put in
// front of the next read's (see guardConn.Read).
func (f *answerFramer) filter(take func(msg []byte) bool, b []byte) int {
	if f.off {
		return len(b)
	}
	w, i := 0, 0
	pass := func(k int) {
		copy(b[w:], b[i:i+k])
		w += k
		i += k
	}
	for i < len(b) {
		if f.skip > 0 {
			k := min(f.skip, len(b)-i)
			f.skip -= k
			pass(k)
			continue
		}
		// At a message boundary. sipgo skips CRLFs before a start line
		// (and answers a lone double CRLF, a keep-alive): they go on.
		if len(b)-i >= 2 && b[i] == '\r' && b[i+1] == '\n' {
			pass(2)
			continue
		}
		if len(b)-i == 1 && b[i] == '\r' {
			f.hold = append(f.hold[:0], '\r')
			return w
		}
		rest := b[i:]
		end := bytes.Index(rest, []byte("\r\n\r\n"))
		if end < 0 {
			if len(rest) > maxFramedHeader {
				f.off = true
				pass(len(rest))
				return w
			}
			f.hold = append(f.hold[:0], rest...)
			return w
		}
		head := rest[:end+4]
		bodyLen, ok := framedContentLength(head)
		if !ok {
			f.off = true
			pass(len(rest))
			return w
		}
		total := len(head) + bodyLen
		if bytes.HasPrefix(head, []byte("SIP/2.0 ")) {
			if total > len(rest) && total <= maxFramedHeader {
				f.hold = append(f.hold[:0], rest...) // an answer's body to come
				return w
			}
			if total <= len(rest) && take(rest[:total]) {
				i += total // matched: sipgo never sees it
				continue
			}
		}
		k := min(total, len(rest))
		f.skip = total - k
		pass(k)
	}
	return w
}

// framedContentLength reads the Content-Length of a header section as
// sipgo's stream parser does (the last one counts); ok is false where the
// framer would have to guess: no Content-Length, one sipgo rejects, a
// folded line, or a message over MaxSIPMessage.
func framedContentLength(head []byte) (int, bool) {
	n := -1
	lines := head[:len(head)-2] // each line with its CRLF
	first := true
	for len(lines) > 0 {
		line, rest, ok := answerLine(lines)
		if !ok {
			return 0, false
		}
		lines = rest
		if first {
			first = false
			continue // the start line
		}
		if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			return 0, false
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return 0, false
		}
		if headerIs(bytes.TrimSpace(line[:colon]), "content-length", "l") {
			v, err := strconv.ParseUint(string(bytes.TrimSpace(line[colon+1:])), 10, 32)
			if err != nil {
				return 0, false
			}
			n = int(v)
		}
	}
	if n < 0 || len(head)+n > MaxSIPMessage {
		return 0, false
	}
	return n, true
}

// takeStreamAnswer matches msg, one whole message, if the narrow reader
// reads it as an answer to one of our NOTIFYs.
func (s *Server) takeStreamAnswer(msg []byte) bool {
	if !bytes.Contains(msg[:min(len(msg), 1024)], s.branchMark) {
		return false
	}
	a, ok := readAnswer(msg)
	if !ok {
		return false
	}
	seq, ours := s.branchSeq(a.branch)
	if ours {
		s.onAnswer(seq, a.status, a.reason)
	}
	return ours
}
