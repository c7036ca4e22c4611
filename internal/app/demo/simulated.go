package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sipbuddy/sipbuddy/assets"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// iconName is the document name every simulated buddy stores its icon
// under: changing the picture replaces the document, and watchers learn of
// the change from the new #sha1 fragment of the same URL.
const iconName = "avatar.png"

// A mood is one presence a simulated buddy can be in, with notes that fit.
type mood struct {
	open       bool
	activities []string
	notes      []string
	weight     int
}

var moods = []mood{
	{open: true, notes: []string{"", "Around, ping me", "Back at my desk", "Free for a chat"}, weight: 5},
	{open: true, activities: []string{"away"}, notes: []string{"Getting coffee", "Back in 10", "Lunch break", ""}, weight: 3},
	{open: true, activities: []string{"busy"}, notes: []string{"Heads down", "Deadline today", "Debugging", "Do not disturb"}, weight: 3},
	{open: true, activities: []string{"on-the-phone"}, notes: []string{"On a call", "Talking to a customer", ""}, weight: 2},
	{open: true, activities: []string{"meeting"}, notes: []string{"Design review", "Stand-up", "Planning until 15:00"}, weight: 2},
	{open: false, notes: []string{""}, weight: 1},
}

// simulated is one demo buddy: a real SIP user agent with an XCAP client.
type simulated struct {
	w        *World
	buddy    assets.Buddy
	aor      string
	password string
	rng      *rand.Rand
	ua       *ua.UA
	xcap     *xcap.Client
	iconIdx  int
	iconURL  string
	iconSHA1 string
	presence ua.Presence
}

func (w *World) newSimulated(i int, b assets.Buddy) (*simulated, error) {
	s := &simulated{
		w:        w,
		buddy:    b,
		aor:      "sip:" + b.User + "@" + w.domain,
		password: randomPassword(),
		rng:      newRand(w.opts.Seed, i),
	}
	if err := w.stack.Store().SetPassword(b.User, s.password); err != nil {
		return nil, fmt.Errorf("demo: user %s: %w", b.User, err)
	}
	var err error
	s.ua, err = ua.New(ua.Options{
		AOR:         s.aor,
		DisplayName: b.DisplayName,
		Password:    s.password,
		Proxy:       w.Proxy(),
		TLS:         w.trust,
		Logger:      w.opts.Logger.With("buddy", b.User),
		UserAgent:   "sipbuddy-demo",
	})
	if err != nil {
		return nil, fmt.Errorf("demo: buddy %s: %w", b.User, err)
	}
	s.xcap, err = xcap.NewClient(xcap.ClientOptions{Root: w.XCAPRoot(), XUI: s.aor, Password: s.password, TLS: w.trust})
	if err != nil {
		return nil, fmt.Errorf("demo: buddy %s: %w", b.User, err)
	}
	return s, nil
}

// start registers, uploads the first icon and publishes a first presence.
func (s *simulated) start(ctx context.Context) error {
	if err := s.ua.Start(ctx); err != nil {
		return fmt.Errorf("%s: %w", s.buddy.User, err)
	}
	if err := s.uploadIcon(ctx, s.rng.IntN(len(s.buddy.Icons))); err != nil {
		return err
	}
	s.change(false)
	return nil
}

func (s *simulated) uploadIcon(ctx context.Context, idx int) error {
	img := s.buddy.Icons[idx]
	url, _, err := s.xcap.PutIcon(ctx, img, iconName)
	if err != nil {
		return fmt.Errorf("%s: icon: %w", s.buddy.User, err)
	}
	// The hash is of the bytes watchers will fetch: the server may have
	// re-encoded the upload, so fetch it back rather than hash img.
	data, _, err := s.xcap.FetchIcon(ctx, url, "")
	if err != nil {
		return fmt.Errorf("%s: icon: %w", s.buddy.User, err)
	}
	s.iconIdx, s.iconURL, s.iconSHA1 = idx, url, icon.ContentHash(data)
	return nil
}

// change picks a new mood and note (and with newIcon, the next icon) and
// publishes it.
func (s *simulated) change(newIcon bool) {
	if newIcon && len(s.buddy.Icons) > 1 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		next := (s.iconIdx + 1 + s.rng.IntN(len(s.buddy.Icons)-1)) % len(s.buddy.Icons)
		if err := s.uploadIcon(ctx, next); err != nil {
			s.w.opts.Logger.Warn("demo icon change failed", "buddy", s.buddy.User, "err", err)
		}
		cancel()
	}
	m := pickMood(s.rng)
	s.presence = ua.Presence{
		Open:       m.open,
		Activities: m.activities,
		Note:       m.notes[s.rng.IntN(len(m.notes))],
		IconURL:    s.iconURL,
		IconSHA1:   s.iconSHA1,
	}
	s.ua.SetPresence(s.presence)
}

// newRand is buddy i's random source: one stream per buddy, so that a seed
// reproduces each buddy's changes whatever the others do.
func newRand(seed uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(i)+1))
}

func pickMood(r *rand.Rand) mood {
	total := 0
	for _, m := range moods {
		total += m.weight
	}
	n := r.IntN(total)
	for _, m := range moods {
		if n < m.weight {
			return m
		}
		n -= m.weight
	}
	return moods[0]
}

// run changes the buddy's presence every few seconds, and now and then its
// icon, until ctx ends. The buddy's own events are drained so that its user
// agent never has to drop them.
func (s *simulated) run(ctx context.Context) {
	span := s.w.opts.MaxChange - s.w.opts.MinChange
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		wait := s.w.opts.MinChange
		if span > 0 {
			wait += time.Duration(s.rng.Int64N(int64(span)))
		}
		t.Reset(wait)
	waiting:
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.ua.Events():
			case <-t.C:
				break waiting
			}
		}
		s.change(s.rng.IntN(6) == 0)
	}
}

func (s *simulated) close(ctx context.Context) {
	_ = s.ua.Close(ctx)
}
