package account

import (
	"context"
	"errors"
	"fmt"
)

// MaxConcurrentRequests bounds requests running at once; more are answered
// with ErrBusy.
const MaxConcurrentRequests = 16

// Errors the requests answer with (wrapped in ErrorEvent.Err).
var (
	ErrNotStarted  = errors.New("not connected yet")
	ErrClosed      = errors.New("account closed")
	ErrBusy        = errors.New("too many requests at once")
	ErrNotInList   = errors.New("not in the buddy list")
	ErrNoAnswer    = errors.New("the presence server has not confirmed the publication yet (still trying)")
	ErrInvalidNote = errors.New("invalid note")
)

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
	AddGroupRequest
	RenameGroupRequest
	DeleteGroupRequest
	MoveBuddyRequest
	RenameBuddyRequest
	CopyBuddyRequest
	PoliteBlockWatcherRequest
	ForgetWatcherRequest
	ReadWatcherRulesRequest
	SetOfflineNoteRequest
	ReadOfflineNoteRequest
	AskEveryoneRequest
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
	case AddGroupRequest:
		return "add group"
	case RenameGroupRequest:
		return "rename group"
	case DeleteGroupRequest:
		return "delete group"
	case MoveBuddyRequest:
		return "move buddy"
	case RenameBuddyRequest:
		return "rename buddy"
	case CopyBuddyRequest:
		return "copy buddy"
	case PoliteBlockWatcherRequest:
		return "polite-block watcher"
	case ForgetWatcherRequest:
		return "remove watcher rule"
	case ReadWatcherRulesRequest:
		return "read watcher rules"
	case SetOfflineNoteRequest:
		return "set offline note"
	case ReadOfflineNoteRequest:
		return "read offline note"
	case AskEveryoneRequest:
		return "set who is asked about"
	}
	return fmt.Sprintf("request(%d)", int(k))
}

// DoneEvent answers a request that succeeded. Detail is a short human
// summary ("icon published", "bob added"). It is never dropped.
type DoneEvent struct {
	ID     RequestID
	Kind   RequestKind
	Detail string
}

// ErrorEvent answers a request that failed; nothing was changed. It is
// never dropped.
type ErrorEvent struct {
	ID   RequestID
	Kind RequestKind
	Err  error
}

// begin allocates a request id and checks the account can take it; when it
// cannot, the request is answered at once and ok is false.
func (a *Account) begin(kind RequestKind) (id RequestID, ok bool) {
	id = RequestID(a.nextID.Add(1))
	a.mu.Lock()
	started, closed := a.started, a.closed
	a.mu.Unlock()
	var err error
	switch {
	case closed:
		err = ErrClosed
	case !started:
		err = ErrNotStarted
	}
	if err != nil {
		a.fail(id, kind, err)
		return id, false
	}
	return id, true
}

// fail answers request id with err.
func (a *Account) fail(id RequestID, kind RequestKind, err error) RequestID {
	a.q.push(ErrorEvent{ID: id, Kind: kind, Err: err})
	return id
}

// run runs a request's network work in the background and answers it:
// fn's error, or a DoneEvent with fn's detail. An empty detail means fn
// arranged its own answer (one that waits for a PUBLISH).
func (a *Account) run(kind RequestKind, fn func(ctx context.Context, id RequestID) (string, error)) RequestID {
	id, ok := a.begin(kind)
	if !ok {
		return id
	}
	select {
	case a.reqs <- struct{}{}:
	default:
		return a.fail(id, kind, ErrBusy)
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer func() { <-a.reqs }()
		ctx, cancel := context.WithTimeout(a.ctx, a.o.RequestTimeout)
		defer cancel()
		detail, err := fn(ctx, id)
		if err != nil {
			a.log.Warn(kind.String()+" failed", "error", err)
			a.fail(id, kind, err)
			return
		}
		if detail != "" {
			a.q.push(DoneEvent{ID: id, Kind: kind, Detail: detail})
		}
	}()
	return id
}
