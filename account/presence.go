package account

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// Limits of what I publish.
const (
	// MaxNoteBytes bounds the note the user publishes.
	MaxNoteBytes = 1024
	// MaxIconFileBytes bounds the file SetIcon reads (before it is
	// checked, scaled and re-encoded).
	MaxIconFileBytes = 16 << 20
)

type pendingRequest struct {
	id     RequestID
	kind   RequestKind
	detail string
	timer  *time.Timer
}

// checkNote says why a note cannot be published, or nil.
func checkNote(note string) error {
	if len(note) > MaxNoteBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidNote, MaxNoteBytes)
	}
	if strings.ContainsFunc(note, func(r rune) bool { return r < 0x20 && r != '\t' }) {
		return fmt.Errorf("%w: control characters", ErrInvalidNote)
	}
	return nil
}

// wirePresence is what watchers are shown of self. Invisible (not Open) is
// the document of someone offline, as Blink publishes it: basic closed, no
// note, no activities, and the icon that was shown before (prev's), so that
// nothing a watcher sees changes while I am invisible. The real note and
// activity stay in self until I come back.
func wirePresence(self, prev ua.Presence) ua.Presence {
	if !self.Open {
		return ua.Presence{Open: false, IconURL: prev.IconURL, IconSHA1: prev.IconSHA1}
	}
	self.Activities = slices.Clone(self.Activities)
	return self
}

func samePresence(a, b ua.Presence) bool {
	return a.Open == b.Open && a.Note == b.Note && slices.Equal(a.Activities, b.Activities) &&
		a.IconURL == b.IconURL && a.IconSHA1 == b.IconSHA1
}

// SetStatus sets my basic status (open false = Invisible), one RPID
// activity ("" for none; "away", "busy", "on-the-phone", "meeting", ...)
// and my note. Done when the presence server accepted the PUBLISH, or at
// once when watchers see no difference (a note changed while invisible
// is kept here until I am visible again).
func (a *Account) SetStatus(open bool, activity, note string) RequestID {
	id, ok := a.begin(SetStatusRequest)
	if !ok {
		return id
	}
	if err := checkNote(note); err != nil {
		return a.fail(id, SetStatusRequest, err)
	}
	if activity != "" && !slices.Contains(pidf.RPIDActivities, activity) {
		return a.fail(id, SetStatusRequest, fmt.Errorf("unknown activity %q", activity))
	}
	var acts []string
	if activity != "" {
		acts = []string{activity}
	}
	a.mu.Lock()
	same := a.self.Open == open && slices.Equal(a.self.Activities, acts) && a.self.Note == note
	a.self.Open, a.self.Activities, a.self.Note = open, acts, note
	if !same {
		a.saveStateLocked()
	}
	if same {
		a.mu.Unlock()
		a.q.push(DoneEvent{ID: id, Kind: SetStatusRequest, Detail: "status unchanged: " + statusSummary(open, activity, note)})
		return id
	}
	a.publishLocked(id, SetStatusRequest, "status published: "+statusSummary(open, activity, note))
	a.mu.Unlock()
	a.pushSelf()
	return id
}

func statusSummary(open bool, activity, note string) string {
	s := "available"
	switch {
	case !open:
		s = "invisible"
		if note != "" {
			return s + " (note kept for later)"
		}
		return s
	case activity != "":
		s = strings.ReplaceAll(activity, "-", " ")
	}
	if note != "" {
		s += " — " + note
	}
	return s
}

// publishLocked publishes what watchers should see of a.self (already
// updated by the caller, a.mu held) and answers request id when the
// PUBLISH succeeds or fails, or at once when watchers would see nothing
// new.
func (a *Account) publishLocked(id RequestID, kind RequestKind, detail string) {
	wire := wirePresence(a.self, a.published)
	if samePresence(wire, a.published) {
		if !a.self.Open {
			detail = "invisible: watchers see you offline; your note is kept for when you are back"
		}
		a.q.push(DoneEvent{ID: id, Kind: kind, Detail: detail})
		return
	}
	p := pendingRequest{id: id, kind: kind, detail: detail}
	p.timer = time.AfterFunc(a.o.RequestTimeout, func() {
		a.mu.Lock()
		i := slices.IndexFunc(a.pendingPub, func(q pendingRequest) bool { return q.id == id })
		if i < 0 {
			a.mu.Unlock()
			return
		}
		a.pendingPub = slices.Delete(a.pendingPub, i, i+1)
		a.mu.Unlock()
		a.fail(id, kind, ErrNoAnswer)
	})
	a.pendingPub = append(a.pendingPub, p)
	a.published = wire
	a.ua.SetPresence(wire)
}

// answerPublication answers the requests waiting for a PUBLISH outcome.
func (a *Account) answerPublication(st ua.PublicationState, err error) {
	if st == ua.Removed {
		return
	}
	a.mu.Lock()
	pend := a.pendingPub
	a.pendingPub = nil
	a.mu.Unlock()
	for _, p := range pend {
		p.timer.Stop()
		if st == ua.Published {
			a.q.push(DoneEvent{ID: p.id, Kind: p.kind, Detail: p.detail})
			continue
		}
		if err == nil {
			err = errors.New("publication failed")
		}
		a.fail(p.id, p.kind, err)
	}
}

// pushSelf reports my presence as I set it (the real note, also while
// invisible).
func (a *Account) pushSelf() {
	a.mu.Lock()
	s := a.self
	a.mu.Unlock()
	a.q.push(SelfEvent{Open: s.Open, Activities: slices.Clone(s.Activities), Note: s.Note, IconURL: s.IconURL, IconHash: s.IconSHA1})
}

// SetIcon uploads the image at path as my icon (checked against
// icon.UploadLimits, centre-cropped and scaled, stored on the XCAP server)
// and publishes its URL with its sha1 (while I am invisible, once I am
// back). A file that is not a usable image gets an error and changes
// nothing.
func (a *Account) SetIcon(path string) RequestID {
	return a.run(SetIconRequest, func(ctx context.Context, id RequestID) (string, error) {
		data, err := icon.ReadFile(path, min(MaxIconFileBytes, icon.UploadLimits.MaxBytes))
		if err != nil {
			return "", err
		}
		img, _, err := icon.Decode(data, icon.UploadLimits)
		if err != nil {
			return "", fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		name := a.o.IconName
		if name == "random" {
			name = ""
		}
		up, err := a.xc.UploadIcon(ctx, data, name)
		if err != nil {
			return "", fmt.Errorf("upload %s: %w", filepath.Base(path), err)
		}
		// The upload re-encodes: the stored bytes' size is not known
		// here, so Bytes stays 0.
		ev := newIconEvent(a.AOR(), up.URL, up.SHA1, icon.Fit(img, up.Side), up.Format, 0)
		a.q.push(ev)
		a.mu.Lock()
		a.self.IconURL, a.self.IconSHA1 = up.URL, up.SHA1
		a.publishLocked(id, SetIconRequest, "icon published ("+filepath.Base(path)+")")
		a.mu.Unlock()
		a.pushSelf()
		return "", nil // answered by the PUBLISH outcome
	})
}
