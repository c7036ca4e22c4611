package ua

import (
	"os"
	"slices"
	"testing"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/winfo"
)

// KamailioEnv names the environment variable that points the Kamailio
// interoperability test at a running peer (/work/shared/peers/kamailio):
// "127.0.0.1:5070". Users alice/alicepw and bob/bobpw in example.test.
const KamailioEnv = "SIPBUDDY_KAMAILIO_PROXY"

func kamailioProxy(t *testing.T) string {
	addr := os.Getenv(KamailioEnv)
	if addr == "" {
		t.Skip(KamailioEnv + " not set: start peers/kamailio/start.sh and set it to its SIP address")
	}
	return addr
}

func TestKamailioPresence(t *testing.T) {
	proxy := kamailioProxy(t)
	const icon = "http://127.0.0.1:8070/xcap-root/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/index"
	alice := startUA(t, "alice", Options{AOR: "sip:alice@example.test", DisplayName: "Alice", Password: "alicepw",
		Proxy: "sip:" + proxy + ";transport=tcp", RegisterExpires: 60e9, PublishExpires: 60e9, SubscribeExpires: 60e9})
	bob := startUA(t, "bob", Options{AOR: "sip:bob@example.test", Password: "bobpw",
		Proxy: "sip:" + proxy + ";transport=tcp", RegisterExpires: 60e9, PublishExpires: 60e9, SubscribeExpires: 60e9})
	alice.waitFor(t, "alice registered", isRegistered)
	bob.waitFor(t, "bob registered", isRegistered)

	alice.WatchWatchers(true)
	alice.SetPresence(Presence{Open: true, Activities: []string{"away"}, Note: "gone fishing", IconURL: icon})
	alice.waitFor(t, "alice published", isPublished)

	bob.Subscribe("sip:alice@example.test")
	bob.waitFor(t, "alice away with note and icon", presenceOf("sip:alice@example.test", func(p PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && slices.Contains(p.State.Activities, "away") &&
			p.State.Note == "gone fishing" && p.State.IconURL == icon
	}))
	alice.waitFor(t, "bob in alice's watchers", func(ev Event) bool {
		w, ok := ev.(WatchersEvent)
		return ok && slices.ContainsFunc(w.Info.Watchers, func(w winfo.Watcher) bool { return w.URI == "sip:bob@example.test" && w.Status == "active" })
	})

	alice.SetPresence(Presence{Open: true, Activities: []string{"busy"}, Note: "in a meeting", IconURL: icon})
	bob.waitFor(t, "alice busy", presenceOf("sip:alice@example.test", func(p PresenceEvent) bool {
		return slices.Contains(p.State.Activities, "busy") && p.State.Note == "in a meeting"
	}))
}
