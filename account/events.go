package account

import (
	"image"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// Event is something the account reports to its front end. Every event
// type below implements it; Next returns them.
//
// Events that carry a state (every type here but LogEvent, DoneEvent and
// ErrorEvent) are coalesced while they wait in the queue: a newer event of
// the same key (kind, and buddy URI where there is one) replaces the older
// one, so a front end that falls behind still sees the newest state of
// everything. DoneEvent and ErrorEvent are never dropped; LogEvents are
// dropped beyond MaxQueuedLogs.
type Event interface{ accountEvent() }

// AccountEvent reports the registration state of the account. Key: one.
type AccountEvent struct {
	AOR         string
	DisplayName string
	State       ua.RegistrationState
	Expires     time.Duration // Registered: the granted expiry
	RetryIn     time.Duration // RegistrationFailed: when the next attempt is made
	Err         error         // RegistrationFailed: why
}

// Buddy is one entry of the buddy list (every <entry> of every list of the
// user's resource-lists document).
type Buddy struct {
	URI         string
	DisplayName string
	List        string // the list's name ("buddies" for the ones sipbuddy writes)
	// Groups are the Names of the groups that hold the buddy, in document
	// order (a buddy can be in several).
	Groups []string
}

// BuddiesEvent carries the whole buddy list, after it was loaded and after
// every change. Err is set (and Buddies empty) when the list could not be
// loaded; the account keeps trying. Key: one.
type BuddiesEvent struct {
	Buddies []Buddy
	// Groups are the groups of the document in document order (see
	// resourcelists.Document.Groups), empty ones included.
	Groups []Group
	Err    error
}

// PresenceEvent reports a buddy's new presence state (from a NOTIFY). Key:
// the buddy's URI.
type PresenceEvent struct {
	URI   string
	State pidf.State
	At    time.Time // when the account received it
}

// SubscriptionEvent reports a change of the presence subscription to a
// buddy. Key: the buddy's URI.
type SubscriptionEvent struct {
	URI     string
	State   ua.SubscriptionState
	Reason  string        // Subscription-State reason or the failure, "" if none
	RetryIn time.Duration // Retrying: when the next attempt is made
	Err     error
}

// IconEvent reports that a buddy's icon (or the account's own, URI == the
// AOR) is available, as a thumbnail of at most ThumbSide pixels and a
// picture of at most LargeThumbSide pixels made off the front end's loop,
// and the sha1 hex of the image bytes. Key: the URI, shared with
// IconFailedEvent (the newest outcome wins).
type IconEvent struct {
	URI   string
	URL   string
	Hash  string      // sha1 hex of the image bytes, the cache key
	Thumb image.Image // at most ThumbSide a side: the list's art
	Large image.Image // at most LargeThumbSide a side: art that fills a pane; nil: use Thumb
	// Format ("png", "jpeg", ...), Width and Height (pixels) and Bytes
	// describe the icon as stored; zero when not known.
	Format        string
	Width, Height int
	Bytes         int
}

// IconFailedEvent reports that a buddy's icon could not be fetched or
// decoded. RetryIn > 0 when another attempt is scheduled. Key: as
// IconEvent's.
type IconFailedEvent struct {
	URI     string
	URL     string
	Err     error
	RetryIn time.Duration
}

// PublicationEvent reports the outcome of a PUBLISH of the account's
// presence. Key: one.
type PublicationEvent struct {
	State   ua.PublicationState
	Expires time.Duration
	RetryIn time.Duration // PublicationFailed: when the next attempt is made
	Err     error
}

// SelfEvent reports the account's own presence as I set it: sent after
// Start and after every SetStatus and SetIcon. While I am invisible (Open
// false) Note and Activities are the ones kept for my return; watchers are
// shown none. Key: one.
type SelfEvent struct {
	Open       bool
	Activities []string
	Note       string
	IconURL    string
	IconHash   string
}

// Watcher is someone who subscribed to the account's presence.
type Watcher = winfo.Watcher

// WatchersEvent carries the full list of the account's watchers (from
// presence.winfo NOTIFYs, partial updates already merged). Key: one.
type WatchersEvent struct {
	Watchers []Watcher
}

// WatcherRulesEvent carries how each watcher the rules name is decided:
// the layout written (presrules.AUID or presrules.OMAAUID) and, per
// watcher, the handling and the deciding rule. Sent after every watcher
// decision and ReadWatcherRules. Key: one.
type WatcherRulesEvent struct {
	Layout string
	Rules  []presrules.WatcherRule
	// Unlisted is what happens to watchers no rule names.
	Unlisted presrules.Unlisted
	// Explain decides any watcher (one from watcherinfo the rules do not
	// name) with these documents; matched false: the server's default.
	Explain func(watcher string) (h presrules.Handling, rule string, matched bool)
}

// OfflineNoteEvent carries the note watchers see when all my devices are
// offline ("" when none is set): sent after ReadOfflineNote and
// SetOfflineNote. Key: one.
type OfflineNoteEvent struct {
	Note string
}

// LogEvent is one line for the debug pane: a log record or a SIP message.
type LogEvent struct {
	Time time.Time
	Kind LogKind
	Text string
}

// LogKind says where a LogEvent comes from.
type LogKind int

// Log kinds.
const (
	LogInfo LogKind = iota
	LogWarn
	LogError
	LogSIPIn  // a SIP message received
	LogSIPOut // a SIP message sent
)

func (AccountEvent) accountEvent()      {}
func (BuddiesEvent) accountEvent()      {}
func (PresenceEvent) accountEvent()     {}
func (SubscriptionEvent) accountEvent() {}
func (IconEvent) accountEvent()         {}
func (IconFailedEvent) accountEvent()   {}
func (PublicationEvent) accountEvent()  {}
func (SelfEvent) accountEvent()         {}
func (WatchersEvent) accountEvent()     {}
func (WatcherRulesEvent) accountEvent() {}
func (OfflineNoteEvent) accountEvent()  {}
func (LogEvent) accountEvent()          {}
func (DoneEvent) accountEvent()         {}
func (ErrorEvent) accountEvent()        {}
