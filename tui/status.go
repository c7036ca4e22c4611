package tui

import (
	"strings"

	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// StatusLabel returns the label shown for an availability.
func StatusLabel(a pidf.Availability) string {
	switch a {
	case pidf.Available:
		return "Available"
	case pidf.Away:
		return "Away"
	case pidf.Busy:
		return "Busy"
	case pidf.OnThePhone:
		return "On the phone"
	case pidf.Meeting:
		return "In a meeting"
	case pidf.Offline:
		return "Offline"
	}
	return "Unknown"
}

// StatusSymbol returns the symbol shown (in the status colour) before the
// label. The symbols differ in shape too, so they still say something
// without colour (NO_COLOR).
func StatusSymbol(a pidf.Availability) string {
	switch a {
	case pidf.Available:
		return "●"
	case pidf.Away:
		return "◐"
	case pidf.Busy, pidf.OnThePhone, pidf.Meeting:
		return "◉"
	case pidf.Offline:
		return "○"
	}
	return "◌"
}

// statusWidth is the width of the widest "symbol label" ("◉ On the phone"
// and "◉ In a meeting"), so every status cell has the same width and the
// columns after it never move when a status changes.
const statusWidth = 14

// availabilityRank orders the buddy list: reachable first, then the ones
// that are there but occupied, then offline and unknown.
func availabilityRank(a pidf.Availability) int {
	switch a {
	case pidf.Available:
		return 0
	case pidf.Away:
		return 1
	case pidf.Busy:
		return 2
	case pidf.OnThePhone:
		return 3
	case pidf.Meeting:
		return 4
	case pidf.Offline:
		return 5
	}
	return 6
}

// statusChoice is one entry of the "set my status" menu.
type statusChoice struct {
	Label    string
	Open     bool
	Activity string // RPID activity, "" for none
}

// statusChoices is the menu of my own statuses: the RPID activities the
// buddy list can show, and Invisible (basic status closed).
var statusChoices = []statusChoice{
	{Label: "Available", Open: true},
	{Label: "Away", Open: true, Activity: "away"},
	{Label: "Busy", Open: true, Activity: "busy"},
	{Label: "On the phone", Open: true, Activity: "on-the-phone"},
	{Label: "In a meeting", Open: true, Activity: "meeting"},
	{Label: "Invisible", Open: false},
}

// selfAvailability derives my availability from what I publish, with the
// same rules as a buddy's.
func selfAvailability(open bool, activities []string) pidf.Availability {
	st := pidf.State{Basic: pidf.BasicClosed, Activities: activities}
	if open {
		st.Basic = pidf.BasicOpen
	}
	return st.Availability()
}

// selfChoice returns the index in statusChoices that matches what I publish.
func selfChoice(open bool, activities []string) int {
	if !open {
		return len(statusChoices) - 1
	}
	for i, c := range statusChoices {
		if c.Activity == "" {
			continue
		}
		for _, a := range activities {
			if strings.EqualFold(a, c.Activity) {
				return i
			}
		}
	}
	return 0
}

// RegistrationLabel returns how the header names the account's
// registration state.
func RegistrationLabel(s ua.RegistrationState) string {
	switch s {
	case ua.Unregistered:
		return "Unregistered"
	case ua.Registering:
		return "Registering"
	case ua.Registered:
		return "Registered"
	case ua.RegistrationFailed:
		return "Registration failed"
	}
	return "Unknown"
}

// SubscriptionLabel returns how the detail pane names the state of the
// subscription to a buddy.
func SubscriptionLabel(s ua.SubscriptionState) string {
	switch s {
	case ua.Active:
		return "active"
	case ua.Pending:
		return "pending"
	case ua.Terminated:
		return "refused"
	case ua.Retrying:
		return "retrying"
	}
	return "unknown"
}
