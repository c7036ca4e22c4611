package ua

import (
	"fmt"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
)

// Event is what the UA reports on its Events channel: one of
// RegistrationEvent, PublicationEvent, PresenceEvent, SubscriptionEvent and
// WatchersEvent.
type Event interface {
	isEvent()
	fmt.Stringer
}

// RegistrationState is the state of the registration binding.
type RegistrationState int

// Failed is the failure state of both a registration and a publication; it
// is untyped so that it compares with RegistrationState and
// PublicationState alike (RegistrationFailed and PublicationFailed are the
// typed spellings).
const Failed = 2

// Registration states.
const (
	Registering        RegistrationState = 0
	Registered         RegistrationState = 1
	RegistrationFailed RegistrationState = Failed
	Unregistered       RegistrationState = 3
)

// String describes the RegistrationState for logs and the debug view.
func (s RegistrationState) String() string {
	switch s {
	case Registering:
		return "registering"
	case Registered:
		return "registered"
	case RegistrationFailed:
		return "failed"
	case Unregistered:
		return "unregistered"
	}
	return fmt.Sprintf("RegistrationState(%d)", int(s))
}

// RegistrationEvent reports a change of the registration.
type RegistrationEvent struct {
	State RegistrationState
	// Expires is the lifetime the registrar granted (Registered only).
	Expires time.Duration
	// RetryIn is the wait before the next attempt (Failed only); 0 after
	// an authentication failure, which waits for SetPassword or RetryNow.
	RetryIn time.Duration
	// Err says why (Failed only); a *ResponseError for a SIP failure.
	Err error
}

func (RegistrationEvent) isEvent() {}

// String describes the RegistrationEvent for logs and the debug view.
func (e RegistrationEvent) String() string {
	s := "registration " + e.State.String()
	if e.Expires > 0 {
		s += fmt.Sprintf(" expires=%s", e.Expires)
	}
	if e.Err != nil {
		s += fmt.Sprintf(" retry-in=%s: %v", e.RetryIn, e.Err)
	}
	return s
}

// PublicationState is the state of our presence publication.
type PublicationState int

// Publication states.
const (
	Published         PublicationState = 0
	Removed           PublicationState = 1
	PublicationFailed PublicationState = Failed
)

// String describes the PublicationState for logs and the debug view.
func (s PublicationState) String() string {
	switch s {
	case Published:
		return "published"
	case PublicationFailed:
		return "failed"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("PublicationState(%d)", int(s))
}

// PublicationEvent reports the outcome of a PUBLISH that changed something
// a user would care about (first success, a new document, a failure, the
// removal). Plain refreshes are not reported.
type PublicationEvent struct {
	State PublicationState
	// ETag is the entity tag the server gave the publication.
	ETag string
	// Expires is the lifetime the server granted.
	Expires time.Duration
	// RetryIn is the wait before the next attempt (Failed only).
	RetryIn time.Duration
	Err     error
}

func (PublicationEvent) isEvent() {}

// String describes the PublicationEvent for logs and the debug view.
func (e PublicationEvent) String() string {
	s := "publication " + e.State.String()
	if e.ETag != "" {
		s += " etag=" + e.ETag
	}
	if e.Err != nil {
		s += fmt.Sprintf(" retry-in=%s: %v", e.RetryIn, e.Err)
	}
	return s
}

// PresenceEvent carries a buddy's presence from a NOTIFY. A NOTIFY without a
// body (the notifier knows nothing, or authorization is pending) gives a
// State with an empty Basic: unknown.
type PresenceEvent struct {
	URI   string
	State pidf.State
}

func (PresenceEvent) isEvent() {}

// String describes the PresenceEvent for logs and the debug view.
func (e PresenceEvent) String() string {
	return fmt.Sprintf("presence %s basic=%q activities=%v note=%q icon=%q", e.URI, e.State.Basic, e.State.Activities, e.State.Note, e.State.IconURL)
}

// SubscriptionState is the subscriber's view of one subscription.
type SubscriptionState int

// Subscription states.
const (
	// Pending: SUBSCRIBE sent, or the notifier awaits authorization.
	Pending SubscriptionState = iota
	// Active: the notifier sends us state.
	Active
	// Terminated: the subscription ended and will not be retried (our own
	// unsubscribe, or a final refusal; see Reason and Err).
	Terminated
	// Retrying: the subscription failed or ended and a new one is
	// scheduled in RetryIn.
	Retrying
)

// String describes the SubscriptionState for logs and the debug view.
func (s SubscriptionState) String() string {
	switch s {
	case Pending:
		return "pending"
	case Active:
		return "active"
	case Terminated:
		return "terminated"
	case Retrying:
		return "retrying"
	}
	return fmt.Sprintf("SubscriptionState(%d)", int(s))
}

// SubscriptionEvent reports a state change of a subscription.
type SubscriptionEvent struct {
	URI string
	// Package is the event package: "presence" or "presence.winfo".
	Package string
	State   SubscriptionState
	// Reason is the Subscription-State reason from the notifier
	// ("timeout", "rejected", ...) or one of ours ("subscribing",
	// "unsubscribed", "no NOTIFY within Timer N", "response 403", ...).
	Reason  string
	RetryIn time.Duration
	Err     error
}

func (SubscriptionEvent) isEvent() {}

// String describes the SubscriptionEvent for logs and the debug view.
func (e SubscriptionEvent) String() string {
	s := fmt.Sprintf("subscription %s (%s) %s", e.URI, e.Package, e.State)
	if e.Reason != "" {
		s += " reason=" + e.Reason
	}
	if e.State == Retrying {
		s += fmt.Sprintf(" retry-in=%s", e.RetryIn)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// WatchersEvent carries the full, merged watcher list of our own presence
// (presence.winfo); partial documents are applied before it is reported.
type WatchersEvent struct {
	Info winfo.Info
}

func (WatchersEvent) isEvent() {}

// String describes the WatchersEvent for logs and the debug view.
func (e WatchersEvent) String() string {
	return fmt.Sprintf("watchers version=%d count=%d", e.Info.Version, len(e.Info.Watchers))
}
