package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/internal/app/demo"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// startWithState logs acc in with a state file, as sipbuddy does with its
// data directory.
func startWithState(t *testing.T, acc demo.Account, stateFile string) (*Account, *recorder) {
	t.Helper()
	b, err := New(Options{
		Options:  ua.Options{AOR: acc.AOR, Password: acc.Password, Proxy: acc.Proxy},
		XCAPRoot: acc.XCAPRoot, CacheDir: t.TempDir(), StateFile: stateFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := record(b)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return b, r
}

// watch starts a plain UA subscribed to aor whose trace keeps every NOTIFY
// body, and returns a wait for a presence state it receives.
func watch(t *testing.T, w *demo.World, aor string) (*notifyLog, func(what string, ok func(pidf.State) bool)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	acc := addUser(t, w, "watcher")
	wire := &notifyLog{}
	watcher := apptest.StartUA(t, ctx, ua.Options{AOR: acc.AOR, Password: acc.Password, Proxy: acc.Proxy, Trace: wire.trace})
	watcher.Subscribe(aor)
	return wire, func(what string, ok func(pidf.State) bool) {
		t.Helper()
		deadline := time.After(waitTimeout)
		for {
			select {
			case ev := <-watcher.Events():
				if p, is := ev.(ua.PresenceEvent); is && p.URI == aor && ok(p.State) {
					return
				}
			case <-deadline:
				t.Fatalf("the watcher never saw %s", what)
			}
		}
	}
}

// A restart after choosing Away with a note comes back Away with that note,
// published as such; after choosing Invisible it comes back invisible
// (watchers see someone offline, nothing more) with the real note kept.
func TestStatusAndNoteSurviveARestart(t *testing.T) {
	w := startWorld(t, 1)
	acc := addUser(t, w, "tester")
	stateFile := StateFile(t.TempDir(), acc.AOR)

	b, r := startWithState(t, acc, stateFile)
	if _, err := r.answer(t, b.SetStatus(true, "away", "back at ten")); err != nil {
		t.Fatal(err)
	}
	b.SaveRenderMode("ascii")
	b.SaveRowSize("large")
	b.SaveRowSize(strings.Repeat("l", MaxRowSizeBytes+1)) // not kept
	b.SaveFolded([]string{"Work", strings.Repeat("x", MaxGroupNameBytes+1), "Friends"})
	closeBackend(t, b, r)

	b, r = startWithState(t, acc, stateFile)
	r.wait(t, "Away with the note at start", func(ev Event) bool {
		s, ok := ev.(SelfEvent)
		return ok && s.Open && len(s.Activities) == 1 && s.Activities[0] == "away" && s.Note == "back at ten"
	})
	if got := b.SavedRenderMode(); got != "ascii" {
		t.Errorf("saved render mode %q, want ascii", got)
	}
	if got := b.SavedRowSize(); got != "large" {
		t.Errorf("saved row size %q, want large", got)
	}
	if got := b.SavedFolded(); !slices.Equal(got, []string{"Work", "Friends"}) {
		t.Errorf("saved folded groups %q, want Work and Friends", got)
	}
	wire, waitPresence := watch(t, w, b.AOR())
	waitPresence("Away, back at ten", func(s pidf.State) bool {
		return s.Basic == pidf.BasicOpen && s.Note == "back at ten" && strings.Contains(strings.Join(s.Activities, ","), "away")
	})
	if _, err := r.answer(t, b.SetStatus(false, "away", "At the dentist")); err != nil {
		t.Fatal(err)
	}
	waitPresence("offline", func(s pidf.State) bool { return s.Basic == pidf.BasicClosed })
	closeBackend(t, b, r)
	time.Sleep(500 * time.Millisecond) // the NOTIFYs of the goodbye arrive
	before := wire.count()

	b, r = startWithState(t, acc, stateFile)
	defer closeBackend(t, b, r)
	r.wait(t, "invisible with the real note kept at start", func(ev Event) bool {
		s, ok := ev.(SelfEvent)
		return ok && !s.Open && s.Note == "At the dentist"
	})
	r.wait(t, "the invisible publication", func(ev Event) bool {
		p, ok := ev.(PublicationEvent)
		return ok && p.State == ua.Published
	})
	deadline := time.Now().Add(waitTimeout)
	for wire.count() == before {
		if time.Now().After(deadline) {
			t.Fatal("no NOTIFY after restarting invisible")
		}
		time.Sleep(20 * time.Millisecond)
	}
	bodies := wire.from(before)
	for i, body := range bodies {
		if leak := leaks(body); leak != "" {
			t.Errorf("NOTIFY %d after restarting invisible carries %s:\n%s", i+1, leak, body)
		}
	}
}

func (l *notifyLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.bodies)
}

func (l *notifyLog) from(i int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bodies[i:]...)
}

// A damaged state file (garbage, too large, a value sipbuddy would never
// write) is said in the debug log in words and ignored: a fresh start, not
// a crash, and the next change replaces it with a good one.
func TestDamagedStateFileStartsFresh(t *testing.T) {
	w := startWorld(t, 1)
	acc := addUser(t, w, "tester")
	cases := map[string][]byte{
		"garbage":        []byte("{\"open\": tru"),
		"too large":      []byte(`{"open":true,"note":"` + strings.Repeat("x", MaxStateFileBytes) + `"}`),
		"unknown status": []byte(`{"open":true,"activity":"dancing"}`),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			stateFile := StateFile(t.TempDir(), acc.AOR)
			if err := os.MkdirAll(filepath.Dir(stateFile), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(stateFile, data, 0o600); err != nil {
				t.Fatal(err)
			}
			b, r := startWithState(t, acc, stateFile)
			defer closeBackend(t, b, r)
			r.wait(t, "a warning about the saved status", func(ev Event) bool {
				l, ok := ev.(LogEvent)
				return ok && l.Kind == LogWarn && strings.Contains(l.Text, "saved status could not be read") &&
					strings.Contains(l.Text, "damaged")
			})
			r.wait(t, "a fresh start", func(ev Event) bool {
				s, ok := ev.(SelfEvent)
				return ok && s.Open && s.Note == "" && len(s.Activities) == 0
			})
			if _, err := r.answer(t, b.SetStatus(true, "busy", "fixed")); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(waitTimeout)
			for {
				s, ok, err := LoadState(stateFile)
				if err == nil && ok && s.Activity == "busy" && s.Note == "fixed" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("state file not replaced: %+v %v %v", s, ok, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// The largest state the account can be asked to keep fits the file's
// bound; one byte more than the bound is refused.
func TestStateFileBound(t *testing.T) {
	worst := SavedState{Open: false, Activity: "permanent-absence", Note: strings.Repeat("<", MaxNoteBytes), RenderMode: strings.Repeat("m", MaxRenderModeBytes), RowSize: strings.Repeat("<", MaxRowSizeBytes)}
	for i := range MaxFoldedGroups {
		worst.Folded = append(worst.Folded, fmt.Sprintf("%03d", i)+strings.Repeat("<", MaxGroupNameBytes-3))
	}
	data, err := encodeState(worst)
	if err != nil {
		t.Fatalf("the largest state does not fit: %v", err)
	}
	if s, err := ParseState(data); err != nil || !reflect.DeepEqual(s, worst) {
		t.Fatalf("round trip: %+v %v", s, err)
	}
	big := append(data[:len(data)-1:len(data)-1], []byte(strings.Repeat(" ", MaxStateFileBytes-len(data)+2))...)
	if _, err := ParseState(big); !errors.Is(err, ErrDamagedState) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file over %d bytes: %v", MaxStateFileBytes, err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadState(path); !errors.Is(err, ErrDamagedState) {
		t.Errorf("LoadState of a file over the bound: %v", err)
	}
	long := worst
	long.RenderMode += "m"
	if data, err := encodeState(long); err == nil {
		if _, err := ParseState(data); !errors.Is(err, ErrDamagedState) || !strings.Contains(err.Error(), "render mode longer") {
			t.Errorf("a render mode over %d bytes: %v", MaxRenderModeBytes, err)
		}
	}
	long = worst
	long.RowSize += "r"
	if data, err := encodeState(long); err == nil {
		if _, err := ParseState(data); !errors.Is(err, ErrDamagedState) || !strings.Contains(err.Error(), "row size longer") {
			t.Errorf("a row size over %d bytes: %v", MaxRowSizeBytes, err)
		}
	}
	for what, folded := range map[string][]string{
		"more than":   append(slices.Clone(worst.Folded), "x"),
		"longer than": {strings.Repeat("g", MaxGroupNameBytes+1)},
		"empty":       {""},
	} {
		data, err := json.Marshal(SavedState{Open: true, Folded: folded})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseState(data); !errors.Is(err, ErrDamagedState) || !strings.Contains(err.Error(), what) {
			t.Errorf("folded groups %s: %v", what, err)
		}
	}
	if _, ok, err := LoadState(filepath.Join(t.TempDir(), "none.json")); ok || err != nil {
		t.Errorf("a missing file: ok %v, %v", ok, err)
	}
}

// FuzzParseState: any bytes give a state or an ErrDamagedState, and a
// state that parses is written back within the bound and reads the same.
func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"open":true,"activity":"away","note":"back at ten","render_mode":"ascii"}`))
	f.Add([]byte(`{"open":true,"render_mode":"kitty","row_size":"large","folded":["Work"]}`))
	f.Add([]byte(`{"open":false,"note":"At the dentist"}`))
	f.Add([]byte(`{"open":true} {"open":false}`))
	f.Add([]byte(`{"note":"\u0007"}`))
	f.Add([]byte(`{"open":true,"folded":["Friends","Work"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseState(data)
		if err != nil {
			if !errors.Is(err, ErrDamagedState) {
				t.Fatalf("error %v is not ErrDamagedState", err)
			}
			return
		}
		out, err := encodeState(s)
		if err != nil {
			t.Fatalf("a parsed state does not encode: %v", err)
		}
		again, err := ParseState(out)
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip %+v -> %s -> %+v %v", s, out, again, err)
		}
		var anyJSON map[string]any
		if json.Unmarshal(out, &anyJSON) != nil {
			t.Fatalf("written state is not JSON: %s", out)
		}
	})
}
