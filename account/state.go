package account

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// StateDirName is the folder of the data directory that keeps, per
// account, what the person chose last time (SavedState).
const StateDirName = "state"

// MaxStateFileBytes bounds a state file. The largest state it must hold is
// a note of MaxNoteBytes and MaxFoldedGroups group names of
// MaxGroupNameBytes in which JSON escapes every byte as \u00XX (6 bytes
// each), plus the other fields.
const MaxStateFileBytes = 64 << 10

// MaxFoldedGroups bounds the folded groups kept; more are not kept.
const MaxFoldedGroups = 64

// MaxRenderModeBytes bounds the render mode kept for the front end (the
// names are words like "halfblock").
const MaxRenderModeBytes = 32

// MaxRowSizeBytes bounds the list row size kept for the front end (a word
// like "comfortable").
const MaxRowSizeBytes = 16

// SavedState is what an account remembers between runs: my status and note
// as I set them (Open false is Invisible; the note is the real one kept for
// my return), the icon render mode and the list's row size the front end
// last chose, and the groups it shows folded (by Group.Name).
type SavedState struct {
	Open       bool     `json:"open"`
	Activity   string   `json:"activity,omitempty"`
	Note       string   `json:"note,omitempty"`
	RenderMode string   `json:"render_mode,omitempty"`
	RowSize    string   `json:"row_size,omitempty"`
	Folded     []string `json:"folded,omitempty"`
}

// StateFile is where the state of the account aor is kept in dataDir: one
// small JSON file per account, named as the instance id's file is.
func StateFile(dataDir, aor string) string {
	return filepath.Join(dataDir, StateDirName, ua.AORFileName(aor)+".json")
}

// ErrDamagedState means a state file could not be used; the account then
// starts as if it had none and replaces the file at the next change.
var ErrDamagedState = errors.New("saved status is damaged")

// LoadState reads the state kept at path. A missing file (or no path) is
// no error: ok is false and the state zero. A file that is too large, not JSON, or says
// something sipbuddy would not have written is an ErrDamagedState saying
// why.
func LoadState(path string) (s SavedState, ok bool, err error) {
	if path == "" {
		return SavedState{}, false, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return SavedState{}, false, nil
	}
	if err != nil {
		return SavedState{}, false, fmt.Errorf("account: saved status: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxStateFileBytes+1))
	if err != nil {
		return SavedState{}, false, fmt.Errorf("account: saved status: %w", err)
	}
	s, err = ParseState(data)
	if err != nil {
		return SavedState{}, false, fmt.Errorf("account: %s: %w", path, err)
	}
	return s, true, nil
}

// ParseState decodes a state file's contents and checks them as SetStatus
// checks a request: a known activity, a note that could be published, a
// short render mode name.
func ParseState(data []byte) (SavedState, error) {
	if len(data) > MaxStateFileBytes {
		return SavedState{}, fmt.Errorf("%w: larger than %d bytes", ErrDamagedState, MaxStateFileBytes)
	}
	var s SavedState
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return SavedState{}, fmt.Errorf("%w: not the JSON sipbuddy writes (%w)", ErrDamagedState, err)
	}
	if dec.More() {
		return SavedState{}, fmt.Errorf("%w: more than one JSON value", ErrDamagedState)
	}
	if s.Activity != "" && !slices.Contains(pidf.RPIDActivities, s.Activity) {
		return SavedState{}, fmt.Errorf("%w: unknown activity %q", ErrDamagedState, s.Activity)
	}
	if err := checkNote(s.Note); err != nil {
		return SavedState{}, fmt.Errorf("%w: %w", ErrDamagedState, err)
	}
	if len(s.RenderMode) > MaxRenderModeBytes {
		return SavedState{}, fmt.Errorf("%w: render mode longer than %d bytes", ErrDamagedState, MaxRenderModeBytes)
	}
	if len(s.RowSize) > MaxRowSizeBytes {
		return SavedState{}, fmt.Errorf("%w: row size longer than %d bytes", ErrDamagedState, MaxRowSizeBytes)
	}
	if len(s.Folded) == 0 {
		s.Folded = nil // "folded": [] is no folded group, as the file would be written
	}
	if len(s.Folded) > MaxFoldedGroups {
		return SavedState{}, fmt.Errorf("%w: more than %d folded groups", ErrDamagedState, MaxFoldedGroups)
	}
	for _, g := range s.Folded {
		if g == "" || len(g) > MaxGroupNameBytes {
			return SavedState{}, fmt.Errorf("%w: a folded group's name is empty or longer than %d bytes", ErrDamagedState, MaxGroupNameBytes)
		}
	}
	return s, nil
}

// encodeState is the file's contents for s.
func encodeState(s SavedState) ([]byte, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxStateFileBytes {
		return nil, fmt.Errorf("saved status: %d bytes, more than %d", len(data), MaxStateFileBytes)
	}
	return append(data, '\n'), nil
}

// stateSaver writes the newest state to its file off the caller's
// goroutine (a request method never waits for the disk), one write at a
// time, the last one being the newest state.
type stateSaver struct {
	path string
	log  func(err error)

	mu      sync.Mutex
	next    *SavedState // waiting to be written
	writing bool
	idle    sync.WaitGroup
}

// save queues s; a newer state replaces one not written yet.
func (w *stateSaver) save(s SavedState) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next = &s
	if w.writing {
		return
	}
	w.writing = true
	w.idle.Add(1)
	go w.run()
}

func (w *stateSaver) run() {
	defer w.idle.Done()
	for {
		w.mu.Lock()
		s := w.next
		w.next = nil
		if s == nil {
			w.writing = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		if err := writeState(w.path, *s); err != nil {
			w.log(err)
		}
	}
}

// wait returns once every queued state is written.
func (w *stateSaver) wait() {
	if w != nil {
		w.idle.Wait()
	}
}

// writeState replaces the file at path with s, atomically.
func writeState(path string, s SavedState) error {
	data, err := encodeState(s)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saved status: %w", err)
	}
	if err := writeAtomic(dir, filepath.Base(path), data); err != nil {
		return fmt.Errorf("saved status: %w", err)
	}
	return nil
}

// restoreState loads Options.StateFile into a.self and starts its saver.
// A damaged file is said in the debug log and ignored: the account starts
// from Options' presence and the next change replaces the file.
func (a *Account) restoreState() {
	if a.o.StateFile == "" {
		return
	}
	a.state = &stateSaver{path: a.o.StateFile, log: func(err error) {
		a.log.Warn("your status could not be saved for the next start", "file", a.o.StateFile, "error", err)
	}}
	s, ok, err := LoadState(a.o.StateFile)
	if err != nil {
		a.log.Warn("the saved status could not be read; starting fresh (available, no note)", "error", err)
		return
	}
	if !ok {
		return
	}
	a.saved = s
	a.self.Open, a.self.Note, a.self.Activities = s.Open, s.Note, nil
	if s.Activity != "" {
		a.self.Activities = []string{s.Activity}
	}
}

// saveStateLocked queues a.self and the render mode for the state file
// (a.mu held).
func (a *Account) saveStateLocked() {
	if a.state == nil {
		return
	}
	a.saved.Open, a.saved.Note, a.saved.Activity = a.self.Open, a.self.Note, ""
	if len(a.self.Activities) > 0 {
		a.saved.Activity = a.self.Activities[0]
	}
	a.state.save(a.saved)
}

// SavedRenderMode returns the icon render mode the front end chose in an
// earlier run (SaveRenderMode), or "" when there is none (no
// Options.StateFile, none chosen yet, or the file was damaged).
func (a *Account) SavedRenderMode() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.saved.RenderMode
}

// SaveRenderMode keeps the front end's icon render mode (a name it
// understands, at most MaxRenderModeBytes) in the state file for the next
// start. Without Options.StateFile it does nothing.
func (a *Account) SaveRenderMode(mode string) {
	if len(mode) > MaxRenderModeBytes {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.saved.RenderMode = mode
	a.saveStateLocked()
}

// SavedRowSize returns the list row size the front end chose in an
// earlier run (SaveRowSize), or "" when there is none.
func (a *Account) SavedRowSize() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.saved.RowSize
}

// SaveRowSize keeps the front end's list row size (a name it understands,
// at most MaxRowSizeBytes; longer ones are not kept) in the state file
// for the next start. Without Options.StateFile it does nothing.
func (a *Account) SaveRowSize(size string) {
	if len(size) > MaxRowSizeBytes {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.saved.RowSize == size {
		return
	}
	a.saved.RowSize = size
	a.saveStateLocked()
}

// SavedFolded returns the groups the front end showed folded in an earlier
// run (SaveFolded), or nil.
func (a *Account) SavedFolded() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.saved.Folded)
}

// SaveFolded keeps the names of the groups the front end shows folded in
// the state file for the next start: the first MaxFoldedGroups names of
// at most MaxGroupNameBytes (longer ones are not kept). Without
// Options.StateFile it does nothing.
func (a *Account) SaveFolded(groups []string) {
	var keep []string
	for _, g := range groups {
		if g != "" && len(g) <= MaxGroupNameBytes && len(keep) < MaxFoldedGroups {
			keep = append(keep, g)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || slices.Equal(keep, a.saved.Folded) {
		return
	}
	a.saved.Folded = keep
	a.saveStateLocked()
}
