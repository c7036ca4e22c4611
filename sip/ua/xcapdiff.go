package ua

import (
	"slices"
	"strings"

	"github.com/sipbuddy/sipbuddy/xcap/xcapdiff"
)

// XCAP change notifications (RFC 5875): one subscription with Event:
// xcap-diff to the account's own address tells this device when another
// client of the account changed one of its XCAP documents (the buddy list,
// pres-rules, the icon), so the documents can be re-read at once instead of
// being polled. The SUBSCRIBE carries the documents of interest as a
// resource-lists body (RFC 5875 §4.3: XCAP selectors relative to the root);
// servers that watch every document of the owner (the embedded one,
// Kamailio's harness) ignore it.
//
// The subscription's state comes as SubscriptionEvents with Package
// "xcap-diff" (Terminated when the server refuses it, e.g. 489 Bad Event:
// the caller falls back to polling); every NOTIFY body comes as an
// XcapDiffEvent.

// MaxXcapDiffDocuments bounds the selectors one xcap-diff SUBSCRIBE names.
const MaxXcapDiffDocuments = 32

// xcapDiffAccept is the Accept of an xcap-diff SUBSCRIBE.
const xcapDiffAccept = xcapdiff.ContentType

// XcapDiffEvent carries one xcap-diff document the server sent (the first
// NOTIFY lists every watched document with its ETag, later ones what
// changed).
type XcapDiffEvent struct {
	Diff *xcapdiff.Diff
}

func (XcapDiffEvent) isEvent() {}

// String describes the XcapDiffEvent for logs and the debug view.
func (e XcapDiffEvent) String() string {
	if e.Diff == nil {
		return "xcap-diff (empty)"
	}
	sels := make([]string, 0, len(e.Diff.Documents))
	for _, d := range e.Diff.Documents {
		sels = append(sels, d.Sel)
	}
	return "xcap-diff " + strings.Join(sels, ", ")
}

// WatchXcapDiff subscribes to changes of the account's XCAP documents
// named by docs (selectors relative to the XCAP root,
// "resource-lists/users/sip:alice@example.test/index"; at most
// MaxXcapDiffDocuments). It never blocks; a second call while the
// subscription runs does nothing.
func (u *UA) WatchXcapDiff(docs []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.slotFreeLocked(&u.xdiff) {
		return
	}
	s := newSubscription(u, u.aor.String(), u.aor, xcapdiff.Event)
	s.accept = xcapDiffAccept
	s.body, s.bodyType = xcapDiffRequestBody(docs), "application/resource-lists+xml"
	u.setSubLocked(&u.xdiff, s)
}

// UnwatchXcapDiff ends the xcap-diff subscription.
func (u *UA) UnwatchXcapDiff() {
	u.stopSub(&u.xdiff)
}

// xcapDiffRequestBody is the resource-lists body of an xcap-diff SUBSCRIBE
// (RFC 5875 §4.3), as python-sipsimple writes it: one <entry> per
// document selector.
func xcapDiffRequestBody(docs []string) []byte {
	docs = slices.Clone(docs[:min(len(docs), MaxXcapDiffDocuments)])
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>`)
	for _, d := range docs {
		b.WriteString(`<entry uri="`)
		b.WriteString(xmlAttr(d))
		b.WriteString(`"/>`)
	}
	b.WriteString("</list></resource-lists>\n")
	return []byte(b.String())
}

// xmlAttr escapes s for a double-quoted XML attribute.
func xmlAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;").Replace(s)
}

// deliverXcapDiffLocked reports the document of one xcap-diff NOTIFY. An
// empty body (Kamailio before the first change) says nothing.
func (s *subscription) deliverXcapDiffLocked(ctype string, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	d, ok, err := readBody(s, ctype, body, xcapdiff.ContentType, "xcap-diff", xcapdiff.Parse)
	if ok {
		s.u.emit(XcapDiffEvent{Diff: d})
	}
	return err
}
