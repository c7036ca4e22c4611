package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/app/apptest"
	"github.com/sipbuddy/sipbuddy/internal/app/stack"
	"github.com/sipbuddy/sipbuddy/sip/ua"
	"github.com/sipbuddy/sipbuddy/xcap"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
)

// presenceSubscribe is a presence SUBSCRIBE's Event header.
var presenceSubscribe = regexp.MustCompile(`(?mi)^Event:\s*presence\s*$`)

// A list of 1,000 buddies reaches the screen through one RLS subscription
// of the embedded server: every row gets its buddy's state, the detail
// pane says how the list is watched, and a buddy's change (a partial RLMI
// NOTIFY) shows in its row; on the wire there is one presence dialog to
// the list (and the account's own one, for its other devices).
func TestThousandBuddiesOnScreenThroughOneListSubscription(t *testing.T) {
	const n = 1000
	users := []stack.User{{Name: "tester", Password: "pw"}}
	for i := range n {
		users = append(users, stack.User{Name: fmt.Sprintf("buddy%d", i), Password: "pw"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{
		Domain: "example.test", Store: filepath.Join(t.TempDir(), "xcap.db"),
		XCAPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0", Users: users,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), apptest.StopTimeout)
		defer cancel()
		st.Shutdown(ctx)
	})
	doc := resourcelists.New()
	for i := range n {
		if err := doc.Add(resourcelists.BuddiesList, fmt.Sprintf("sip:buddy%d@example.test", i), fmt.Sprintf("Buddy %04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	body, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	xc, err := xcap.NewClient(xcap.ClientOptions{Root: st.XCAPRoot(), XUI: "sip:tester@example.test", Username: "tester", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := xc.Put(ctx, resourcelists.AUID, resourcelists.DocumentPath, body, resourcelists.ContentType, xcap.Condition{}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	dialogs := map[string]bool{}
	trace := func(in bool, msg string) {
		if in || !strings.HasPrefix(msg, "SUBSCRIBE ") || !presenceSubscribe.MatchString(msg) {
			return
		}
		if m := callIDLine.FindStringSubmatch(msg); m != nil {
			mu.Lock()
			dialogs[strings.SplitN(msg, " ", 3)[1]+" "+m[1]] = true
			mu.Unlock()
		}
	}
	b := startAccount(t, st.XCAPRoot(), "tester", "pw", ua.Options{Proxy: st.Proxy(), Trace: trace})
	l := newLoop(t, New(b, Options{Environ: []string{}, SteadyCursor: true}), 120, 40)

	l.until("every buddy's state on the list", func(m *Model) bool {
		if len(m.list.sorted) != n {
			return false
		}
		for _, bd := range m.list.sorted {
			if !bd.HasState {
				return false
			}
		}
		return true
	})
	l.until("the detail pane says the list is watched through RLS", func(m *Model) bool {
		return strings.Contains(plain(*m), "one RLS subscription")
	})

	pub := apptest.StartUA(t, ctx, ua.Options{AOR: "sip:buddy500@example.test", Password: "pw", Proxy: st.Proxy()})
	pub.SetPresence(ua.Presence{Open: true, Note: "reviewing the list"})
	l.keys("/", "0", "5", "0", "0", "enter")
	l.until("buddy500's note in its row", func(m *Model) bool {
		return strings.Contains(plain(*m), "reviewing the list")
	})

	mu.Lock()
	defer mu.Unlock()
	var toList []string
	for k := range dialogs {
		if !strings.HasPrefix(k, "sip:tester@example.test ") {
			toList = append(toList, k)
		}
	}
	if len(toList) != 1 || !strings.HasPrefix(toList[0], "sip:tester+presence@example.test ") {
		t.Errorf("presence dialogs to buddies or the list: %v, want the one to sip:tester+presence@example.test", toList)
	}
}

// callIDLine finds a message's Call-ID.
var callIDLine = regexp.MustCompile(`(?mi)^(?:Call-ID|i):\s*(\S+)`)
