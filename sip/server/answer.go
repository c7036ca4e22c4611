package server

import (
	"bytes"
	"strconv"
)

// The narrow reader of answers to our UDP NOTIFYs. A fan-out's answers are
// as many as its NOTIFYs, and sipgo's parser builds a whole sip.Response for
// each (every header parsed, a dozen allocations) when matching needs three
// values: the status, the top Via's branch and the CSeq (RFC 3261 §17.1.3).
// readAnswer takes exactly those from a datagram, allocating nothing, and
// declines (ok false) everything that is not plainly written; what it
// declines goes through sipgo's parser as before. FuzzReadAnswer checks that
// where it answers, sipgo's parser reads the same values from the same lines.

// answerFields are the values readAnswer takes from a response. Its byte
// slices point into the datagram.
type answerFields struct {
	status int
	reason []byte
	branch []byte // the top Via's branch parameter
	cseq   uint32
}

// readAnswer reads a response to a NOTIFY (CSeq method NOTIFY, one Via
// value) from one datagram.
func readAnswer(data []byte) (a answerFields, ok bool) {
	if len(data) > MaxSIPMessage {
		return a, false
	}
	line, rest, ok := answerLine(data)
	if !ok || !readStatusLine(line, &a) {
		return a, false
	}
	var haveVia, haveCSeq bool
	bodyLen := -1
	for {
		line, rest, ok = answerLine(rest)
		if !ok {
			return a, false
		}
		if len(line) == 0 {
			break // end of the header section
		}
		if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
			return a, false // a folded header line
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return a, false // sipgo rejects it
		}
		name := bytes.TrimSpace(line[:colon])
		value := bytes.TrimSpace(line[colon+1:])
		switch {
		case headerIs(name, "via", "v"):
			if haveVia || !readVia(value, &a) {
				return a, false // several Via values, or one sipgo reads otherwise
			}
			haveVia = true
		case headerIs(name, "cseq", ""):
			if haveCSeq || !readCSeq(value, &a) {
				return a, false
			}
			haveCSeq = true
		case headerIs(name, "content-length", "l"):
			n, err := strconv.ParseUint(string(value), 10, 32)
			if err != nil {
				return a, false
			}
			bodyLen = int(n)
		}
	}
	// RFC 3261 §18.3: a datagram shorter than its Content-Length is
	// discarded (sipgo's parser rejects it).
	if !haveVia || !haveCSeq || bodyLen > len(rest) {
		return a, false
	}
	return a, true
}

// answerLine splits off a line ended by CRLF, as sipgo does: a CR not
// followed by LF, or no CR at all, is not a line.
func answerLine(data []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(data, '\r')
	if i < 0 || i+1 >= len(data) || data[i+1] != '\n' {
		return nil, nil, false
	}
	return data[:i], data[i+2:], true
}

// headerIs reports whether name is long or short (compact form), in any
// case.
func headerIs(name []byte, long, short string) bool {
	return bytes.EqualFold(name, []byte(long)) || (short != "" && bytes.EqualFold(name, []byte(short)))
}

// readStatusLine reads "SIP/2.0 DDD reason": a status 100-699 and a reason
// that sipgo does not take for a request line.
func readStatusLine(line []byte, a *answerFields) bool {
	const prefix = "SIP/2.0 "
	if len(line) < len(prefix)+4 || string(line[:len(prefix)]) != prefix {
		return false
	}
	d := line[len(prefix):]
	if d[0] < '1' || d[0] > '6' || !isDigit(d[1]) || !isDigit(d[2]) || d[3] != ' ' {
		return false
	}
	reason := d[4:]
	// sipgo reads a start line whose third part has no space and begins
	// with "sip" as a request.
	if len(reason) >= 3 && bytes.IndexByte(reason, ' ') < 0 && bytes.EqualFold(reason[:3], []byte("sip")) {
		return false
	}
	a.status = int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	a.reason = reason
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// readVia reads the branch of a single Via value written plainly:
// "SIP/2.0/TRANSPORT host[:port];param;branch=token;...", with no comma, no
// quote, no IPv6 literal and no space inside the parameters.
func readVia(v []byte, a *answerFields) bool {
	const prefix = "SIP/2.0/"
	if len(v) < len(prefix) || string(v[:len(prefix)]) != prefix ||
		bytes.IndexByte(v, ',') >= 0 || bytes.IndexByte(v, '"') >= 0 || bytes.IndexByte(v, '[') >= 0 {
		return false
	}
	v = v[len(prefix):]
	i := 0
	for i < len(v) && isAlpha(v[i]) {
		i++
	}
	if i == 0 || i == len(v) || v[i] != ' ' {
		return false
	}
	v = v[i+1:]
	semi := bytes.IndexByte(v, ';')
	if semi < 0 {
		return false // no parameters: no branch
	}
	if !plainHostPort(v[:semi]) {
		return false
	}
	params := v[semi+1:]
	for len(params) > 0 {
		var p []byte
		if j := bytes.IndexByte(params, ';'); j >= 0 {
			p, params = params[:j], params[j+1:]
		} else {
			p, params = params, nil
		}
		if len(p) == 0 || !isToken(p, true) {
			return false
		}
		key, val, hasVal := bytes.Cut(p, []byte("="))
		if string(key) != "branch" {
			continue
		}
		if !hasVal || len(val) == 0 || a.branch != nil || bytes.IndexByte(val, '=') >= 0 {
			return false
		}
		a.branch = val
	}
	return a.branch != nil
}

// plainHostPort accepts "host" or "host:port" with a host of letters,
// digits, dots and dashes and a decimal port.
func plainHostPort(hp []byte) bool {
	host, port, hasPort := bytes.Cut(hp, []byte(":"))
	if len(host) == 0 {
		return false
	}
	for _, c := range host {
		if !isAlpha(c) && !isDigit(c) && c != '.' && c != '-' {
			return false
		}
	}
	if !hasPort {
		return true
	}
	if len(port) == 0 || len(port) > 5 {
		return false
	}
	for _, c := range port {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// isToken reports whether p is made of RFC 3261 token characters (and '='
// when eq).
func isToken(p []byte, eq bool) bool {
	for _, c := range p {
		switch {
		case isAlpha(c), isDigit(c):
		case bytes.IndexByte([]byte("-.!%*_+`'~"), c) >= 0:
		case eq && c == '=':
		default:
			return false
		}
	}
	return true
}

// readCSeq reads "number NOTIFY" with exactly one space or tab between.
func readCSeq(v []byte, a *answerFields) bool {
	sp := bytes.IndexAny(v, " \t")
	if sp < 1 || sp > 10 || string(v[sp+1:]) != "NOTIFY" {
		return false
	}
	var n uint64
	for _, c := range v[:sp] {
		if !isDigit(c) {
			return false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<31-1 {
		return false // RFC 3261 §8.1.1.5 (sipgo rejects it)
	}
	a.cseq = uint32(n)
	return true
}
