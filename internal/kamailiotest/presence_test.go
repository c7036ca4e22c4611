package kamailiotest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/tui/art"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
)

// shortExpires makes alice's PUBLISH and bob's SUBSCRIBE refresh within the
// test (at 80 % of the granted time), so the refresh path runs against
// Kamailio's rotating SIP-ETags.
const shortExpires = 6 * time.Second

// TestBuddyWithIcon: alice uploads her icon to Kamailio's XCAP server and
// publishes; bob, with alice in his resource-lists on Kamailio, sees her
// status, note and icon, and draws the icon; alice changes status and note
// and bob follows.
func TestBuddyWithIcon(t *testing.T) {
	in := openInstance(t)
	setBuddies(t, in, "bob", aor("alice"))

	alice := login(t, in, "alice", shortExpires)
	iconURL := xcapClient(t, in, "alice").DocumentURL(xcap.AUIDPresContent, xcap.IconFolder+"/"+xcap.BlinkIconName)
	up := alice.b.SetIcon(photo(t, t.TempDir()))
	alice.done(up)
	self := alice.waitFor("own icon", func(ev account.Event) bool {
		s, ok := ev.(account.SelfEvent)
		return ok && s.IconURL != ""
	}).(account.SelfEvent)
	// Kamailio's xcap-caps has no oma_status-icon AUID: the icon goes to
	// org.openmobilealliance.pres-content under oma_status-icon/index.
	if self.IconURL != iconURL {
		t.Errorf("icon stored at %s, want %s", self.IconURL, iconURL)
	}
	checkIconDocument(t, iconURL, self.IconHash)
	alice.done(alice.b.SetStatus(true, "away", "gone fishing"))

	bob := login(t, in, "bob", shortExpires)
	bob.waitFor("alice in the buddy list", func(ev account.Event) bool {
		b, ok := ev.(account.BuddiesEvent)
		return ok && len(b.Buddies) == 1 && b.Buddies[0].URI == aor("alice")
	})
	p := bob.waitFor("alice away with her note and icon", presenceOf(aor("alice"), func(p account.PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && slices.Contains(p.State.Activities, "away") && p.State.Note == "gone fishing"
	})).(account.PresenceEvent)
	if p.State.IconURL != iconURL || p.State.IconHash != self.IconHash {
		t.Errorf("bob sees icon %s #%s, want %s #%s", p.State.IconURL, p.State.IconHash, iconURL, self.IconHash)
	}
	ic := bob.waitFor("alice's icon", func(ev account.Event) bool {
		e, ok := ev.(account.IconEvent)
		return ok && e.URI == aor("alice")
	}).(account.IconEvent)
	if ic.Hash != self.IconHash || ic.Thumb == nil {
		t.Fatalf("bob's copy of the icon has sha1 %s (image %v), alice stored %s", ic.Hash, ic.Thumb != nil, self.IconHash)
	}
	checkArt(t, ic)

	// Adding a buddy rewrites bob's resource-lists with If-Match: Kamailio's
	// ETags and its 200 (not 201) to a PUT.
	bob.done(bob.b.AddBuddy("carol@example.test", "Carol"))
	bob.waitFor("alice and carol in the buddy list", func(ev account.Event) bool {
		b, ok := ev.(account.BuddiesEvent)
		return ok && len(b.Buddies) == 2 && b.Buddies[1].URI == aor("carol") && b.Buddies[1].DisplayName == "Carol"
	})
	// carol never published: Kamailio's NOTIFY has no body at all. She is
	// shown as unknown, and the subscription stays active.
	bob.waitFor("carol unknown", presenceOf(aor("carol"), func(p account.PresenceEvent) bool {
		return p.State.Basic == "" && p.State.Note == "" && p.State.Availability() != pidf.Available
	}))
	bob.waitFor("carol's subscription active", subscriptionOf(aor("carol"), ua.Active))
	alice.waitFor("bob watching alice", watcher(aor("bob"), "active"))

	alice.done(alice.b.SetStatus(true, "busy", "in a meeting"))
	bob.waitFor("alice busy in a meeting", presenceOf(aor("alice"), func(p account.PresenceEvent) bool {
		return slices.Contains(p.State.Activities, "busy") && p.State.Note == "in a meeting" && p.State.IconURL == iconURL
	}))
	alice.done(alice.b.SetStatus(true, "", "back"))
	bob.waitFor("alice back", presenceOf(aor("alice"), func(p account.PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && len(p.State.Activities) == 0 && p.State.Note == "back"
	}))

	// Let the publication refresh (short expiry) and check the SIP side of
	// Kamailio's ways, from alice's own trace.
	alice.waitFor("a PUBLISH refresh answered 200", func(account.Event) bool { return publishRefreshed(alice) })
	checkPublishTrace(t, alice)
	checkContacts(t, alice)
	checkContacts(t, bob)
}

// checkIconDocument GETs the icon as a watcher does (no credentials) and
// checks that Kamailio serves it as a pres-content document whose image has
// the published sha1.
func checkIconDocument(t *testing.T, url, sha string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, xcap.MaxIconResponseSize))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != icon.ContentMIMEType {
		t.Fatalf("GET %s: %s %s, want 200 %s", url, resp.Status, resp.Header.Get("Content-Type"), icon.ContentMIMEType)
	}
	c, err := icon.ParseContent(body)
	if err != nil {
		t.Fatalf("icon document: %v\n%s", err, body)
	}
	sum := sha1.Sum(c.Data)
	if got := hex.EncodeToString(sum[:]); got != sha || c.MIMEType != "image/jpeg" {
		t.Errorf("icon document holds %s with sha1 %s, want image/jpeg %s", c.MIMEType, got, sha)
	}
}

// checkArt draws the icon bob received the way the buddy list does and
// checks the picture survived: a 16x8 half-block square whose centre is the
// photo's dark square and whose corners are the bright gradient.
func checkArt(t *testing.T, ic account.IconEvent) {
	t.Helper()
	// A square icon (icon.Side pixels on the server) arrives as a square
	// thumbnail.
	b := ic.Thumb.Bounds()
	if b.Dx() != account.ThumbSide || b.Dy() != account.ThumbSide {
		t.Errorf("icon thumbnail is %dx%d, want %dx%d", b.Dx(), b.Dy(), account.ThumbSide, account.ThumbSide)
	}
	lines := strings.Split(art.Render(ic.Thumb, 16, 8, art.HalfBlock), "\n")
	if len(lines) != 8 {
		t.Fatalf("art has %d lines, want 8", len(lines))
	}
	sgr := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	for i, l := range lines {
		if n := len([]rune(sgr.ReplaceAllString(l, ""))); n != 16 {
			t.Errorf("art line %d is %d cells, want 16: %q", i, n, l)
		}
	}
	// The photo's dark square (10,10,30) sits in the centre of a bright
	// gradient: the middle rows of the art must hold a much darker colour
	// than anything in the top row.
	if top, middle := darkest(lines[0]), darkest(lines[4]); middle*2 >= top {
		t.Errorf("the centre is not dark (darkest luminance %d in the middle row, %d in the top row):\n%s", middle, top, strings.Join(lines, "\n"))
	}
}

// darkest returns the lowest luminance (0..2550) of the truecolour
// foreground and background colours in one line of art.
func darkest(line string) int {
	re := regexp.MustCompile(`[34]8;2;(\d+);(\d+);(\d+)`)
	low := 1 << 30
	for _, m := range re.FindAllStringSubmatch(line, -1) {
		var c [3]int
		for i := range c {
			c[i], _ = strconv.Atoi(m[i+1])
		}
		low = min(low, c[0]*3+c[1]*6+c[2])
	}
	return low
}

// publishRefreshed reports whether a body-less PUBLISH (a refresh) was
// answered 200.
func publishRefreshed(a *session) bool {
	for _, m := range a.sipLog(true) {
		if strings.HasPrefix(m, "PUBLISH ") && header(m, "SIP-If-Match") != "" && !strings.Contains(m, "Content-Type:") {
			etag := header(m, "SIP-If-Match")
			for _, r := range a.sipLog(false) {
				if strings.HasPrefix(r, "SIP/2.0 200") && strings.Contains(r, " PUBLISH") && header(r, "CSeq") == header(m, "CSeq") && header(r, "Call-ID") == header(m, "Call-ID") && header(r, "SIP-ETag") != etag {
					return true
				}
			}
		}
	}
	return false
}

// checkPublishTrace checks alice's PUBLISHes against Kamailio's ways: the
// 407 challenge is answered, every 200 carries a new SIP-ETag, each later
// PUBLISH uses the newest one, and none was ever refused with 412.
func checkPublishTrace(t *testing.T, a *session) {
	t.Helper()
	in := a.sipLog(false)
	var challenged bool
	var etags []string
	for _, r := range in {
		if !strings.Contains(header(r, "CSeq"), "PUBLISH") {
			continue
		}
		switch {
		case strings.HasPrefix(r, "SIP/2.0 407"):
			challenged = true
		case strings.HasPrefix(r, "SIP/2.0 412"):
			t.Errorf("a PUBLISH was answered 412 (stale SIP-ETag):\n%s", r)
		case strings.HasPrefix(r, "SIP/2.0 200"):
			etags = append(etags, header(r, "SIP-ETag"))
		}
	}
	if !challenged {
		t.Error("Kamailio never challenged a PUBLISH with 407: is this the harness?")
	}
	if len(etags) < 4 {
		t.Fatalf("%d PUBLISHes answered 200, want at least 4 (initial, icon, statuses, refresh)", len(etags))
	}
	t.Logf("%s's PUBLISHes got SIP-ETags %v", a.user, etags)
	for i := 1; i < len(etags); i++ {
		if etags[i] == etags[i-1] || etags[i] == "" {
			t.Errorf("SIP-ETag %d %q after %q: Kamailio gives a new one each time", i, etags[i], etags[i-1])
		}
	}
	// Each conditional PUBLISH must carry the SIP-ETag of the 200 before it.
	var last string
	for _, m := range a.sipLog(true) {
		if !strings.HasPrefix(m, "PUBLISH ") {
			continue
		}
		if im := header(m, "SIP-If-Match"); im != "" && last != "" && im != last && !strings.Contains(m, "Authorization") {
			t.Errorf("PUBLISH with SIP-If-Match %s, the newest SIP-ETag was %s", im, last)
		}
		for _, r := range in {
			if strings.HasPrefix(r, "SIP/2.0 200") && header(r, "Call-ID") == header(m, "Call-ID") && header(r, "CSeq") == header(m, "CSeq") {
				last = header(r, "SIP-ETag")
			}
		}
	}
}

// checkContacts checks that every Contact a TCP account sent says
// ;transport=tcp (without it Kamailio sends the NOTIFYs over UDP).
func checkContacts(t *testing.T, a *session) {
	t.Helper()
	n := 0
	for _, m := range a.sipLog(true) {
		if c := header(m, "Contact"); c != "" {
			n++
			if !strings.Contains(strings.ToLower(c), "transport=tcp") {
				t.Errorf("%s sent Contact %q without ;transport=tcp", a.user, c)
			}
		}
	}
	if n == 0 {
		t.Errorf("%s sent no Contact at all", a.user)
	}
}

// header returns the value of the first header called name (or its compact
// form) in a SIP message, "" if absent.
func header(msg, name string) string {
	compact := map[string]string{"contact": "m", "call-id": "i", "content-type": "c"}[strings.ToLower(name)]
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if strings.EqualFold(k, name) || (compact != "" && strings.EqualFold(k, compact)) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
