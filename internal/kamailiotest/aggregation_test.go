package kamailiotest

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
)

// harnessDir is the Kamailio harness, beside the repository (CI clones the
// repository next to shared/).
var harnessDir = filepath.Join("..", "..", "..", "shared", "peers", "kamailio")

// TestAggregatedPublications: alice publishes from sipbuddy (no icon) and
// from a second device (the harness's sipp PUBLISH, another tuple id, with an
// icon). Kamailio sends bob one document with both tuples and both persons;
// bob shows one coherent state from it, and alice's sipbuddy state alone
// again once the other device removes its publication.
func TestAggregatedPublications(t *testing.T) {
	in := openInstance(t)
	sippPublish := filepath.Join(harnessDir, "sipp", "publish.xml")
	sippRemove := filepath.Join(harnessDir, "sipp", "publish_remove.xml")
	if _, err := os.Stat(sippPublish); err != nil {
		t.Fatalf("the harness's sipp scenarios are not beside the repository: %v", err)
	}
	setBuddies(t, in, "bob", aor("alice"))

	alice := login(t, in, "alice", 0)
	alice.done(alice.b.SetStatus(true, "busy", "at my desk"))
	bob := login(t, in, "bob", 0)
	bob.waitFor("alice at her desk", presenceOf(aor("alice"), func(p account.PresenceEvent) bool { return p.State.Note == "at my desk" }))

	phoneIcon := in.XCAP + "/org.openmobilealliance.pres-content/users/sip:alice@example.test/oma_status-icon/phone"
	trace := testtool.Sipp(t, "udp", sippPublish, in.SIP, "-key", "user", "alice", "-key", "domain", Domain,
		"-key", "icon_url", phoneIcon, "-key", "note", "on my phone", "-au", "alice", "-ap", "alicepw")
	m := regexp.MustCompile(`(?m)^SIP-ETag: *(\S+)`).FindStringSubmatch(trace)
	if m == nil {
		t.Fatalf("no SIP-ETag in sipp's trace:\n%s", trace)
	}
	// Kamailio appends the other publication's tuple and person to one
	// document; which comes first depends on its presentity table, not on
	// age. sipbuddy shows the first person's note and the first icon found.
	shown := bob.waitFor("the phone's icon", presenceOf(aor("alice"), func(p account.PresenceEvent) bool {
		return p.State.IconURL == phoneIcon
	})).(account.PresenceEvent)
	var notify string
	for _, msg := range bob.sipLog(false) {
		if strings.HasPrefix(msg, "NOTIFY ") && strings.Contains(msg, "on my phone") {
			notify = msg
		}
	}
	persons := regexp.MustCompile(`(?s)<dm:person\b.*?<dm:note>([^<]*)</dm:note>`).FindAllStringSubmatch(notify, -1)
	if len(persons) != 2 {
		t.Fatalf("NOTIFY with %d persons, want 2 (sipbuddy's and the phone's):\n%s", len(persons), notify)
	}
	if shown.State.Basic != pidf.BasicOpen || shown.State.Note != persons[0][1] {
		t.Errorf("bob shows %q (%s), want the first person's note %q", shown.State.Note, shown.State.Basic, persons[0][1])
	}

	testtool.Sipp(t, "udp", sippRemove, in.SIP, "-key", "user", "alice", "-key", "domain", Domain,
		"-key", "etag", m[1], "-au", "alice", "-ap", "alicepw")
	bob.waitFor("alice at her desk again", presenceOf(aor("alice"), func(p account.PresenceEvent) bool {
		return p.State.Note == "at my desk" && slices.Contains(p.State.Activities, "busy") && p.State.IconURL == ""
	}))
}
