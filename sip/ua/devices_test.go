package ua

import (
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/server"
)

var tupleID = regexp.MustCompile(`<tuple[^>]* id="([^"]+)"`)

// Two devices of one account (two instance ids, as two data directories
// give) each publish their own tuple; the watcher's NOTIFY carries both,
// and when one device goes offline the other's state remains.
func TestTwoDevicesOneAccount(t *testing.T) {
	e := startEmbedded(t, server.AllowDomain)
	laptopOpts := e.options(aliceAOR, "alicepw")
	laptopOpts.InstanceID = "urn:uuid:11111111-1111-4111-8111-111111111111"
	serverOpts := e.options(aliceAOR, "alicepw")
	serverOpts.InstanceID = "urn:uuid:22222222-2222-4222-8222-222222222222"
	laptop := startUA(t, "alice-laptop", laptopOpts)
	srv := startUA(t, "alice-server", serverOpts)

	var mu sync.Mutex
	var lastNotify string
	bobOpts := e.options(bobAOR, "bobpw")
	bobOpts.Trace = func(in bool, msg string) {
		if in && strings.HasPrefix(msg, "NOTIFY ") && strings.Contains(msg, "<tuple") {
			mu.Lock()
			lastNotify = msg
			mu.Unlock()
		}
	}
	bob := startUA(t, "bob", bobOpts)
	tuples := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var ids []string
		for _, m := range tupleID.FindAllStringSubmatch(lastNotify, -1) {
			ids = append(ids, m[1])
		}
		sort.Strings(ids)
		return ids
	}

	laptop.SetPresence(Presence{Open: true, Activities: []string{"away"}, Note: "on the laptop"})
	laptop.waitFor(t, "laptop published", isPublished)
	srv.SetPresence(Presence{Open: true, Note: "on the server"})
	srv.waitFor(t, "server published", isPublished)
	bob.Subscribe(aliceAOR)
	bob.waitFor(t, "alice's presence", presenceOf(aliceAOR, func(p PresenceEvent) bool { return p.State.Basic == pidf.BasicOpen }))
	want := []string{pidf.StableID("t", laptopOpts.InstanceID), pidf.StableID("t", serverOpts.InstanceID)}
	sort.Strings(want)
	eventually(t, "a NOTIFY with both devices' tuples", func() bool {
		got := tuples()
		return len(got) == 2 && got[0] == want[0] && got[1] == want[1]
	})

	// The laptop goes offline (its publication removed): the server's
	// state is what bob sees, and only its tuple is left.
	if err := laptop.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	bob.waitFor(t, "the server's state after the laptop left", presenceOf(aliceAOR, func(p PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && p.State.Note == "on the server"
	}))
	eventually(t, "a NOTIFY with only the server's tuple", func() bool {
		got := tuples()
		return len(got) == 1 && got[0] == pidf.StableID("t", serverOpts.InstanceID)
	})
}
