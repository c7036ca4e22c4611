package server

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap/rlsservices"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

const listService = "sip:alice+presence@example.test"

// listStore is a store with the test users, n-1 members "m0000"... and
// alice's list "buddies" of those members and one of another domain,
// served as listService.
func listStore(t *testing.T, n int) store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "xcap.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for u, pw := range testUsers {
		if err := st.SetPassword(u, pw); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies">`)
	for i := range n - 1 {
		user := fmt.Sprintf("m%04d", i)
		if err := st.SetPassword(user, "pw"); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, `<entry uri="sip:%s@example.test"><display-name>Member %d</display-name></entry>`, user, i)
	}
	b.WriteString(`<entry uri="sip:stranger@elsewhere.test"/></list></resource-lists>`)
	alice := "sip:alice@example.test"
	if _, _, err := st.Put(store.Key{AUID: "resource-lists", User: alice, Path: "index"}, []byte(b.String()), store.Condition{}); err != nil {
		t.Fatal(err)
	}
	svc := rlsservices.New()
	svc.Ensure(listService, rlsservices.ListURL("http://127.0.0.1/xcap-root", alice, "buddies"))
	if _, _, err := st.Put(store.Key{AUID: "rls-services", User: alice, Path: "index"}, svc.Marshal(), store.Condition{}); err != nil {
		t.Fatal(err)
	}
	return st
}

// listClient is alice's sip/ua on the list, counting SUBSCRIBEs on the
// wire and keeping the RLMI NOTIFYs it received.
type listClient struct {
	ua         *ua.UA
	mu         sync.Mutex
	subscribes map[string]bool // Call-IDs of the SUBSCRIBEs sent
	notifies   []string
}

func startListClient(t *testing.T, e *testEnv) *listClient {
	t.Helper()
	c := &listClient{subscribes: map[string]bool{}}
	u, err := ua.New(ua.Options{
		AOR: "sip:alice@example.test", Password: testUsers["alice"],
		Proxy: "sip:" + e.tcpAddr + ";transport=tcp", Transport: "tcp",
		EventBuffer: 8192,
		Trace: func(in bool, msg string) {
			c.mu.Lock()
			defer c.mu.Unlock()
			switch {
			case !in && strings.HasPrefix(msg, "SUBSCRIBE "):
				// A digest retry is the same subscription: count dialogs.
				c.subscribes[headerLine(msg, "Call-ID")] = true
			case in && strings.HasPrefix(msg, "NOTIFY ") && strings.Contains(msg, "multipart/related"):
				c.notifies = append(c.notifies, msg)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTime)
		defer cancel()
		u.Close(ctx)
	})
	c.ua = u
	return c
}

// waitFor reads events until done says the wanted state is reached.
func (c *listClient) waitFor(t *testing.T, what string, done func(ua.Event) bool) {
	t.Helper()
	deadline := time.After(4 * waitTime)
	for {
		select {
		case ev := <-c.ua.Events():
			if done(ev) {
				return
			}
		case <-deadline:
			c.mu.Lock()
			n, subs := len(c.notifies), len(c.subscribes)
			c.mu.Unlock()
			t.Fatalf("timed out waiting for %s (%d RLMI NOTIFYs, %d SUBSCRIBEs)", what, n, subs)
		}
	}
}

func TestListSubscriptionOfAThousandMembers(t *testing.T) {
	const members = 1000
	e := newEnv(t, envOptions{store: listStore(t, members)})
	// One member blocks alice.
	blockAlice := `<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
<cr:rule id="b"><cr:conditions><cr:identity><cr:one id="sip:alice@example.test"/></cr:identity></cr:conditions><cr:actions><sub-handling>block</sub-handling></cr:actions></cr:rule></cr:ruleset>`
	if _, _, err := e.st.Put(store.Key{AUID: "pres-rules", User: "sip:m0001@example.test", Path: "index"}, []byte(blockAlice), store.Condition{}); err != nil {
		t.Fatal(err)
	}

	c := startListClient(t, e)
	c.ua.SubscribeList(listService)
	active := map[string]bool{}
	states := map[string]string{}
	var listEv ua.ListEvent
	c.waitFor(t, "every member's state", func(ev ua.Event) bool {
		switch ev := ev.(type) {
		case ua.ListEvent:
			listEv = ev
		case ua.PresenceEvent:
			active[ev.URI] = true
		case ua.SubscriptionEvent:
			states[ev.URI] = ev.State.String() + " " + ev.Reason
		}
		return len(active) == members-2 && states["sip:m0001@example.test"] != "" && states["sip:stranger@elsewhere.test"] != ""
	})
	if listEv.Mode != ua.ListActive || listEv.Members != members {
		t.Errorf("list event %+v, want active with %d members", listEv, members)
	}
	if got := states["sip:m0001@example.test"]; !strings.Contains(got, "terminated") || !strings.Contains(got, "rejected") {
		t.Errorf("blocking member: %q, want terminated (rejected)", got)
	}
	if got := states["sip:stranger@elsewhere.test"]; !strings.Contains(got, "terminated") || !strings.Contains(got, "noresource") {
		t.Errorf("member of another domain: %q, want terminated (noresource)", got)
	}
	if active["sip:m0001@example.test"] {
		t.Error("the blocking member's presence was delivered")
	}

	// A member's change arrives as partial state.
	m7 := e.newUA("m0007", "udp")
	m7.password = "pw"
	wantStatus(t, m7.publish("", pidfDoc("m0007", "lunch", "", true), 600), 200)
	c.waitFor(t, "the member's new note", func(ev ua.Event) bool {
		p, ok := ev.(ua.PresenceEvent)
		return ok && p.URI == "sip:m0007@example.test" && p.State.Note == "lunch"
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.subscribes) != 1 {
		t.Errorf("SUBSCRIBEs of %d dialogs on the wire, want 1", len(c.subscribes))
	}
	last := c.notifies[len(c.notifies)-1]
	if !strings.Contains(last, `fullState="false"`) || !strings.Contains(last, "m0007") || strings.Contains(last, "m0008") {
		t.Errorf("the change NOTIFY is not a partial state of m0007 alone:\n%.2000s", last)
	}
	if !strings.Contains(c.notifies[0], `fullState="true"`) {
		t.Errorf("the first NOTIFY is not full state:\n%.2000s", c.notifies[0])
	}
}

// headerLine is the value of header name in a SIP message's text.
func headerLine(msg, name string) string {
	for line := range strings.SplitSeq(msg, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// rlmiVersion is the version attribute of an RLMI NOTIFY's text.
func rlmiVersion(msg string) string {
	_, rest, _ := strings.Cut(msg, "<list ")
	_, rest, _ = strings.Cut(rest, ` version="`)
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// waitNotifies waits until the client has received n RLMI NOTIFYs.
func (c *listClient) waitNotifies(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for {
		c.mu.Lock()
		got := append([]string(nil), c.notifies...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d RLMI NOTIFYs, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestListDocumentChangeSendsFullState(t *testing.T) {
	e := newEnv(t, envOptions{store: listStore(t, 3)})
	c := startListClient(t, e)
	c.ua.SubscribeList(listService)
	first := c.waitNotifies(t, 1)[0]
	if !strings.Contains(first, `fullState="true"`) || !strings.Contains(first, "m0001") {
		t.Fatalf("first NOTIFY:\n%s", first)
	}
	if got := headerLine(first, "Require"); got != "eventlist" {
		t.Errorf("NOTIFY Require %q, want eventlist", got)
	}

	// Another client drops m0001 from the list: full state, next version.
	key := store.Key{AUID: "resource-lists", User: "sip:alice@example.test", Path: "index"}
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="buddies"><entry uri="sip:m0000@example.test"/><entry uri="sip:carol@example.test"/></list></resource-lists>`
	if _, _, err := e.st.Put(key, []byte(doc), store.Condition{}); err != nil {
		t.Fatal(err)
	}
	e.srv.StoreChanged(key)
	got := c.waitNotifies(t, 2)
	second := got[len(got)-1]
	if !strings.Contains(second, `fullState="true"`) || strings.Contains(second, "m0001") || !strings.Contains(second, "carol") {
		t.Fatalf("NOTIFY after the list changed is not the new full state:\n%s", second)
	}
	if v1, v2 := rlmiVersion(first), rlmiVersion(second); v1 != "0" || v2 != "1" {
		t.Errorf("versions %s then %s, want 0 then 1", v1, v2)
	}
}

// Without Supported: eventlist, or for a URI that is none of the
// subscriber's services, a list URI is no presentity: 404 as before.
func TestListURIWithoutEventlist(t *testing.T) {
	e := newEnv(t, envOptions{store: listStore(t, 3)})
	alice := e.newUA("alice", "udp")
	wantStatus(t, alice.subscribe("alice+presence", "presence", 600).res, 404)

	bob := e.newUA("bob", "udp")
	req := bob.newRequest("SUBSCRIBE", "alice+presence")
	req.AppendHeader(bob.contact())
	withHeader(req, "Event", "presence")
	withHeader(req, "Supported", "eventlist")
	wantStatus(t, bob.do(req), 404)

	// A plain presentity with Supported: eventlist is plain presence.
	req = bob.newRequest("SUBSCRIBE", "alice")
	req.AppendHeader(bob.contact())
	withHeader(req, "Event", "presence")
	withHeader(req, "Supported", "eventlist")
	res := bob.do(req)
	wantStatus(t, res, 200)
	if hv(res, "Require") != "" {
		t.Errorf("plain presence answered with Require %q", hv(res, "Require"))
	}
	if n := bob.nextNotify(); hv(n, "Content-Type") != "application/pidf+xml" {
		t.Errorf("plain presence NOTIFY Content-Type %q", hv(n, "Content-Type"))
	}
}
