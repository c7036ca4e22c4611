package sshserver

import (
	"sync"

	"github.com/sipbuddy/sipbuddy/account"
)

// visitor is one connected SSH session with a started backend.
type visitor struct {
	aor, displayName string
	b                *account.Account
}

// hub is the set of connected visitors, so that each sees the others: a
// visitor who joins is added to the buddy list of every other visitor
// (through that visitor's backend, so the XCAP list and the subscription
// follow) and they to its list.
type hub struct {
	mu       sync.Mutex
	visitors map[*visitor]struct{}
}

func newHub() *hub { return &hub{visitors: map[*visitor]struct{}{}} }

// snapshot returns the distinct addresses of the connected visitors other
// than aor, with their display names: what a joining visitor's list is
// filled with before its backend starts.
func (h *hub) snapshot(aor string) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]string{}
	for v := range h.visitors {
		if v.aor != aor {
			out[v.aor] = v.displayName
		}
	}
	return out
}

// join adds v, whose backend is started and whose list already holds the
// visitors in before (its snapshot). Every other visitor gets v in its
// list, and v gets those who joined since its snapshot. Two visitors who
// join at the same time see each other: whichever enters second does both
// sides.
func (h *hub) join(v *visitor, before map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	added := map[string]bool{}
	for o := range h.visitors {
		if o.aor == v.aor {
			continue // the same user in a second session
		}
		o.b.AddBuddy(v.aor, v.displayName)
		if _, ok := before[o.aor]; !ok && !added[o.aor] {
			added[o.aor] = true
			v.b.AddBuddy(o.aor, o.displayName)
		}
	}
	h.visitors[v] = struct{}{}
}

// leave removes v. Its entry stays in the others' lists: its backend's
// Close unpublishes, so they see it go offline.
func (h *hub) leave(v *visitor) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.visitors, v)
}

// count returns the number of connected visitors.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.visitors)
}
