package account

import (
	"fmt"
	"image"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
)

// Event is something the backend reports to the UI. Every event type below
// implements it; the UI reads them from Backend.Events.
type Event interface{ backendEvent() }

// RequestID identifies one request (SetStatus, SetIcon, AddBuddy, ...). It is
// returned at once by the request method and carried by the DoneEvent or
// ErrorEvent that answers it. IDs start at 1; 0 is never used.
type RequestID uint64

// RequestKind says which request a DoneEvent or ErrorEvent answers.
type RequestKind int

// The request kinds.
const (
	SetStatusRequest RequestKind = iota + 1
	SetIconRequest
	AddBuddyRequest
	RemoveBuddyRequest
	AcceptWatcherRequest
	BlockWatcherRequest
)

// String returns a short human name of the request ("set status", ...).
func (k RequestKind) String() string {
	switch k {
	case SetStatusRequest:
		return "set status"
	case SetIconRequest:
		return "set icon"
	case AddBuddyRequest:
		return "add buddy"
	case RemoveBuddyRequest:
		return "remove buddy"
	case AcceptWatcherRequest:
		return "accept watcher"
	case BlockWatcherRequest:
		return "block watcher"
	}
	return fmt.Sprintf("request(%d)", int(k))
}

// RegistrationState is the state of the account's SIP registration.
type RegistrationState int

// Registration states.
const (
	Unregistered RegistrationState = iota
	Registering
	Registered
	RegistrationFailed
)

// String returns the state as shown to the user.
func (s RegistrationState) String() string {
	switch s {
	case Unregistered:
		return "Unregistered"
	case Registering:
		return "Registering"
	case Registered:
		return "Registered"
	case RegistrationFailed:
		return "Registration failed"
	}
	return fmt.Sprintf("RegistrationState(%d)", int(s))
}

// AccountEvent reports the registration state of the account.
type AccountEvent struct {
	AOR         string
	DisplayName string
	State       RegistrationState
	Expires     time.Duration // Registered: the granted expiry
	Err         error         // RegistrationFailed: why
}

// Buddy is one entry of the buddy list (every <entry> of every list of the
// user's resource-lists document).
type Buddy struct {
	URI         string
	DisplayName string
	List        string // the list's name ("buddies" for the ones sipbuddy writes)
}

// BuddiesEvent carries the whole buddy list, after it was loaded and after
// every change. Err is set (and Buddies empty) when the list could not be
// loaded; the backend keeps trying.
type BuddiesEvent struct {
	Buddies []Buddy
	Err     error
}

// PresenceEvent reports a buddy's new presence state (from a NOTIFY).
type PresenceEvent struct {
	URI   string
	State pidf.State
	At    time.Time // when the backend received it
}

// SubscriptionState is the state of the presence subscription to a buddy.
type SubscriptionState int

// Subscription states. Active is the normal state; the others are marked in
// the buddy list with their reason.
const (
	SubscriptionActive SubscriptionState = iota
	SubscriptionPending
	SubscriptionTerminated // refused or ended by the server (Reason says why)
	SubscriptionRetrying
)

// String returns the state as shown to the user.
func (s SubscriptionState) String() string {
	switch s {
	case SubscriptionActive:
		return "active"
	case SubscriptionPending:
		return "pending"
	case SubscriptionTerminated:
		return "refused"
	case SubscriptionRetrying:
		return "retrying"
	}
	return fmt.Sprintf("SubscriptionState(%d)", int(s))
}

// SubscriptionEvent reports a change of the subscription to a buddy.
type SubscriptionEvent struct {
	URI     string
	State   SubscriptionState
	Reason  string        // Subscription-State reason or the failure, "" if none
	RetryIn time.Duration // Retrying: when the next attempt is made
	Err     error
}

// IconEvent reports that a buddy's icon (or the account's own, URI == the
// AOR) is available: the decoded image and the sha1 hex of its bytes.
type IconEvent struct {
	URI   string
	URL   string
	Hash  string // sha1 hex of the image bytes, the cache key
	Image image.Image
}

// IconFailedEvent reports that a buddy's icon could not be fetched or
// decoded. RetryIn > 0 when another attempt is scheduled.
type IconFailedEvent struct {
	URI     string
	URL     string
	Err     error
	RetryIn time.Duration
}

// PublicationState is the outcome of publishing the account's presence.
type PublicationState int

// Publication states.
const (
	Published PublicationState = iota
	PublicationFailed
	PublicationRemoved
)

// String returns the state as shown to the user.
func (s PublicationState) String() string {
	switch s {
	case Published:
		return "published"
	case PublicationFailed:
		return "publication failed"
	case PublicationRemoved:
		return "publication removed"
	}
	return fmt.Sprintf("PublicationState(%d)", int(s))
}

// PublicationEvent reports the outcome of a PUBLISH of the account's presence.
type PublicationEvent struct {
	State   PublicationState
	Expires time.Duration
	Err     error
}

// SelfEvent reports the account's own presence as the backend publishes it:
// sent after Start and after every SetStatus and SetIcon.
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
// presence.winfo NOTIFYs, partial updates already merged).
type WatchersEvent struct {
	Watchers []Watcher
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

// DoneEvent answers a request that succeeded. Detail is a short human
// summary ("icon published", "bob added").
type DoneEvent struct {
	ID     RequestID
	Kind   RequestKind
	Detail string
}

// ErrorEvent answers a request that failed; nothing was changed.
type ErrorEvent struct {
	ID   RequestID
	Kind RequestKind
	Err  error
}

func (AccountEvent) backendEvent()      {}
func (BuddiesEvent) backendEvent()      {}
func (PresenceEvent) backendEvent()     {}
func (SubscriptionEvent) backendEvent() {}
func (IconEvent) backendEvent()         {}
func (IconFailedEvent) backendEvent()   {}
func (PublicationEvent) backendEvent()  {}
func (SelfEvent) backendEvent()         {}
func (WatchersEvent) backendEvent()     {}
func (LogEvent) backendEvent()          {}
func (DoneEvent) backendEvent()         {}
func (ErrorEvent) backendEvent()        {}
