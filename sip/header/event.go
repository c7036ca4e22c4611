package header

import (
	"strings"
)

// Event is the value of an Event (or compact "o") header, RFC 6665 §8.2.1:
//
//	event-type *( ";" event-param ), event-type = package *( "." template )
type Event struct {
	// Package is the event type, lower-cased, templates included:
	// "presence", "presence.winfo".
	Package string
	// ID is the "id" parameter ("" when absent); NOTIFYs must echo it.
	ID string
	// Params holds the other parameters by lower-cased name, unquoted; a
	// flag parameter has the value "". Nil when there are none.
	Params map[string]string
}

// Well-known event packages.
const (
	EventPresence      = "presence"
	EventPresenceWinfo = "presence.winfo"
)

// ParseEvent parses an Event header value such as "presence.winfo;id=7".
// Package tokens are case-insensitive (RFC 6665 §7.2) and are returned
// lower-cased.
func ParseEvent(s string) (Event, error) {
	if err := checkLen(s); err != nil {
		return Event{}, err
	}
	sc := &scanner{s: s}
	sc.skipLWS()
	start := sc.pos
	for !sc.eof() && isTokenChar(sc.peek()) {
		sc.pos++
	}
	pkg := s[start:sc.pos]
	if pkg == "" {
		return Event{}, syntaxErr("missing event package in %q", s)
	}
	// token-nodot *( "." token-nodot ): no empty package or template.
	for part := range strings.SplitSeq(pkg, ".") {
		if part == "" {
			return Event{}, syntaxErr("empty event package or template in %q", pkg)
		}
	}
	ps, err := sc.params()
	if err != nil {
		return Event{}, err
	}
	e := Event{Package: strings.ToLower(pkg)}
	for _, p := range ps {
		if p.name == "id" {
			if p.value == "" {
				return Event{}, syntaxErr("empty id parameter")
			}
			e.ID = p.value
			continue
		}
		if e.Params == nil {
			e.Params = make(map[string]string, len(ps))
		}
		e.Params[p.name] = p.value
	}
	return e, nil
}

// String formats the value canonically: package, then ";id=", then the
// other parameters sorted by name.
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Package)
	if e.ID != "" {
		writeParam(&b, "id", e.ID)
	}
	writeParams(&b, e.Params)
	return b.String()
}

// Matches reports whether two Event values denote the same subscription:
// same package and same id (RFC 6665 §8.2.1); other parameters do not count.
func (e Event) Matches(o Event) bool {
	return strings.EqualFold(e.Package, o.Package) && e.ID == o.ID
}
