package account

import (
	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// My other devices: the account subscribes to its own presence
// (self-presence, always allowed by the server) and reports the tuples of
// the composed document that are not this device's own as a DevicesEvent.

// DevicesEvent carries the account's other devices as its presence server
// composes them (each device's tuple with its note and activities); empty
// when no other device publishes. Key: one.
type DevicesEvent struct {
	Devices []pidf.Device
}

func (DevicesEvent) accountEvent() {}

// watchMyDevices starts the self-presence subscription.
func (a *Account) watchMyDevices() { a.ua.Subscribe(a.AOR()) }

// selfPresence handles the events of the self-presence subscription;
// false when ev is not one of them.
func (a *Account) selfPresence(ev ua.Event) bool {
	switch ev := ev.(type) {
	case ua.PresenceEvent:
		if !isAOR(ev.URI, a.AOR()) {
			return false
		}
		mine := pidf.StableID("t", a.ua.InstanceID())
		var others []pidf.Device
		for _, d := range ev.State.Devices {
			if d.ID != mine {
				others = append(others, d)
			}
		}
		a.q.push(DevicesEvent{Devices: others})
		return true
	case ua.SubscriptionEvent:
		if (ev.Package != "" && ev.Package != "presence") || !isAOR(ev.URI, a.AOR()) {
			return false
		}
		if ev.State != ua.Active {
			a.log.Info("self-presence subscription", "state", ev.State.String(), "reason", ev.Reason)
		}
		return true
	}
	return false
}

// isAOR reports whether uri names the address-of-record aor.
func isAOR(uri, aor string) bool {
	u, err := sipuri.ParseAddress(uri)
	if err != nil {
		return false
	}
	v, err := sipuri.ParseAddress(aor)
	return err == nil && u.AOR().String() == v.AOR().String()
}
