// Package account is the bridge between one SIP/XCAP account and any front
// end (sipbuddy's terminal UI, a test, a tool). It owns the SIP user agent
// (sip/ua), the XCAP client (xcap), the buddy list document
// (xcap/resourcelists), the pres-rules document (xcap/presrules) and the
// icon fetcher with its disk cache. It imports no UI library.
//
// A front end talks to it in two directions only: requests (SetStatus,
// SetIcon, AddBuddy, ...) return at once with a RequestID and are answered
// later by a DoneEvent or an ErrorEvent carrying that id; everything else
// the account learns comes out of Next as typed events. Nothing here blocks
// the caller.
//
// The files follow the jobs: account.go (options, start, stop),
// requests.go (ids and answers), presence.go (my status, note and icon),
// buddies.go, watchers.go, iconfetch.go (downloads), iconcache.go (the disk
// cache), events.go (what comes out), queue.go (the one queue between the
// network and the front end) and log.go (log records for the debug pane).
package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// Defaults.
const (
	// DefaultRequestTimeout bounds one request's network work (XCAP
	// round trips) and the wait for the PUBLISH that carries a change.
	DefaultRequestTimeout = 30 * time.Second
	// DefaultIconFetches bounds concurrent icon downloads.
	DefaultIconFetches = 4
	// DefaultIconRetryMin and DefaultIconRetryMax bound the back-off
	// between icon attempts.
	DefaultIconRetryMin = 2 * time.Second
	DefaultIconRetryMax = 5 * time.Minute
	// DefaultIconAttempts is how often a failing icon is tried.
	DefaultIconAttempts = 6
)

// Options configure an Account. AOR and Password (in the embedded
// ua.Options) and XCAPRoot are required; without a Proxy the UA locates the
// SIP servers in DNS (ua.Options.Resolver). ua.Options.TLS also says how the
// XCAP server's certificate is verified.
//
// The embedded ua.Options configure the SIP side as they are, except that
// the account owns Sink (its queue receives the UA's events) and wraps
// Trace: unless NoTrace, every SIP message is also copied to the debug pane
// as a LogEvent. Logger receives the account's logs as well as the UA's.
type Options struct {
	ua.Options

	// XCAPRoot is the XCAP root URL, "http://127.0.0.1:8080/xcap-root".
	// The XCAP credentials are the SIP ones (Username, Password).
	XCAPRoot string

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
	// NoTrace stops copying every SIP message to the debug pane as a
	// LogEvent (copied by default); ua.Options.Trace is still called.
	NoTrace bool

	RequestTimeout time.Duration // default DefaultRequestTimeout
	IconFetches    int           // default DefaultIconFetches
	IconRetryMin   time.Duration // default DefaultIconRetryMin
	IconRetryMax   time.Duration // default DefaultIconRetryMax
	IconAttempts   int           // default DefaultIconAttempts

	// Closed, Activity and Note are my presence at Start (default: open,
	// no activity, no note). Closed is Invisible: Note and Activity are
	// kept but not published. A state restored from StateFile wins.
	Closed   bool
	Activity string
	Note     string

	// NoRLS watches each buddy with its own subscription instead of one
	// resource list subscription (and leaves the RLS documents alone).
	NoRLS bool

	// StateFile keeps my status, note and the front end's render mode
	// between runs (StateFile(dataDir, aor) names it): read by New, which
	// starts with what it says, and replaced after every change. Empty:
	// nothing is kept.
	StateFile string
}

// Account is one account's network side. Build it with New, Start it,
// read Next, send requests, Close it. Its methods are safe for concurrent
// use.
type Account struct {
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

	icons *iconFetcher
	cache *iconCache
	lists listSync // the buddy list: how it is watched and followed (listsync.go)
	// myIcon says whether loadMyIcon has its answer (myIconSettled).
	myIcon atomic.Int32
	// winfo is the watcher list last reported (watchers.go).
	winfo atomic.Pointer[[]Watcher]

	mu         sync.Mutex
	started    bool
	closed     bool
	self       ua.Presence // my presence as I set it (the real note while invisible)
	saved      SavedState  // what the state file last said or will say
	state      *stateSaver // nil without Options.StateFile
	published  ua.Presence // what was last handed to the UA to publish
	pendingPub []pendingRequest
}

// New checks the options and builds an account that does nothing until
// Start.
func New(o Options) (*Account, error) {
	if o.AOR == "" || o.XCAPRoot == "" {
		return nil, errors.New("account: the address (AOR) and the XCAP root are required")
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
			return nil, fmt.Errorf("account: no icon cache directory (set Options.CacheDir): %w", err)
		}
		o.CacheDir = filepath.Join(dir, "sipbuddy", "icons")
	}
	if err := checkNote(o.Note); err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	a := &Account{
		o:    o,
		q:    newQueue(),
		reqs: make(chan struct{}, MaxConcurrentRequests),
	}
	next := slog.DiscardHandler
	if o.Logger != nil {
		next = o.Logger.Handler()
	}
	a.log = slog.New(&logHandler{next: next, push: a.q.push})

	uo := o.Options
	uo.Logger = a.log.With("part", "sip")
	uo.Sink = a.sink
	switch user := o.Trace; {
	case o.NoTrace:
		uo.Trace = user
	case user == nil:
		uo.Trace = a.trace
	default:
		uo.Trace = func(in bool, msg string) {
			user(in, msg)
			a.trace(in, msg)
		}
	}
	u, err := ua.New(uo)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	xc, err := xcap.NewClient(xcap.ClientOptions{
		Root:     o.XCAPRoot,
		XUI:      u.AOR(),
		Username: o.Username,
		Password: o.Password,
		HTTP:     o.HTTP,
		TLS:      o.TLS,
	})
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	a.ua, a.xc = u, xc
	a.lists.init(u.AOR())
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.self = ua.Presence{Open: !o.Closed, Note: o.Note}
	if o.Activity != "" {
		a.self.Activities = []string{o.Activity}
	}
	a.restoreState()
	a.cache = newIconCache(o.CacheDir, o.CacheMaxBytes, a.log)
	a.icons = newIconFetcher(a)
	return a, nil
}

// trace copies a SIP message to the debug pane. Called on network
// goroutines; never blocks.
func (a *Account) trace(in bool, msg string) {
	kind := LogSIPOut
	if in {
		kind = LogSIPIn
	}
	a.q.push(LogEvent{Time: time.Now(), Kind: kind, Text: cut(msg, MaxLogText)})
}

// AOR returns the account's address of record.
func (a *Account) AOR() string { return a.ua.AOR() }

// DisplayName returns the account's display name (from the options).
func (a *Account) DisplayName() string { return a.o.DisplayName }

// XCAP returns the account's XCAP client (for tools that need more).
func (a *Account) XCAP() *xcap.Client { return a.xc }

// Start registers, publishes the initial presence, subscribes to the
// watcher list, and loads the buddy list and my icon in the background.
// ctx bounds the start-up only. A failed registration is not an error of
// Start: the UA keeps retrying and reports AccountEvents.
func (a *Account) Start(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return ErrClosed
	}
	if a.started {
		a.mu.Unlock()
		return errors.New("account: already started")
	}
	a.started = true
	a.published = wirePresence(a.self, ua.Presence{})
	pub := a.published
	a.mu.Unlock()

	a.q.push(AccountEvent{AOR: a.AOR(), DisplayName: a.o.DisplayName, State: ua.Registering})
	a.ua.SetPresence(pub)
	a.ua.WatchWatchers(true)
	a.watchMyDevices()
	a.pushSelf()

	if err := a.ua.Start(ctx); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	a.myIcon.Store(myIconLoading)
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		a.runList()
	}()
	go func() {
		defer a.wg.Done()
		a.loadMyIcon()
	}()
	return nil
}

// Close ends everything: background work stops, the UA removes its
// publication, ends its subscriptions and unregisters (bounded by ctx).
// The events queued until then are still delivered by Next, which then
// reports ErrClosed.
func (a *Account) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	pend := a.pendingPub
	a.pendingPub = nil
	a.mu.Unlock()
	for _, p := range pend {
		p.timer.Stop()
	}

	a.cancel()
	err := a.ua.Close(ctx)
	a.wg.Wait()
	a.icons.wait()
	a.state.wait()
	a.xc.CloseIdleConnections()
	a.q.close()
	return err
}

// Next waits until at least one event is queued and returns up to max of
// them (max <= 0: all), oldest first. It returns ErrClosed once the account
// is closed and every event was delivered, or ctx's error. One reader is
// expected (a front end's loop); the events given to one reader are not
// given to another.
func (a *Account) Next(ctx context.Context, max int) ([]Event, error) {
	return a.q.next(ctx, max)
}

// Coalesced returns how many state events were replaced in the queue by a
// newer one of the same key (the reader was slower than the network), and
// how many log lines were dropped.
func (a *Account) Coalesced() (superseded, droppedLogs int) {
	return a.q.stats()
}

// sink receives the UA's events (ua.Options.Sink): on the UA's goroutines,
// sometimes with its locks held, so it only updates the account's own state
// and queues. It never calls the UA.
func (a *Account) sink(ev ua.Event) {
	if a.selfPresence(ev) || a.listSink(ev) {
		return
	}
	switch ev := ev.(type) {
	case ua.RegistrationEvent:
		a.q.push(AccountEvent{AOR: a.AOR(), DisplayName: a.o.DisplayName, State: ev.State, Expires: ev.Expires, RetryIn: ev.RetryIn, Err: ev.Err})
		if ev.State == ua.Registered {
			a.reloadMyIconIfUnsettled()
		}
	case ua.PublicationEvent:
		a.q.push(PublicationEvent{State: ev.State, Expires: ev.Expires, RetryIn: ev.RetryIn, Err: ev.Err})
		a.answerPublication(ev.State, ev.Err)
	case ua.PresenceEvent:
		a.q.push(PresenceEvent{URI: ev.URI, State: ev.State, At: time.Now()})
		a.icons.want(ev.URI, ev.State.IconURL, ev.State.IconHash)
	case ua.SubscriptionEvent:
		if ev.Package != "" && ev.Package != "presence" {
			if ev.State != ua.Active {
				a.log.Info("watcher list subscription", "state", ev.State.String(), "reason", ev.Reason)
			}
			return
		}
		a.q.push(SubscriptionEvent{URI: ev.URI, State: ev.State, Reason: ev.Reason, RetryIn: ev.RetryIn, Err: ev.Err})
	case ua.WatchersEvent:
		ws := append([]Watcher(nil), ev.Info.Watchers...)
		a.winfo.Store(&ws)
		a.q.push(WatchersEvent{Watchers: ws})
	}
}
