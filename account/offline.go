package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/xcap"
)

// The offline note (RFC 4827 pidf-manipulation): a PIDF document the
// account keeps on the XCAP server, which the presence server shows my
// watchers when none of my devices publishes (the embedded server does;
// see sip/server/offline.go), and drops again when one does.
const (
	offlineAUID        = "pidf-manipulation"
	offlinePath        = "index"
	offlineContentType = "application/pidf+xml"
	// offlineTupleID is the tuple id of the offline document: stable, and
	// not one a device publishes (those derive from the instance id).
	offlineTupleID = "offline"
)

// SetOfflineNote sets the note watchers see when all my devices are
// offline; "" removes it. Answered with a DoneEvent and an
// OfflineNoteEvent.
func (a *Account) SetOfflineNote(note string) RequestID {
	note = strings.TrimSpace(note)
	return a.run(SetOfflineNoteRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := checkNote(note); err != nil {
			return "", err
		}
		if note == "" {
			if _, err := a.xc.Delete(ctx, offlineAUID, offlinePath, xcap.Condition{}); err != nil && !xcap.IsNotFound(err) {
				return "", fmt.Errorf("offline note: %w", err)
			}
			a.pushedOfflineNote("")
			return "offline note removed", nil
		}
		doc, err := pidf.Encode(pidf.Publication{Entity: a.AOR(), TupleID: offlineTupleID, Note: note})
		if err != nil {
			return "", fmt.Errorf("offline note: %w", err)
		}
		if _, err := a.xc.Put(ctx, offlineAUID, offlinePath, doc, offlineContentType, xcap.Condition{}); err != nil {
			return "", fmt.Errorf("offline note: %w", err)
		}
		a.pushedOfflineNote(note)
		return "offline note set: watchers see it when all your devices are offline", nil
	})
}

// ReadOfflineNote reads the offline note from the XCAP server and answers
// with an OfflineNoteEvent (and a DoneEvent); from then on the note
// follows other clients' edits (listsync.go).
func (a *Account) ReadOfflineNote() RequestID {
	return a.run(ReadOfflineNoteRequest, func(ctx context.Context, _ RequestID) (string, error) {
		if err := a.pushOfflineNote(ctx); err != nil {
			return "", err
		}
		return "offline note read", nil
	})
}

// pushOfflineNote reads the offline note and queues an OfflineNoteEvent.
func (a *Account) pushOfflineNote(ctx context.Context) error {
	doc, err := a.xc.Get(ctx, offlineAUID, offlinePath, "")
	if xcap.IsNotFound(err) {
		a.pushedOfflineNote("")
		return nil
	}
	if err != nil {
		return fmt.Errorf("offline note: %w", err)
	}
	st, err := pidf.Parse(doc.Body)
	if err != nil {
		return fmt.Errorf("offline note: the stored document is not PIDF: %w", err)
	}
	a.pushedOfflineNote(st.Note)
	return nil
}

// pushedOfflineNote queues the note as it now stands and has it follow
// other clients' edits.
func (a *Account) pushedOfflineNote(note string) {
	a.lists.mu.Lock()
	a.lists.noteWanted = true
	a.lists.mu.Unlock()
	a.q.push(OfflineNoteEvent{Note: note})
}
