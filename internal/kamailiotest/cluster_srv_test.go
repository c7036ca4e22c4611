package kamailiotest

import (
	"fmt"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/account"
	"github.com/sipbuddy/sipbuddy/sip/locate"
	"github.com/sipbuddy/sipbuddy/sip/locate/dnstest"
	"github.com/sipbuddy/sipbuddy/sip/ua"
)

// TestClusterSRVFailover puts DNS SRV in front of the two Kamailio nodes
// (node 1 priority 10, node 2 priority 20) on a DNS server on loopback:
// alice and bob are configured with no proxy, find node 1, see each other;
// node 1 is killed, and both move to node 2 by themselves at their next
// REGISTER (no new sign-in), re-publish and re-subscribe there, and see
// each other's new status.
func TestClusterSRVFailover(t *testing.T) {
	start := time.Now()
	c := startCluster(t)
	dns := dnstest.Start(t,
		`example.test. 60 IN NAPTR 10 10 "s" "SIP+D2T" "" _sip._tcp.example.test.`,
		fmt.Sprintf(`_sip._tcp.example.test. 60 IN SRV 10 10 %d kamailio1.example.test.`, clusterSIP1),
		fmt.Sprintf(`_sip._tcp.example.test. 60 IN SRV 20 10 %d kamailio2.example.test.`, clusterSIP2),
		`kamailio1.example.test. 60 IN A `+clusterAddr1,
		`kamailio2.example.test. 60 IN A `+clusterAddr2,
	)
	resolver, err := locate.NewResolver(dns.Addr)
	if err != nil {
		t.Fatal(err)
	}
	located := instance{XCAP: c.node1.XCAP, Resolver: resolver}
	setBuddies(t, c.node1, "alice", aor("bob"))
	setBuddies(t, c.node1, "bob", aor("alice"))
	// the nodes run with pres-rules: alice allows bob, bob allows alice
	putRules(t, c.node1, "alice", clusterRules)
	putRules(t, c.node1, "bob", bobRules)

	alice := login(t, located, "alice", clusterExpires)
	bob := login(t, located, "bob", clusterExpires)
	clusterBinding(t, t.Context(), c, "alice", c.node1)
	clusterBinding(t, t.Context(), c, "bob", c.node1)
	alice.done(alice.b.SetStatus(true, "away", "alice before"))
	bob.done(bob.b.SetStatus(true, "away", "bob before"))
	bob.waitFor("alice before", presenceOf(aor("alice"), func(p account.PresenceEvent) bool { return p.State.Note == "alice before" }))
	alice.waitFor("bob before", presenceOf(aor("bob"), func(p account.PresenceEvent) bool { return p.State.Note == "bob before" }))

	refreshed := map[*session]int{alice: subscribeRefreshes(alice, "presence"), bob: subscribeRefreshes(bob, "presence")}
	failAt := time.Now()
	c.kam1.kill()
	// Each client notices at its next REGISTER (80 % of clusterExpires),
	// moves to node 2 and publishes and subscribes again there.
	for _, a := range []*session{alice, bob} {
		a.waitFor(a.user+" registered on node 2", func(ev account.Event) bool {
			e, ok := ev.(account.AccountEvent)
			return ok && e.State == ua.Registered && clusterBindings(t, t.Context(), c, a.user, c.node2) > 0
		})
	}
	t.Logf("both re-registered on node 2 %s after the kill", time.Since(failAt).Round(time.Millisecond))
	alice.done(alice.b.SetStatus(true, "busy", "alice after"))
	bob.done(bob.b.SetStatus(true, "busy", "bob after"))
	bob.waitFor("alice after", presenceOf(aor("alice"), func(p account.PresenceEvent) bool { return p.State.Note == "alice after" }))
	alice.waitFor("bob after", presenceOf(aor("bob"), func(p account.PresenceEvent) bool { return p.State.Note == "bob after" }))
	// The subscription dialogs made on node 1 live on: their refreshes,
	// sent through node 2, are answered 200 (the dialogs are in the shared
	// database, the remote target is the domain).
	for _, a := range []*session{alice, bob} {
		a.waitFor(a.user+"'s subscription refreshed through node 2", func(account.Event) bool {
			return subscribeRefreshes(a, "presence") > refreshed[a]
		})
	}
	checkNoServerErrors(t, alice, bob)
	for _, a := range []struct {
		acc   *session
		buddy string
	}{{alice, "bob"}, {bob, "alice"}} {
		if ev, found := a.acc.find(subscriptionOf(aor(a.buddy), ua.Terminated)); found {
			t.Errorf("%s's subscription to %s ended: %+v", a.acc.user, a.buddy, ev)
		}
	}
	t.Logf("SRV failover done %s after the kill; whole test %s", time.Since(failAt).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
