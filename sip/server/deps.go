package server

import (
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// Sizes that agree end to end (issue 11 F4): every NOTIFY must fit in what
// a sipbuddy client parses.
const (
	// ClientMaxMessage is the largest SIP message a sipbuddy client parses:
	// sip/ua reads with sipgo's default parser (sip.ParseMaxMessageLength).
	ClientMaxMessage = 65535
	// maxNotifyHeaders is the room a NOTIFY's start line and headers may
	// take; maxDialogHeaders of it are the lines the subscriber chose
	// (Request-URI, From, To, Call-ID, Event), the rest ours.
	maxNotifyHeaders = 4096
	maxDialogHeaders = 3072
	// maxDocumentSize is the largest presence document sent (and PUBLISH
	// body accepted, 413 above it): with the headers it fits in
	// ClientMaxMessage, and it is within what pidf parses.
	maxDocumentSize = min(ClientMaxMessage-maxNotifyHeaders, pidf.MaxDocumentSize)
)

// validatePIDF rejects bodies that are not well-formed PIDF (400).
func validatePIDF(b []byte) error {
	_, err := pidf.Parse(b)
	return err
}

func composePIDF(entity string, docs [][]byte) ([]byte, error) { return pidf.Compose(entity, docs) }

func closedPIDF(entity string) []byte { return pidf.Closed(entity) }

type winfoWatcher = winfo.Watcher

// encodeWinfo writes a full watcherinfo document (RFC 3858). A list too
// large for a NOTIFY the client parses keeps the watchers that matter most
// (pending ones wait for a decision, then active, then terminated: the order
// watcherList gives) and says so in the log: RFC 3857 has no way to mark a
// full state as cut short.
func (s *Server) encodeWinfo(resource string, version int, ws []winfoWatcher) []byte {
	for i := range ws {
		ws[i].Resource, ws[i].Package = resource, "presence"
	}
	info := winfo.Info{Resource: resource, Package: "presence", Version: version, Full: true, Watchers: ws}
	doc := winfo.Encode(info)
	if len(doc) <= maxDocumentSize {
		return doc
	}
	// The largest prefix that fits, by bisection over the list.
	lo, hi := 0, len(ws)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		info.Watchers = ws[:mid]
		if len(winfo.Encode(info)) <= maxDocumentSize {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	info.Watchers = ws[:lo]
	s.log.Warn("watcher list cut to fit a NOTIFY", "presentity", resource, "watchers", len(ws), "sent", lo, "limit", maxDocumentSize)
	return winfo.Encode(info)
}

// rulesDecider parses the pres-rules documents of either layout (with the
// owner's resource-lists document for OMA external lists; nil when none)
// into one decision function. The documents count as one ruleset (RFC 4745
// combination: the highest sub-handling of all matching rules of all of
// them; other-identity is anyone no rule of any of them names), so the IETF document sipbuddy and older clients write and the OMA
// one Blink writes are both enforced. matched is false when no rule
// matches: the server's Policy decides then.
func rulesDecider(docs [][]byte, lists []byte) (func(watcher string) (decision, bool), error) {
	decide, err := presrules.NewDeciderAll(docs, lists)
	if err != nil {
		return nil, err
	}
	return func(watcher string) (decision, bool) {
		h, matched := decide(watcher)
		if !matched {
			return decPending, false
		}
		switch h {
		case presrules.Allow:
			return decAllow, true
		case presrules.PoliteBlock:
			return decPolite, true
		case presrules.Confirm:
			return decPending, true
		}
		return decBlock, true
	}, nil
}
