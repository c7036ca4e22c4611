package account

import (
	"slices"
	"testing"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// Two devices of one account: each reports the other (its note and
// activities, from the server's composed document) and never itself, and
// the list empties when the other device leaves.
func TestMyOtherDevices(t *testing.T) {
	w := startWorld(t, 1)
	acc := addUser(t, w, "tester")
	laptop, rl := loginAs(t, acc, t.TempDir())
	phone, rp := loginAs(t, acc, t.TempDir())
	for _, r := range []*recorder{rl, rp} {
		r.wait(t, "registration", func(ev Event) bool { a, ok := ev.(AccountEvent); return ok && a.State == ua.Registered })
	}
	if _, err := rl.answer(t, laptop.SetStatus(true, "away", "on the laptop")); err != nil {
		t.Fatal(err)
	}
	if _, err := rp.answer(t, phone.SetStatus(true, "", "on the phone")); err != nil {
		t.Fatal(err)
	}
	has := func(ds []pidf.Device, note string) bool {
		return slices.ContainsFunc(ds, func(d pidf.Device) bool { return d.Note == note })
	}
	ev := rl.wait(t, "the phone among the laptop's other devices", func(ev Event) bool {
		d, ok := ev.(DevicesEvent)
		return ok && has(d.Devices, "on the phone")
	}).(DevicesEvent)
	if has(ev.Devices, "on the laptop") || len(ev.Devices) != 1 || ev.Devices[0].Basic != pidf.BasicOpen {
		t.Errorf("the laptop's other devices: %+v", ev.Devices)
	}
	rp.wait(t, "the laptop among the phone's other devices", func(ev Event) bool {
		d, ok := ev.(DevicesEvent)
		return ok && has(d.Devices, "on the laptop") && !has(d.Devices, "on the phone") &&
			slices.ContainsFunc(d.Devices, func(x pidf.Device) bool { return slices.Contains(x.Activities, "away") })
	})
	seen := rl.mark()
	closeBackend(t, phone, rp)
	rl.waitSince(t, seen, "no other device once the phone left", func(ev Event) bool {
		d, ok := ev.(DevicesEvent)
		return ok && len(d.Devices) == 0
	})
}
