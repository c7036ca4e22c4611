// Package backend is the bridge between sipbuddy's terminal UI and the
// network for one account. It owns the SIP user agent (sip/ua), the XCAP
// client (xcap), the buddy list document (xcap/resourcelists), the
// pres-rules document (xcap/presrules) and the icon fetcher with its disk
// cache.
//
// The UI talks to it in two directions only: requests (SetStatus, SetIcon,
// AddBuddy, ...) return at once with a RequestID and are answered later by a
// DoneEvent or an ErrorEvent carrying that id; everything else the backend
// learns arrives as typed events on Events. Nothing here blocks the caller.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/xmltree"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// Defaults and limits.
const (
	// DefaultRequestTimeout bounds one request's network work (XCAP
	// round trips) and the wait for the PUBLISH that carries a change.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultIconFetches bounds concurrent icon downloads.
	DefaultIconFetches = 4
	// DefaultIconRetryMin/Max bound the back-off between icon attempts.
	DefaultIconRetryMin = 2 * time.Second
	DefaultIconRetryMax = 5 * time.Minute
	// DefaultIconAttempts is how often a failing icon is tried.
	DefaultIconAttempts = 6
	// DefaultListRetryMax bounds the back-off when the buddy list cannot
	// be loaded.
	DefaultListRetryMax = time.Minute
	// MaxNoteBytes bounds the note the user publishes.
	MaxNoteBytes = 1024
	// MaxDisplayNameBytes bounds a buddy's display name.
	MaxDisplayNameBytes = 256
	// MaxConcurrentRequests bounds requests running at once; more are
	// answered with ErrBusy.
	MaxConcurrentRequests = 16
	// PresRulesDocument is where watcher decisions are stored (RFC 5025).
	PresRulesAUID     = presrules.AUID
	PresRulesDocument = presrules.DocumentPath
	PresRulesMIMEType = presrules.ContentType
	// ResourceListsDocument is the buddy list document.
	ResourceListsDocument = "index"
)

// Errors the requests answer with (wrapped in ErrorEvent.Err).
var (
	ErrNotStarted  = errors.New("not connected yet")
	ErrClosed      = errors.New("backend closed")
	ErrBusy        = errors.New("too many requests at once")
	ErrNotInList   = errors.New("not in the buddy list")
	ErrNoAnswer    = errors.New("the presence server has not confirmed the publication yet (still trying)")
	ErrInvalidNote = errors.New("invalid note")
)

// Options configure a Backend. AOR, Password, Proxy and XCAPRoot are
// required.
type Options struct {
	AOR         string // "sip:alice@example.test"
	DisplayName string
	Username    string // digest user; default the AOR's user part
	Password    string
	Proxy       string // outbound proxy, "sip:127.0.0.1:5060;transport=tcp"
	Transport   string // "tcp" (default) or "udp"
	ListenAddr  string // default "127.0.0.1:0"
	XCAPRoot    string // "http://127.0.0.1:8080/xcap-root"

	// CacheDir is the icon cache; default os.UserCacheDir()/sipbuddy/icons.
	CacheDir string
	// CacheMaxBytes bounds the icon files in CacheDir; default MaxCacheBytes.
	CacheMaxBytes int64
	// IconName is the name of my icon document; default
	// xcap.BlinkIconName ("index", the document Blink uses). "random"
	// stores every upload under a new random name.
	IconName string

	// HTTP is used for XCAP and icons; default a client with
	// xcap.DefaultTimeout.
	HTTP *http.Client
	// Logger receives the backend's and the UA's logs (they are also
	// copied to the debug pane as LogEvents); default: discard.
	Logger *slog.Logger
	// NoTrace stops copying every SIP message to the debug pane as a
	// LogEvent (copied by default).
	NoTrace bool

	// Expires is the requested REGISTER/PUBLISH/SUBSCRIBE lifetime;
	// default ua.DefaultExpires.
	Expires time.Duration
	// RetryMin and RetryMax bound the UA's back-off (defaults: ua's).
	RetryMin, RetryMax time.Duration

	RequestTimeout time.Duration // default DefaultRequestTimeout
	IconFetches    int           // default DefaultIconFetches
	IconRetryMin   time.Duration // default DefaultIconRetryMin
	IconRetryMax   time.Duration // default DefaultIconRetryMax
	IconAttempts   int           // default DefaultIconAttempts

	// Closed, Activity and Note are the presence published at Start
	// (default: open, no activity, no note).
	Closed   bool
	Activity string
	Note     string
}

// Backend is one account's network side. Build it with New, Start it,
// read Events, send requests, Close it. Its methods are safe for
// concurrent use.
type Backend struct {
	o   Options
	log *slog.Logger
	ua  *ua.UA
	xc  *xcap.Client
	q   *queue

	nextID atomic.Uint64
	reqs   chan struct{} // semaphore of running requests

	ctx    context.Context // lifetime of background work
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stop   chan struct{} // stops the event pump
	pumpWG sync.WaitGroup

	icons *iconFetcher

	mu         sync.Mutex
	started    bool
	closed     bool
	self       ua.Presence
	buddies    []Buddy
	pendingPub []pendingRequest
	regState   RegistrationState
}

type pendingRequest struct {
	id     RequestID
	kind   RequestKind
	detail string
	timer  *time.Timer
}

// New checks the options and builds a backend that does nothing until
// Start.
func New(o Options) (*Backend, error) {
	if o.AOR == "" || o.Proxy == "" || o.XCAPRoot == "" {
		return nil, errors.New("backend: AOR, Proxy and XCAPRoot are required")
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.IconFetches <= 0 {
		o.IconFetches = DefaultIconFetches
	}
	if o.IconRetryMin <= 0 {
		o.IconRetryMin = DefaultIconRetryMin
	}
	if o.IconRetryMax <= 0 {
		o.IconRetryMax = DefaultIconRetryMax
	}
	if o.IconAttempts <= 0 {
		o.IconAttempts = DefaultIconAttempts
	}
	if o.IconName == "" {
		o.IconName = xcap.BlinkIconName
	}
	if o.CacheMaxBytes <= 0 {
		o.CacheMaxBytes = MaxCacheBytes
	}
	if o.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("backend: no icon cache directory (set Options.CacheDir): %w", err)
		}
		o.CacheDir = filepath.Join(dir, "sipbuddy", "icons")
	}
	if len(o.Note) > MaxNoteBytes {
		return nil, fmt.Errorf("backend: %w: longer than %d bytes", ErrInvalidNote, MaxNoteBytes)
	}
	b := &Backend{
		o:    o,
		q:    newQueue(),
		reqs: make(chan struct{}, MaxConcurrentRequests),
		stop: make(chan struct{}),
	}
	next := slog.New(discardHandler{}).Handler()
	if o.Logger != nil {
		next = o.Logger.Handler()
	}
	b.log = slog.New(&logHandler{next: next, push: b.q.push})

	uo := ua.Options{
		AOR:              o.AOR,
		DisplayName:      o.DisplayName,
		Username:         o.Username,
		Password:         o.Password,
		Proxy:            o.Proxy,
		Transport:        o.Transport,
		ListenAddr:       o.ListenAddr,
		RegisterExpires:  o.Expires,
		PublishExpires:   o.Expires,
		SubscribeExpires: o.Expires,
		Logger:           b.log.With("part", "sip"),
		RetryMin:         o.RetryMin,
		RetryMax:         o.RetryMax,
	}
	if !o.NoTrace {
		uo.Trace = b.trace
	}
	u, err := ua.New(uo)
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	xc, err := xcap.NewClient(xcap.ClientOptions{
		Root:     o.XCAPRoot,
		XUI:      u.AOR(),
		Username: o.Username,
		Password: o.Password,
		HTTP:     o.HTTP,
	})
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	b.ua, b.xc = u, xc
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.self = ua.Presence{Open: !o.Closed, Note: o.Note}
	if o.Activity != "" {
		b.self.Activities = []string{o.Activity}
	}
	b.icons = newIconFetcher(b)
	b.pumpWG.Add(1)
	go func() {
		defer b.pumpWG.Done()
		b.q.run(b.stop)
	}()
	return b, nil
}

// discardHandler drops every record (slog.DiscardHandler without the
// allocation of a TextHandler).
type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (d discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return d }
func (d discardHandler) WithGroup(string) slog.Handler           { return d }

// trace copies a SIP message to the debug pane. Called on network
// goroutines; never blocks.
func (b *Backend) trace(in bool, msg string) {
	kind := LogSIPOut
	if in {
		kind = LogSIPIn
	}
	b.q.push(LogEvent{Time: time.Now(), Kind: kind, Text: cut(msg, MaxLogText)})
}

// AOR returns the account's address of record.
func (b *Backend) AOR() string { return b.ua.AOR() }

// Events is the channel every event comes out of. It is closed at the end
// of Close. The UI must keep reading it; when it falls far behind, the
// oldest events are dropped (log lines first).
func (b *Backend) Events() <-chan Event { return b.q.out }

// Dropped returns how many events were dropped because the UI fell behind.
func (b *Backend) Dropped() int { return b.q.droppedCount() }

// XCAP returns the backend's XCAP client (for tools that need more).
func (b *Backend) XCAP() *xcap.Client { return b.xc }

// Start registers, publishes the initial presence, subscribes to the
// watcher list, and loads the buddy list and my icon in the background.
// ctx bounds the start-up only. A failed registration is not an error of
// Start: the UA keeps retrying and reports AccountEvents.
func (b *Backend) Start(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	if b.started {
		b.mu.Unlock()
		return errors.New("backend: already started")
	}
	b.started = true
	b.regState = Registering
	self := b.self
	b.mu.Unlock()

	b.q.push(AccountEvent{AOR: b.AOR(), DisplayName: b.o.DisplayName, State: Registering})
	b.ua.SetPresence(self)
	b.ua.WatchWatchers(true)
	b.pushSelf()

	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.pumpUA()
	}()
	if err := b.ua.Start(ctx); err != nil {
		return fmt.Errorf("backend: %w", err)
	}
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		b.loadBuddies()
	}()
	go func() {
		defer b.wg.Done()
		b.loadMyIcon()
	}()
	return nil
}

// Close ends everything: background work stops, the UA removes its
// publication, ends its subscriptions and unregisters (bounded by ctx),
// and the Events channel is closed.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	pend := b.pendingPub
	b.pendingPub = nil
	b.mu.Unlock()
	for _, p := range pend {
		p.timer.Stop()
	}

	b.cancel()
	err := b.ua.Close(ctx)
	b.wg.Wait()
	b.icons.wait()
	close(b.stop)
	b.pumpWG.Wait()
	return err
}

// The UA's states as the backend names them (built once, not per event).
var (
	regStates = map[ua.RegistrationState]RegistrationState{
		ua.Registering:        Registering,
		ua.Registered:         Registered,
		ua.RegistrationFailed: RegistrationFailed,
		ua.Unregistered:       Unregistered,
	}
	pubStates = map[ua.PublicationState]PublicationState{
		ua.Published:         Published,
		ua.Removed:           PublicationRemoved,
		ua.PublicationFailed: PublicationFailed,
	}
	subStates = map[ua.SubscriptionState]SubscriptionState{
		ua.Pending:    SubscriptionPending,
		ua.Active:     SubscriptionActive,
		ua.Terminated: SubscriptionTerminated,
		ua.Retrying:   SubscriptionRetrying,
	}
)

// pumpUA turns the UA's events into the backend's. It runs until the UA's
// channel is closed (at the end of its Close).
func (b *Backend) pumpUA() {
	for ev := range b.ua.Events() {
		switch ev := ev.(type) {
		case ua.RegistrationEvent:
			st := regStates[ev.State]
			b.mu.Lock()
			b.regState = st
			b.mu.Unlock()
			b.q.push(AccountEvent{AOR: b.AOR(), DisplayName: b.o.DisplayName, State: st, Expires: ev.Expires, Err: ev.Err})
		case ua.PublicationEvent:
			st := pubStates[ev.State]
			b.q.push(PublicationEvent{State: st, Expires: ev.Expires, Err: ev.Err})
			b.answerPublication(st, ev.Err)
		case ua.PresenceEvent:
			b.q.push(PresenceEvent{URI: ev.URI, State: ev.State, At: time.Now()})
			b.icons.want(ev.URI, ev.State.IconURL, ev.State.IconHash)
		case ua.SubscriptionEvent:
			if ev.Package != "" && ev.Package != "presence" {
				if ev.State != ua.Active {
					b.log.Info("watcher list subscription", "state", ev.State.String(), "reason", ev.Reason)
				}
				continue
			}
			st := subStates[ev.State]
			b.q.push(SubscriptionEvent{URI: ev.URI, State: st, Reason: ev.Reason, RetryIn: ev.RetryIn, Err: ev.Err})
		case ua.WatchersEvent:
			b.q.push(WatchersEvent{Watchers: slices.Clone(ev.Info.Watchers)})
		}
	}
}

// answerPublication answers the requests waiting for a PUBLISH outcome.
func (b *Backend) answerPublication(st PublicationState, err error) {
	if st == PublicationRemoved {
		return
	}
	b.mu.Lock()
	pend := b.pendingPub
	b.pendingPub = nil
	b.mu.Unlock()
	for _, p := range pend {
		p.timer.Stop()
		if st == Published {
			b.q.push(DoneEvent{ID: p.id, Kind: p.kind, Detail: p.detail})
		} else {
			if err == nil {
				err = errors.New("publication failed")
			}
			b.q.push(ErrorEvent{ID: p.id, Kind: p.kind, Err: err})
		}
	}
}

// publish publishes b.self (already updated under b.mu by the caller) and
// answers request id when the PUBLISH succeeds or fails.
func (b *Backend) publishLocked(id RequestID, kind RequestKind, detail string) {
	p := pendingRequest{id: id, kind: kind, detail: detail}
	p.timer = time.AfterFunc(b.o.RequestTimeout, func() {
		b.mu.Lock()
		i := slices.IndexFunc(b.pendingPub, func(q pendingRequest) bool { return q.id == id })
		if i < 0 {
			b.mu.Unlock()
			return
		}
		b.pendingPub = slices.Delete(b.pendingPub, i, i+1)
		b.mu.Unlock()
		b.q.push(ErrorEvent{ID: id, Kind: kind, Err: ErrNoAnswer})
	})
	b.pendingPub = append(b.pendingPub, p)
	b.ua.SetPresence(b.self)
}

// pushSelf reports my presence as published.
func (b *Backend) pushSelf() {
	b.mu.Lock()
	s := b.self
	b.mu.Unlock()
	b.q.push(SelfEvent{Open: s.Open, Activities: slices.Clone(s.Activities), Note: s.Note, IconURL: s.IconURL, IconHash: s.IconSHA1})
}

// begin allocates a request id and checks the backend can take it. It
// returns a non-nil error event when it cannot.
func (b *Backend) begin(kind RequestKind) (RequestID, bool) {
	id := RequestID(b.nextID.Add(1))
	b.mu.Lock()
	started, closed := b.started, b.closed
	b.mu.Unlock()
	var err error
	switch {
	case closed:
		err = ErrClosed
	case !started:
		err = ErrNotStarted
	}
	if err != nil {
		b.q.push(ErrorEvent{ID: id, Kind: kind, Err: err})
		return id, false
	}
	return id, true
}

// run runs a request's network work in the background and answers it.
func (b *Backend) run(kind RequestKind, fn func(ctx context.Context, id RequestID) (string, error)) RequestID {
	id, ok := b.begin(kind)
	if !ok {
		return id
	}
	select {
	case b.reqs <- struct{}{}:
	default:
		b.q.push(ErrorEvent{ID: id, Kind: kind, Err: ErrBusy})
		return id
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() { <-b.reqs }()
		ctx, cancel := context.WithTimeout(b.ctx, b.o.RequestTimeout)
		defer cancel()
		detail, err := fn(ctx, id)
		if err != nil {
			b.log.Warn(kind.String()+" failed", "error", err)
			b.q.push(ErrorEvent{ID: id, Kind: kind, Err: err})
			return
		}
		if detail != "" {
			b.q.push(DoneEvent{ID: id, Kind: kind, Detail: detail})
		}
	}()
	return id
}

// SetStatus publishes my basic status (open false = invisible), one RPID
// activity ("" for none; "away", "busy", "on-the-phone", "meeting", ...)
// and my note. Done when the presence server accepted the PUBLISH.
func (b *Backend) SetStatus(open bool, activity, note string) RequestID {
	id, ok := b.begin(SetStatusRequest)
	if !ok {
		return id
	}
	fail := func(err error) RequestID {
		b.q.push(ErrorEvent{ID: id, Kind: SetStatusRequest, Err: err})
		return id
	}
	if len(note) > MaxNoteBytes {
		return fail(fmt.Errorf("%w: longer than %d bytes", ErrInvalidNote, MaxNoteBytes))
	}
	if strings.ContainsFunc(note, func(r rune) bool { return r < 0x20 && r != '\t' }) {
		return fail(fmt.Errorf("%w: control characters", ErrInvalidNote))
	}
	if activity != "" && !slices.Contains(pidf.RPIDActivities, activity) {
		return fail(fmt.Errorf("unknown activity %q", activity))
	}
	var acts []string
	if activity != "" {
		acts = []string{activity}
	}
	b.mu.Lock()
	same := b.self.Open == open && slices.Equal(b.self.Activities, acts) && b.self.Note == note
	b.self.Open, b.self.Activities, b.self.Note = open, acts, note
	detail := "status published: " + statusSummary(open, activity, note)
	if same {
		b.mu.Unlock()
		b.q.push(DoneEvent{ID: id, Kind: SetStatusRequest, Detail: "status unchanged: " + statusSummary(open, activity, note)})
		return id
	}
	b.publishLocked(id, SetStatusRequest, detail)
	b.mu.Unlock()
	b.pushSelf()
	return id
}

func statusSummary(open bool, activity, note string) string {
	s := "available"
	switch {
	case !open:
		s = "invisible"
	case activity != "":
		s = strings.ReplaceAll(activity, "-", " ")
	}
	if note != "" {
		s += " — " + note
	}
	return s
}

// MaxIconFileBytes bounds the file SetIcon reads (before it is checked,
// scaled and re-encoded).
const MaxIconFileBytes = 16 << 20

// SetIcon uploads the image at path as my icon (checked against
// icon.UploadLimits, centre-cropped and scaled, stored on the XCAP server)
// and publishes its URL with its sha1. A file that is not a usable image
// gets an error and changes nothing.
func (b *Backend) SetIcon(path string) RequestID {
	return b.run(SetIconRequest, func(ctx context.Context, id RequestID) (string, error) {
		data, err := readFileLimited(path, min(MaxIconFileBytes, icon.UploadLimits.MaxBytes))
		if err != nil {
			return "", err
		}
		img, _, err := icon.Decode(data, icon.UploadLimits)
		if err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		name := b.o.IconName
		if name == "random" {
			name = ""
		}
		up, err := b.xc.UploadIcon(ctx, data, name)
		if err != nil {
			return "", fmt.Errorf("upload %s: %w", filepath.Base(path), err)
		}
		b.q.push(IconEvent{URI: b.AOR(), URL: up.URL, Hash: up.SHA1, Image: icon.Fit(img, up.Side)})
		b.mu.Lock()
		b.self.IconURL, b.self.IconSHA1 = up.URL, up.SHA1
		b.publishLocked(id, SetIconRequest, "icon published ("+filepath.Base(path)+")")
		b.mu.Unlock()
		b.pushSelf()
		return "", nil // answered by the PUBLISH outcome
	})
}

// readFileLimited reads a regular file of at most limit bytes.
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", filepath.Base(path))
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), xmltree.TooLarge(icon.WhatFile, st.Size(), limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), xmltree.TooLarge(icon.WhatFile, int64(len(data)), limit))
	}
	return data, nil
}

// AddBuddy adds uri to the list "buddies" of my buddy list document (an
// ETag-conditional update) and subscribes to its presence.
func (b *Backend) AddBuddy(uri, displayName string) RequestID {
	return b.run(AddBuddyRequest, func(ctx context.Context, _ RequestID) (string, error) {
		u, err := NormalizeURI(uri)
		if err != nil {
			return "", err
		}
		if len(displayName) > MaxDisplayNameBytes {
			return "", fmt.Errorf("display name longer than %d bytes", MaxDisplayNameBytes)
		}
		doc, err := resourcelists.Update(ctx, b.xc, func(d *resourcelists.Document) error {
			return d.Add(resourcelists.BuddiesList, u, displayName)
		})
		if err != nil {
			return "", err
		}
		b.setBuddies(doc.Entries())
		b.ua.Subscribe(u)
		name := displayName
		if name == "" {
			name = u
		}
		return name + " added", nil
	})
}

// RemoveBuddy removes uri from my buddy list document (from whichever list
// holds it) and ends the subscription to it.
func (b *Backend) RemoveBuddy(uri string) RequestID {
	return b.run(RemoveBuddyRequest, func(ctx context.Context, _ RequestID) (string, error) {
		doc, err := resourcelists.Update(ctx, b.xc, func(d *resourcelists.Document) error {
			if !d.Remove(uri) {
				return fmt.Errorf("%s: %w", uri, ErrNotInList)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		b.setBuddies(doc.Entries())
		b.ua.Unsubscribe(uri)
		b.icons.forget(uri)
		return uri + " removed", nil
	})
}

// setBuddies stores and reports the buddy list.
func (b *Backend) setBuddies(entries []resourcelists.Entry) {
	list := make([]Buddy, 0, len(entries))
	for _, e := range entries {
		list = append(list, Buddy{URI: e.URI, DisplayName: e.DisplayName, List: e.List})
	}
	b.mu.Lock()
	b.buddies = list
	b.mu.Unlock()
	b.q.push(BuddiesEvent{Buddies: slices.Clone(list)})
}

// AcceptWatcher allows uri to see my presence (a pres-rules "allow" rule).
func (b *Backend) AcceptWatcher(uri string) RequestID {
	return b.run(AcceptWatcherRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := b.setWatcher(ctx, uri, presrules.Allow); err != nil {
			return "", err
		}
		return uri + " may now see your presence", nil
	})
}

// BlockWatcher blocks uri from seeing my presence: a pres-rules rule that
// presrules writes as polite-block, so a catch-all "confirm" rule cannot
// outrank it; the watcher is shown nothing real.
func (b *Backend) BlockWatcher(uri string) RequestID {
	return b.run(BlockWatcherRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := b.setWatcher(ctx, uri, presrules.Block); err != nil {
			return "", err
		}
		return uri + " blocked", nil
	})
}

// setWatcher writes one watcher's decision into pres-rules with
// presrules.Update (one conditional read-modify-write, retried on 412).
func (b *Backend) setWatcher(ctx context.Context, uri string, h presrules.Handling) error {
	if _, err := NormalizeURI(uri); err != nil {
		return err
	}
	err := presrules.Update(ctx, b.xc, uri, h)
	var overridden *presrules.OverriddenError
	if err != nil && !errors.As(err, &overridden) {
		return err
	}
	// Servers that re-evaluate the watcher without telling the owner
	// (Kamailio) show the change on the next winfo refresh.
	b.ua.RefreshWatchers()
	if overridden != nil {
		// Our rule is stored, but another client's rule wins.
		return fmt.Errorf("saved, but %w", overridden)
	}
	return nil
}

// loadBuddies loads the buddy list and subscribes to every buddy, retrying
// with back-off until it succeeds or the backend closes.
func (b *Backend) loadBuddies() {
	delay := time.Second
	for {
		ctx, cancel := context.WithTimeout(b.ctx, b.o.RequestTimeout)
		entries, err := b.fetchBuddies(ctx)
		cancel()
		if err == nil {
			b.setBuddies(entries)
			for _, e := range entries {
				b.ua.Subscribe(e.URI)
			}
			return
		}
		if b.ctx.Err() != nil {
			return
		}
		b.log.Warn("buddy list not loaded", "error", err, "retry_in", delay.String())
		b.q.push(BuddiesEvent{Err: fmt.Errorf("buddy list: %w (retrying in %s)", err, delay)})
		select {
		case <-b.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, DefaultListRetryMax)
	}
}

func (b *Backend) fetchBuddies(ctx context.Context) ([]resourcelists.Entry, error) {
	doc, err := b.xc.Get(ctx, xcap.AUIDResourceLists, ResourceListsDocument, "")
	if xcap.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d, err := resourcelists.Parse(doc.Body)
	if err != nil {
		return nil, err
	}
	return d.Entries(), nil
}

// loadMyIcon finds the icon I stored in an earlier session and publishes
// it, so watchers see it without a new upload.
func (b *Backend) loadMyIcon() {
	name := b.o.IconName
	if name == "random" {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.o.RequestTimeout)
	defer cancel()
	auid, path, err := b.xc.IconLocation(ctx, name)
	if err != nil {
		b.log.Info("my icon: no XCAP icon location", "error", err)
		return
	}
	url := b.xc.DocumentURL(auid, path)
	data, _, err := b.xc.FetchIcon(ctx, url, "")
	if err != nil {
		if !xcap.IsNotFound(err) {
			b.log.Info("my icon not loaded", "error", err)
		}
		return
	}
	img, _, err := icon.Decode(data, icon.DefaultLimits)
	if err != nil {
		b.log.Warn("my stored icon does not decode", "error", err)
		return
	}
	hash := sha1Hex(data)
	b.icons.store(url, "", hash, data)
	b.mu.Lock()
	if b.self.IconURL != "" || b.closed {
		// A new icon was set meanwhile.
		b.mu.Unlock()
		return
	}
	b.self.IconURL, b.self.IconSHA1 = url, hash
	b.ua.SetPresence(b.self)
	b.mu.Unlock()
	b.q.push(IconEvent{URI: b.AOR(), URL: url, Hash: hash, Image: img})
	b.pushSelf()
}
