package kamailiotest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/pidf"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/icon"
	"github.com/sipbuddy/sipbuddy/xcap/presrules"
)

// clusterRules is alice's pres-rules in the cluster: bob may watch her,
// carol is blocked.
const clusterRules = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="allow-bob">
    <cr:conditions><cr:identity><cr:one id="sip:bob@example.test"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>allow</sub-handling></cr:actions>
    <cr:transformations><provide-services><all-services/></provide-services><provide-persons><all-persons/></provide-persons><provide-devices><all-devices/></provide-devices><provide-all-attributes/></cr:transformations>
  </cr:rule>
  <cr:rule id="block-carol">
    <cr:conditions><cr:identity><cr:one id="sip:carol@example.test"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>block</sub-handling></cr:actions>
  </cr:rule>
</cr:ruleset>
`

// bobRules lets alice watch bob.
const bobRules = `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="allow-alice">
    <cr:conditions><cr:identity><cr:one id="sip:alice@example.test"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>allow</sub-handling></cr:actions>
    <cr:transformations><provide-services><all-services/></provide-services><provide-persons><all-persons/></provide-persons><provide-devices><all-devices/></provide-devices><provide-all-attributes/></cr:transformations>
  </cr:rule>
</cr:ruleset>
`

// clusterExpires is the first sessions' registration, publication and
// subscription time: short, so that the subscriptions refresh within the
// test and the dead session's publication, which Kamailio aggregates with
// the new one, expires from the shared database soon after the failover
// (within clusterExpires + the cfg's clean_period of 10 s, inside
// waitTimeout).
const clusterExpires = 5 * time.Second

// clusterTestTimeout bounds the XCAP requests of TestClusterClients as a
// whole; each wait for an event is bounded by waitTimeout.
const clusterTestTimeout = 2 * time.Minute

// clusterCloseTimeout bounds closing a session whose server may be dead.
const clusterCloseTimeout = 3 * time.Second

// TestClusterClients is the cluster recipe of docs/scaling.md with two
// sipbuddy clients: alice on node 1 (Kamailio 1 + sipbuddy XCAP 1 on
// 127.0.0.1), bob on node 2 (127.0.0.2). They see each other's status and
// icon; alice's pres-rules, written through XCAP node 1, block carol on both
// Kamailio nodes; an icon PUT through XCAP node 1 is served by XCAP node 2.
// Then Kamailio node 1 and XCAP node 2 are killed: both sign in again on
// the survivors and carry on, buddy lists, icons and rules intact.
func TestClusterClients(t *testing.T) {
	start := time.Now()
	c := startCluster(t)
	t.Logf("cluster up in %s", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), clusterTestTimeout)
	defer cancel()

	// alice's documents through XCAP node 1, bob's through node 2.
	putRules(t, c.node1, "alice", clusterRules)
	putRules(t, c.node2, "bob", bobRules)
	setBuddies(t, c.node1, "alice", aor("bob"))
	setBuddies(t, c.node2, "bob", aor("alice"))
	setBuddies(t, c.node1, "carol", aor("alice"))

	alice := login(t, c.node1, "alice", clusterExpires)
	alice.done(alice.b.SetIcon(photo(t, t.TempDir())))
	aliceSelf := ownIcon(alice)
	alice.done(alice.b.SetStatus(true, "away", "on node 1"))

	bob := login(t, c.node2, "bob", clusterExpires)
	bob.done(bob.b.SetIcon(photo(t, t.TempDir())))
	bobSelf := ownIcon(bob)
	bob.done(bob.b.SetStatus(true, "busy", "bob on node 2"))
	if aliceSelf.IconURL == bobSelf.IconURL {
		t.Fatalf("alice's and bob's icons at the same URL %s", aliceSelf.IconURL)
	}

	// Each sees the other: PUBLISH on one Kamailio node, NOTIFY from the
	// shared database to a watcher of the other; the icon from the other's
	// XCAP node.
	seesBuddy(t, bob, "alice", "away", "on node 1", aliceSelf)
	seesBuddy(t, alice, "bob", "busy", "bob on node 2", bobSelf)

	// The icon alice PUT through XCAP node 1 is served by XCAP node 2: the
	// same bytes and ETag from the shared database. (sipbuddy's xcap-caps
	// offers the oma_status-icon AUID, which the client prefers, so the icon
	// is in sipbuddy's own table, not in Kamailio's xcap table.)
	iconOn2 := c.node2.XCAP + strings.TrimPrefix(aliceSelf.IconURL, c.node1.XCAP)
	if iconOn2 == aliceSelf.IconURL {
		t.Fatalf("alice's icon %s is not under XCAP node 1's root %s", aliceSelf.IconURL, c.node1.XCAP)
	}
	b1, e1 := clusterGet(t, ctx, aliceSelf.IconURL)
	b2, e2 := clusterGet(t, ctx, iconOn2)
	if !bytes.Equal(b1, b2) || e1 != e2 || e1 == "" {
		t.Errorf("alice's icon: XCAP node 1 %d bytes ETag %s, node 2 %d bytes ETag %s", len(b1), e1, len(b2), e2)
	}

	// The same image PUT as an OMA pres-content document through XCAP
	// node 1 lands in Kamailio's xcap table: Kamailio node 2's own
	// xcap_server serves it.
	omaDoc := xcap.IconFolder + "/" + xcap.BlinkIconName
	omaBody := (&icon.Content{MIMEType: http.DetectContentType(b1), Encoding: "base64", Data: b1}).Marshal()
	if _, err := xcapClient(t, c.node1, "alice").Put(ctx, xcap.AUIDPresContent, omaDoc, omaBody, icon.ContentMIMEType, xcap.Condition{}); err != nil {
		t.Fatalf("PUT alice's icon as pres-content through XCAP node 1: %v", err)
	}
	kamIcon := fmt.Sprintf("http://%s:%d/xcap-root/%s/users/%s/%s", clusterAddr2, clusterHTTP2, xcap.AUIDPresContent, aor("alice"), omaDoc)
	if bk, _ := clusterGet(t, ctx, kamIcon); !bytes.Equal(bk, omaBody) {
		t.Errorf("Kamailio node 2's xcap_server serves %d bytes at %s, sipbuddy node 1 stored %d", len(bk), kamIcon, len(omaBody))
	}

	// Registrations are in the shared location table, each with the socket
	// of the node that took it.
	clusterBinding(t, ctx, c, "alice", c.node1)
	clusterBinding(t, ctx, c, "bob", c.node2)

	// carol is blocked by alice's rules on both Kamailio nodes.
	carolBlocked(t, c.node1)
	carolBlocked(t, c.node2)
	t.Logf("both clients up, rules checked at %s", time.Since(start).Round(time.Millisecond))

	// The subscriptions refresh in dialog (at 80 % of clusterExpires) and
	// Kamailio answers 200 from the database, on both nodes.
	bob.waitFor("bob's presence subscription refreshed", func(account.Event) bool { return subscribeRefreshed(bob, "presence") })
	alice.waitFor("alice's presence subscription refreshed", func(account.Event) bool { return subscribeRefreshed(alice, "presence") })
	checkNoServerErrors(t, alice, bob)
	// One node of each kind dies, so that each client loses one of its
	// servers: Kamailio node 1 (alice's) and XCAP node 2 (bob's), SIGKILL to
	// their process groups.
	failAt := time.Now()
	c.kam1.kill()
	c.xcap2.kill()
	for _, a := range []*session{alice, bob} {
		closeCtx, closeCancel := context.WithTimeout(context.Background(), clusterCloseTimeout)
		_ = a.b.Close(closeCtx) // alice's server is gone: nothing to unregister from
		closeCancel()
	}

	t.Logf("failover: old sessions closed after %s", time.Since(failAt).Round(time.Millisecond))

	// Both sign in again on the survivors: Kamailio node 2 and XCAP node 1.
	// Buddy lists, icons and rules come from the database, not from the
	// dead nodes.
	survivors := instance{SIP: c.node2.SIP, XCAP: c.node1.XCAP}
	alice2 := login(t, survivors, "alice", 0)
	bob2 := login(t, survivors, "bob", 0)
	for _, a := range []struct {
		acc   *session
		buddy string
		was   account.SelfEvent
	}{{alice2, "bob", aliceSelf}, {bob2, "alice", bobSelf}} {
		a.acc.waitFor(a.buddy+" still in "+a.acc.user+"'s buddy list", func(ev account.Event) bool {
			b, ok := ev.(account.BuddiesEvent)
			return ok && len(b.Buddies) == 1 && b.Buddies[0].URI == aor(a.buddy)
		})
		now := ownIcon(a.acc)
		if now.IconHash != a.was.IconHash || !strings.HasPrefix(now.IconURL, survivors.XCAP+"/") {
			t.Errorf("%s's icon after failover: %s #%s, before %s #%s", a.acc.user, now.IconURL, now.IconHash, a.was.IconURL, a.was.IconHash)
		}
		clusterBinding(t, ctx, c, a.acc.user, c.node2)
	}
	t.Logf("failover: signed in again after %s", time.Since(failAt).Round(time.Millisecond))
	alice2.done(alice2.b.SetStatus(true, "busy", "alice after the crash"))
	bob2.done(bob2.b.SetStatus(true, "away", "bob after the crash"))
	seesBuddy(t, bob2, "alice", "busy", "alice after the crash", ownIcon(alice2))
	t.Logf("failover: bob sees alice's new state after %s", time.Since(failAt).Round(time.Millisecond))
	seesBuddy(t, alice2, "bob", "away", "bob after the crash", ownIcon(bob2))
	t.Logf("failover: alice sees bob's new state after %s", time.Since(failAt).Round(time.Millisecond))
	carolBlocked(t, survivors)
	checkNoServerErrors(t, alice2, bob2)
	t.Logf("failover done in %s; whole test %s", time.Since(failAt).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// ownIcon waits for the account's own icon (uploaded, or loaded from its
// XCAP server at sign-in).
func ownIcon(a *session) account.SelfEvent {
	a.t.Helper()
	return a.waitFor(a.user+"'s own icon", func(ev account.Event) bool {
		s, ok := ev.(account.SelfEvent)
		return ok && s.IconURL != "" && s.IconHash != ""
	}).(account.SelfEvent)
}

// seesBuddy waits until watcher a sees user with activity and note, the
// icon of self, and has drawn that icon.
func seesBuddy(t *testing.T, a *session, user, activity, note string, self account.SelfEvent) {
	t.Helper()
	a.waitFor(user+" "+activity+" "+note, presenceOf(aor(user), func(p account.PresenceEvent) bool {
		return p.State.Basic == pidf.BasicOpen && slices.Contains(p.State.Activities, activity) && p.State.Note == note &&
			p.State.IconURL == self.IconURL && p.State.IconHash == self.IconHash
	}))
	ic := a.waitFor(user+"'s icon from "+self.IconURL, func(ev account.Event) bool {
		e, ok := ev.(account.IconEvent)
		return ok && e.URI == aor(user) && e.Hash == self.IconHash
	}).(account.IconEvent)
	if ic.Thumb == nil {
		t.Errorf("%s has %s's icon without an image", a.user, user)
	}
}

// carolBlocked signs carol in on in and checks that her subscription to
// alice is refused and that she learns nothing of alice.
func carolBlocked(t *testing.T, in instance) {
	t.Helper()
	carol := login(t, in, "carol", 0)
	carol.waitFor("subscription to alice refused on "+in.SIP, subscriptionOf(aor("alice"), ua.Terminated))
	if ev, found := carol.find(presenceOf(aor("alice"), func(p account.PresenceEvent) bool { return p.State.Note != "" || p.State.Basic == pidf.BasicOpen })); found {
		t.Errorf("carol, blocked, saw alice's presence on %s: %+v", in.SIP, ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterCloseTimeout)
	defer cancel()
	if err := carol.b.Close(ctx); err != nil {
		t.Logf("carol: close: %v", err)
	}
}

// clusterGet GETs url without credentials (icons are public) and returns
// the body and ETag of a 200.
func clusterGet(t *testing.T, ctx context.Context, url string) ([]byte, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, xcap.MaxIconResponseSize))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return body, resp.Header.Get("ETag")
}

// subscribeRefreshed reports whether a's trace has an in-dialog SUBSCRIBE
// (a refresh: it has a To tag) for event answered 200.
func subscribeRefreshed(a *session, event string) bool { return subscribeRefreshes(a, event) > 0 }

// subscribeRefreshes counts a's in-dialog SUBSCRIBE refreshes for event
// answered 200.
func subscribeRefreshes(a *session, event string) int {
	in := a.sipLog(false)
	n := 0
	for _, m := range a.sipLog(true) {
		if !strings.HasPrefix(m, "SUBSCRIBE ") || header(m, "Event") != event || !strings.Contains(header(m, "To"), "tag=") || header(m, "Expires") == "0" {
			continue
		}
		for _, r := range in {
			if strings.HasPrefix(r, "SIP/2.0 200") && header(r, "CSeq") == header(m, "CSeq") && header(r, "Call-ID") == header(m, "Call-ID") {
				n++
				break
			}
		}
	}
	return n
}

// checkNoServerErrors fails the test if any account got a 5xx answer (in
// the cluster a 500 is Kamailio failing on the shared database) or a 404
// (a node refusing a dialog another node made).
func checkNoServerErrors(t *testing.T, accounts ...*session) {
	t.Helper()
	for _, a := range accounts {
		for _, r := range a.sipLog(false) {
			if strings.HasPrefix(r, "SIP/2.0 5") || strings.HasPrefix(r, "SIP/2.0 404") {
				t.Errorf("%s got a server error:\n%s", a.user, r)
			}
		}
	}
}

// clusterBinding checks that Kamailio's shared location table holds a
// registration of user taken by the Kamailio node of in.
func clusterBinding(t *testing.T, ctx context.Context, c *cluster, user string, in instance) {
	t.Helper()
	if clusterBindings(t, ctx, c, user, in) == 0 {
		t.Errorf("no registration of %s through %s in the shared location table", user, in.SIP)
	}
}

// clusterBindings counts user's registrations through the Kamailio node
// of in in the shared location table.
func clusterBindings(t *testing.T, ctx context.Context, c *cluster, user string, in instance) int {
	t.Helper()
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM location WHERE username = $1 AND socket = $2", user, "tcp:"+in.SIP).Scan(&n); err != nil {
		t.Fatalf("read the location table: %v", err)
	}
	return n
}

// putRules replaces user's pres-rules document through the XCAP node of in.
func putRules(t *testing.T, in instance, user, doc string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := xcapClient(t, in, user).Put(ctx, presrules.AUID, presrules.DocumentPath, []byte(doc), presrules.ContentType, xcap.Condition{}); err != nil {
		t.Fatalf("PUT %s's pres-rules through %s: %v", user, in.XCAP, err)
	}
}
