// Package pidf decodes and encodes presence documents: PIDF (RFC 3863)
// with the presence data model (RFC 4479), RPID (RFC 4480) and CIPID
// (RFC 4482).
//
// Parse is deliberately forgiving about structure, because presence servers
// concatenate the publications of several devices (Kamailio appends whole
// documents, so tuples and persons interleave and namespace declarations
// repeat) and clients choose their own prefixes. Elements are matched by
// namespace URI, never by prefix; unknown extensions are skipped. The
// result is one State, derived the way Blink derives it.
package pidf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
)

// Limits on what Parse (and Compose) accept. They are checked before and
// while decoding, so a hostile NOTIFY body costs little.
const (
	// MaxDocumentSize is the largest PIDF body accepted, in bytes.
	MaxDocumentSize = 64 << 10
	// MaxDepth is the deepest element nesting accepted.
	MaxDepth = 32
	// MaxElements is the largest number of elements in one document.
	MaxElements = 4096
	// MaxNodes bounds elements, runs of text and comments together
	// (an indented document has about two nodes per element).
	MaxNodes = 3 * MaxElements
)

// Errors returned by Parse. ErrMalformed and ErrNotPIDF are wrapped with
// details; a document over one of the limits is an *xmltree.LimitError
// whose What tells which.
var (
	ErrEmpty     = errors.New("pidf: empty document")
	ErrMalformed = errors.New("pidf: malformed XML")
	ErrNotPIDF   = errors.New("pidf: not a PIDF document")
)

// tooLarge is the error for a document of n bytes.
func tooLarge(n int) error {
	return fmt.Errorf("pidf: %w", xmltree.TooLarge(xmltree.WhatSize, int64(n), MaxDocumentSize))
}

// Basic is the PIDF basic status of the chosen tuple.
type Basic string

// Basic values; "" means the document did not say.
const (
	BasicOpen    Basic = "open"
	BasicClosed  Basic = "closed"
	BasicUnknown Basic = ""
)

// State is what a watcher shows for one presentity, derived from one PIDF
// document (which may aggregate several publications).
type State struct {
	Entity string
	// Basic is the basic status of the chosen tuple.
	Basic Basic
	// Activities are RPID activity element names ("away", "busy",
	// "on-the-phone", "meeting", ...); <rpid:other> contributes its text;
	// <rpid:unknown/> contributes nothing.
	Activities []string
	// Note is the person's dm:note, else the chosen tuple's note, else the
	// document's top-level note, else an <rpid:note> in a person's
	// activities.
	Note string
	// DisplayName is the CIPID display-name (person first, then the chosen
	// tuple).
	DisplayName string
	// IconURL is the CIPID icon of the chosen tuple, else of a person, else
	// a person's RPID status-icon; without its fragment.
	IconURL string
	// IconHash is the lower-case SHA-1 hex from a "#<sha1>" or
	// "#blink-icon<sha1>" fragment of the icon URL, "" if none: a cache key
	// that changes when the picture does.
	IconHash string
	// Timestamp is the chosen tuple's timestamp, else the first person's.
	Timestamp time.Time
	// Extended is the AG Projects extended status of the chosen tuple
	// ("available", "away", "extended-away", "busy", "offline"), "" if none.
	Extended string
	// Contact is the chosen tuple's contact URI.
	Contact string
	// Devices are the document's tuples one by one (at most MaxDevices,
	// in document order), each with the note and activities of its own
	// person when the publisher paired them by id as sipbuddy does
	// ("t-<x>" and "p-<x>"): how each device of a presentity stands.
	Devices []Device
}

// MaxDevices bounds State.Devices.
const MaxDevices = 64

// Device is one tuple of a presence document.
type Device struct {
	// ID is the tuple id.
	ID         string
	Basic      Basic
	Activities []string
	Note       string
	Timestamp  time.Time
}

// Availability is the summary a buddy list shows.
type Availability int

// Availability values.
const (
	Available Availability = iota
	Away
	Busy
	OnThePhone
	Meeting
	Offline
	Unknown
)

var availabilityNames = [...]string{"available", "away", "busy", "on the phone", "in a meeting", "offline", "unknown"}

// String returns a lower-case label ("available", "on the phone", ...).
func (a Availability) String() string {
	if a < 0 || int(a) >= len(availabilityNames) {
		return fmt.Sprintf("Availability(%d)", int(a))
	}
	return availabilityNames[a]
}

// Activity sets used by Availability. RPID has no "available" activity;
// words outside these sets (e.g. "working", or Blink's
// <rpid:other>available</rpid:other>) leave an open presentity Available.
var (
	onThePhoneActivities = []string{"on-the-phone"}
	meetingActivities    = []string{"meeting", "appointment", "presentation"}
	busyActivities       = []string{"busy", "performance", "worship", "steering", "do-not-disturb", "dnd"}
	awayActivities       = []string{"away", "vacation", "holiday", "permanent-absence", "sleeping", "travel",
		"in-transit", "breakfast", "dinner", "meal", "shopping", "extended-away", "lunch", "out-of-office"}
)

// Availability summarises the state. A closed tuple is Offline whatever
// the activities say (a stale person element must not make an offline
// buddy look busy); Blink's extended status is honoured next; then the
// most specific activity; open alone is Available; nothing at all is
// Unknown.
func (s State) Availability() Availability {
	if s.Basic == BasicClosed {
		return Offline
	}
	switch s.Extended {
	case "available":
		return Available
	case "away", "extended-away":
		return Away
	case "busy":
		if hasAny(s.Activities, onThePhoneActivities) {
			return OnThePhone
		}
		if hasAny(s.Activities, meetingActivities) {
			return Meeting
		}
		return Busy
	case "offline":
		return Offline
	}
	switch {
	case hasAny(s.Activities, onThePhoneActivities):
		return OnThePhone
	case hasAny(s.Activities, meetingActivities):
		return Meeting
	case hasAny(s.Activities, busyActivities):
		return Busy
	case hasAny(s.Activities, awayActivities):
		return Away
	case s.Basic == BasicOpen || len(s.Activities) > 0:
		return Available
	}
	return Unknown
}

func hasAny(activities, set []string) bool {
	for _, a := range activities {
		if slices.Contains(set, strings.ToLower(strings.TrimSpace(a))) {
			return true
		}
	}
	return false
}

// tuple and person hold what Parse extracts before choosing.
type tuple struct {
	id         string
	basic      Basic
	extended   string
	contact    string
	note       string
	timestamp  time.Time
	icon       string
	display    string
	activities []string
	hasActs    bool
}

type person struct {
	id         string
	activities []string
	hasActs    bool
	actsNote   string // <rpid:note> inside <rpid:activities>
	note       string
	icon       string
	statusIcon string
	display    string
	timestamp  time.Time
}

// Parse decodes a PIDF document and derives one State. An empty body is
// ErrEmpty (a bodiless NOTIFY means "no state", not an error to show).
func Parse(data []byte) (State, error) {
	if len(data) > MaxDocumentSize {
		return State{}, tooLarge(len(data))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return State{}, ErrEmpty
	}
	root, err := parseTree(data)
	if err != nil {
		return State{}, err
	}
	pns, ok := pidfNamespace(root)
	if !ok {
		return State{}, fmt.Errorf("%w: root element is {%s}%s", ErrNotPIDF, root.Space, root.Local)
	}
	return derive(root, pns), nil
}

// pidfNamespace accepts the PIDF namespace, its pre-RFC CPIM name, and (for
// clients that forget xmlns) no namespace at all.
func pidfNamespace(root *node) (string, bool) {
	if root.Kind != xmltree.Element || root.Local != "presence" {
		return "", false
	}
	switch root.Space {
	case NSPIDF, NSCPIMPIDF, "":
		return root.Space, true
	}
	return "", false
}

func derive(root *node, pns string) State {
	var (
		st      State
		tuples  []tuple
		persons []person
		topNote string
	)
	st.Entity, _ = root.Attr("entity")
	st.Entity = strings.TrimSpace(st.Entity)
	root.EachElement(func(c *node) {
		switch {
		case c.Is(pns, "tuple"):
			tuples = append(tuples, parseTuple(c, pns))
		case c.Is(NSDM, "person"):
			persons = append(persons, parsePerson(c))
		case c.Is(pns, "note"):
			xmltree.KeepFirstText(&topNote, c)
		}
	})

	var chosen *tuple
	if len(tuples) > 0 {
		order := make([]int, len(tuples))
		for i := range order {
			order[i] = i
		}
		// Blink's choice: extended status first, then open, then newest;
		// document order breaks ties (aggregators put the newest first).
		slices.SortStableFunc(order, func(a, b int) int {
			ta, tb := &tuples[a], &tuples[b]
			if (ta.extended != "") != (tb.extended != "") {
				if ta.extended != "" {
					return -1
				}
				return 1
			}
			if (ta.basic == BasicOpen) != (tb.basic == BasicOpen) {
				if ta.basic == BasicOpen {
					return -1
				}
				return 1
			}
			return tb.timestamp.Compare(ta.timestamp)
		})
		chosen = &tuples[order[0]]
		st.Basic = chosen.basic
		st.Extended = chosen.extended
		st.Contact = chosen.contact
		st.Timestamp = chosen.timestamp
	}

	// Persons: the first that has the field (the first is the newest in an
	// aggregated document).
	actsFound := false
	for i := range persons {
		p := &persons[i]
		if !actsFound && p.hasActs {
			st.Activities, actsFound = p.activities, true
		}
		if st.Note == "" {
			st.Note = p.note
		}
		if st.DisplayName == "" {
			st.DisplayName = p.display
		}
		if st.Timestamp.IsZero() {
			st.Timestamp = p.timestamp
		}
	}
	if chosen != nil {
		if !actsFound && chosen.hasActs {
			// Pre-data-model RPID put activities in the tuple's status.
			st.Activities = chosen.activities
		}
		if st.Note == "" {
			st.Note = chosen.note
		}
		if st.DisplayName == "" {
			st.DisplayName = chosen.display
		}
	}
	if st.Note == "" {
		st.Note = topNote
	}
	for i := 0; st.Note == "" && i < len(persons); i++ {
		st.Note = persons[i].actsNote // baresip-style: a note about the activities
	}

	icon := ""
	if chosen != nil {
		icon = chosen.icon
	}
	for i := 0; icon == "" && i < len(persons); i++ {
		icon = persons[i].icon
	}
	for i := 0; icon == "" && i < len(persons); i++ {
		icon = persons[i].statusIcon
	}
	for i := 0; icon == "" && i < len(tuples); i++ {
		icon = tuples[i].icon
	}
	st.IconURL, st.IconHash = SplitIconURL(icon)
	st.Devices = devices(tuples, persons)
	return st
}

// devices lists the tuples, each with its paired person's note and
// activities (person "p-<x>" for tuple "t-<x>", StableID's pairing).
func devices(tuples []tuple, persons []person) []Device {
	if len(tuples) == 0 {
		return nil
	}
	byID := make(map[string]*person, len(persons))
	for i := range persons {
		if persons[i].id != "" {
			byID[persons[i].id] = &persons[i]
		}
	}
	out := make([]Device, 0, min(len(tuples), MaxDevices))
	for i := range tuples {
		if len(out) == MaxDevices {
			break
		}
		t := &tuples[i]
		d := Device{ID: t.id, Basic: t.basic, Activities: t.activities, Note: t.note, Timestamp: t.timestamp}
		if rest, ok := strings.CutPrefix(t.id, "t-"); ok {
			if p := byID["p-"+rest]; p != nil {
				if p.hasActs {
					d.Activities = p.activities
				}
				if p.note != "" {
					d.Note = p.note
				}
				if d.Timestamp.IsZero() {
					d.Timestamp = p.timestamp
				}
			}
		}
		out = append(out, d)
	}
	return out
}

func parseTuple(t *node, pns string) tuple {
	var tp tuple
	tp.id, _ = t.Attr("id")
	t.EachElement(func(c *node) {
		switch {
		case c.Is(pns, "status"):
			c.EachElement(func(s *node) {
				switch {
				case s.Is(pns, "basic"):
					tp.basic = parseBasic(s.TextContent())
				case s.Is(NSAGP, "extended"):
					tp.extended = strings.ToLower(s.TextContent())
				case s.Is(NSRPID, "activities"):
					tp.activities, tp.hasActs = parseActivities(s), true
				}
			})
		case c.Is(pns, "contact"):
			tp.contact = c.TextContent()
		case c.Is(pns, "note"):
			xmltree.KeepFirstText(&tp.note, c)
		case c.Is(pns, "timestamp"):
			tp.timestamp = parseTime(c.TextContent())
		case c.Is(NSCIPID, "icon"):
			xmltree.KeepFirstText(&tp.icon, c)
		case c.Is(NSCIPID, "display-name"):
			xmltree.KeepFirstText(&tp.display, c)
		case c.Is(NSRPID, "activities"):
			if !tp.hasActs {
				tp.activities, tp.hasActs = parseActivities(c), true
			}
		}
	})
	return tp
}

func parsePerson(p *node) person {
	var pr person
	pr.id, _ = p.Attr("id")
	p.EachElement(func(c *node) {
		switch {
		case c.Is(NSRPID, "activities"):
			if !pr.hasActs {
				pr.activities, pr.hasActs = parseActivities(c), true
				if n := c.Child(NSRPID, "note"); n != nil {
					pr.actsNote = n.TextContent()
				}
			}
		case c.Is(NSDM, "note"):
			xmltree.KeepFirstText(&pr.note, c)
		case c.Is(NSCIPID, "icon"):
			xmltree.KeepFirstText(&pr.icon, c)
		case c.Is(NSRPID, "status-icon"):
			xmltree.KeepFirstText(&pr.statusIcon, c)
		case c.Is(NSCIPID, "display-name"):
			xmltree.KeepFirstText(&pr.display, c)
		case c.Is(NSDM, "timestamp"):
			pr.timestamp = parseTime(c.TextContent())
		}
	})
	return pr
}

func parseBasic(s string) Basic {
	switch strings.ToLower(s) {
	case "open":
		return BasicOpen
	case "closed":
		return BasicClosed
	}
	return BasicUnknown
}

// parseActivities returns the activity names in document order, without
// duplicates; rpid:note and rpid:unknown contribute nothing, foreign
// elements are skipped.
func parseActivities(a *node) []string {
	var out []string
	a.EachElement(func(c *node) {
		if c.Space != NSRPID {
			return
		}
		name := c.Local
		switch name {
		case "note", "unknown":
			return
		case "other":
			name = c.TextContent()
		}
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	})
	return out
}

// timeLayouts are the xs:dateTime forms seen in PIDF; a missing zone is
// read as UTC.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z0700"}

func parseTime(s string) time.Time {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// SplitIconURL separates an icon URL from its fragment and returns the
// SHA-1 hex carried by a "#<sha1>" or "#blink-icon<sha1>" fragment
// (lower-cased), or "" when the fragment is anything else.
func SplitIconURL(raw string) (url, sha1Hex string) {
	raw = strings.TrimSpace(raw)
	i := strings.IndexByte(raw, '#')
	if i < 0 {
		return raw, ""
	}
	url, frag := raw[:i], strings.TrimPrefix(raw[i+1:], "blink-icon")
	if isSHA1Hex(frag) {
		sha1Hex = strings.ToLower(frag)
	}
	return url, sha1Hex
}

func isSHA1Hex(s string) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
