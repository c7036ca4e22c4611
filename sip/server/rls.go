package server

import (
	"errors"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipbuddy/sipbuddy/internal/sipuri"
	"github.com/sipbuddy/sipbuddy/sip/header"
	"github.com/sipbuddy/sipbuddy/sip/rlmi"
	"github.com/sipbuddy/sipbuddy/xcap/resourcelists"
	"github.com/sipbuddy/sipbuddy/xcap/rlsservices"
	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// Embedded resource list server (RFC 4662): a user's SUBSCRIBE with
// Supported: eventlist to a service URI of its own rls-services document
// (python-sipsimple's sip:alice+presence@example.test) gets the presence
// of every member of the resource-lists list the service names, in
// multipart/related NOTIFYs with an RLMI root. The back-end state is the
// server's own presentities, each member deciding by its pres-rules what
// the subscriber sees. Members of other domains cannot be reached from
// here and are reported terminated with reason noresource; services with
// an inline <list> are not served (their SUBSCRIBE is answered as today).
//
// Full state goes first, and again when the list document changes; member
// changes go as partial state. A full state too large for one NOTIFY lists
// every member and carries the documents that fit; the members whose
// document did not fit are listed without an instance (RFC 4662 §5.2
// allows a resource with no instance yet) and their state follows at once
// in partial-state NOTIFYs, as Kamailio's rls does.

// List server limits.
const (
	// ClientMaxListMessage is the largest SIP message a sipbuddy client
	// parses (sip/ua's MaxNotifyMessage); only a client that asks for
	// eventlist gets a message this large.
	ClientMaxListMessage = 288 << 10
	// maxListBody is the room for a resource list NOTIFY body.
	maxListBody = ClientMaxListMessage - maxNotifyHeaders
	// MaxListMembers bounds the members one list subscription follows;
	// the rest of a longer list is left out (and logged).
	MaxListMembers = 1000
	// MaxListsPerUser bounds a user's list subscriptions (403 beyond).
	MaxListsPerUser = 8
	// listPartOverhead is what one body part adds besides the document:
	// its boundary line, part headers and the instance element.
	listPartOverhead = 256
)

// emptyRLMI is the size of an RLMI document without resources: what one
// resource's own encoding has besides its element.
var emptyRLMI = len(rlmi.AppendRLMI(nil, &rlmi.List{}))

// listMember is one resource of a list subscription.
type listMember struct {
	uri  string      // as the list writes it
	name string      // display name
	id   string      // instance id, stable for the URI
	pres *presentity // nil: not a user of this server
}

// listState is a list subscription's list and what its subscriber has been
// sent, guarded by the subscription's mutex.
type listState struct {
	uri, name string
	members   []listMember
	version   uint32
	// sentFull is false until a full state went out for these members.
	sentFull bool
	// dirty holds the members (indices) with news not sent yet.
	dirty    map[int]struct{}
	boundary string
}

// wantsEventlist reports whether req carries Supported: eventlist.
func wantsEventlist(req *sip.Request) bool {
	for _, h := range req.GetHeaders("Supported") {
		for tok := range strings.SplitSeq(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "eventlist") {
				return true
			}
		}
	}
	return false
}

// resolveList reads owner's service serviceURI and the members of the
// list it names; nil when owner has no such presence service.
func (s *Server) resolveList(owner, serviceURI string) *listState {
	xui := s.aor(owner)
	doc, err := s.opts.Store.Get(store.Key{AUID: "rls-services", User: xui, Path: "index"})
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("reading rls-services failed", "owner", xui, "error", err)
		}
		return nil
	}
	services, err := rlsservices.Parse(doc.Body)
	if err != nil {
		s.log.Warn("rls-services document does not parse", "owner", xui, "error", err)
		return nil
	}
	svc, ok := services.Service(serviceURI)
	if !ok || !svc.Serves(header.EventPresence) || svc.ResourceList == "" {
		return nil
	}
	listName, ok := rlsservices.ListName(svc.ResourceList, xui)
	if !ok {
		return nil
	}
	ls := &listState{uri: serviceURI, dirty: map[int]struct{}{}}
	lists, err := s.opts.Store.Get(store.Key{AUID: "resource-lists", User: xui, Path: "index"})
	if err != nil {
		return ls // the service exists, its list is still empty
	}
	rl, err := resourcelists.Parse(lists.Body)
	if err != nil {
		s.log.Warn("resource-lists document does not parse; the list is empty", "owner", xui, "error", err)
		return ls
	}
	uris, names := listEntries(rl, listName)
	seen := map[string]bool{}
	for i, uri := range uris {
		key, err := sipuri.AORKey(uri)
		if err != nil {
			key = uri
		}
		if seen[key] {
			continue
		}
		if len(ls.members) == MaxListMembers {
			s.log.Warn("resource list cut to MaxListMembers", "owner", xui, "list", listName, "limit", MaxListMembers)
			break
		}
		seen[key] = true
		m := listMember{uri: uri, name: names[i], id: instanceID(key)}
		var u sip.Uri
		if sip.ParseUri(uri, &u) == nil {
			if user, ok := s.localUser(u); ok && s.userExists(user) {
				m.pres = s.presentityFor(user)
			}
		}
		ls.members = append(ls.members, m)
	}
	if g, ok := groupNamed(rl, listName); ok {
		ls.name = g.DisplayName
	}
	return ls
}

// listEntries are the URIs of the top-level list called name, and each
// one's display name: a group's buddies (Blink's addressbook names
// included), or the entries of a list python-sipsimple keeps for itself
// (sipsimple_presence_rls, what its RLS service serves), named as the
// same buddy is named in a group.
func listEntries(rl *resourcelists.Document, name string) (uris, names []string) {
	if g, ok := groupNamed(rl, name); ok {
		for _, e := range g.Entries {
			uris = append(uris, resourcelists.DecodeAnyURI(e.URI))
			names = append(names, e.DisplayName)
		}
		return uris, names
	}
	uris, _ = rl.ListURIs(name)
	byKey := map[string]string{}
	for _, e := range rl.Entries() {
		if k, err := sipuri.AORKey(resourcelists.DecodeAnyURI(e.URI)); err == nil {
			byKey[k] = e.DisplayName
		}
	}
	names = make([]string, len(uris))
	for i, u := range uris {
		if k, err := sipuri.AORKey(u); err == nil {
			names[i] = byKey[k]
		}
	}
	return uris, names
}

// groupNamed is the group of rl called name (its list's name attribute).
func groupNamed(rl *resourcelists.Document, name string) (resourcelists.Group, bool) {
	for _, g := range rl.Groups() {
		if g.Name == name {
			return g, true
		}
	}
	return resourcelists.Group{}, false
}

func instanceID(key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return strconv.FormatUint(h.Sum64(), 36)
}

// attachList makes sub hear of its members' changes. Each member's
// watcher info then lists sub's subscriber (see watcherList).
func (s *Server) attachList(sub *subscription, members []listMember) {
	for _, m := range members {
		if m.pres != nil {
			m.pres.mu.Lock()
			m.pres.memberOf[sub] = struct{}{}
			m.pres.mu.Unlock()
			s.winfoChanged(m.pres)
		}
	}
}

func (s *Server) detachList(sub *subscription, members []listMember) {
	for _, m := range members {
		if m.pres != nil {
			m.pres.mu.Lock()
			delete(m.pres.memberOf, sub)
			m.pres.mu.Unlock()
			s.winfoChanged(m.pres)
		}
	}
}

// listWatchers are the subscribers of the resource lists p is a member of,
// as p's watcher info lists them: RFC 4662 §5 makes the list server's
// back-end subscription a subscription of the list's subscriber, so the
// presentity must see it and be able to decide on it. Each is active or
// pending as p's rules decide; a blocked one is left out (the rules list
// it).
func (s *Server) listWatchers(p *presentity) []winfoWatcher {
	p.mu.Lock()
	lists := make([]*subscription, 0, len(p.memberOf))
	for sub := range p.memberOf {
		lists = append(lists, sub)
	}
	p.mu.Unlock()
	if len(lists) == 0 {
		return nil
	}
	decide := s.policyFor(p.user)
	out := make([]winfoWatcher, 0, len(lists))
	for _, sub := range lists {
		sub.mu.Lock()
		w := winfoWatcher{ID: watcherID(sub), URI: sub.watcher, Event: "subscribe"}
		ended := sub.state == subTerminated
		sub.mu.Unlock()
		if ended {
			continue
		}
		switch decide(w.URI) {
		case decBlock:
			continue
		case decPending:
			w.Status = header.StatePending
		default:
			w.Status = header.StateActive
		}
		out = append(out, w)
	}
	return out
}

// memberChanged queues partial-state NOTIFYs to the list subscriptions
// that hold p (its document or its pres-rules changed).
func (s *Server) memberChanged(p *presentity) {
	p.mu.Lock()
	subs := make([]*subscription, 0, len(p.memberOf))
	for sub := range p.memberOf {
		subs = append(subs, sub)
	}
	p.mu.Unlock()
	for _, sub := range subs {
		sub.mu.Lock()
		if ls := sub.list; ls != nil {
			for i, m := range ls.members {
				if m.pres == p {
					ls.dirty[i] = struct{}{}
				}
			}
		}
		sub.mu.Unlock()
		s.push(sub)
	}
}

// listsChanged re-reads the lists of owner's list subscriptions after one
// of its rls-services or resource-lists documents changed: each gets full
// state, or ends (noresource) when its service is gone.
func (s *Server) listsChanged(owner string) {
	p, ok := s.presentity.get(owner)
	if !ok {
		return
	}
	p.mu.Lock()
	subs := make([]*subscription, 0, len(p.ownLists))
	for sub := range p.ownLists {
		subs = append(subs, sub)
	}
	p.mu.Unlock()
	for _, sub := range subs {
		sub.mu.Lock()
		old := sub.list
		sub.mu.Unlock()
		if old == nil {
			continue
		}
		fresh := s.resolveList(owner, old.uri)
		if fresh == nil {
			s.terminate(sub, header.ReasonNoResource)
			continue
		}
		sub.mu.Lock()
		fresh.version, fresh.boundary = old.version, old.boundary
		sub.list = fresh
		sub.mu.Unlock()
		s.detachList(sub, old.members)
		s.attachList(sub, fresh.members)
		s.push(sub)
	}
}

// listBody builds the next RLMI NOTIFY body of sub: full state when the
// subscriber has none for the current members, else the members with
// news. Nil when there is nothing to say (a refresh). The caller holds
// sub.mu; members' pres-rules are read from the store here.
func (s *Server) listBody(sub *subscription) (body []byte, ctype string) {
	ls := sub.list
	full := !ls.sentFull
	if !full && len(ls.dirty) == 0 {
		return nil, ""
	}
	l := &rlmi.List{URI: ls.uri, Name: ls.name, Version: ls.version, FullState: full}
	size := len(rlmi.AppendRLMI(nil, l)) + 2*len(ls.boundary) + 256
	resources := make([]rlmi.Resource, 0, len(ls.members))
	picked := make([]int, 0, len(ls.members))
	for i, m := range ls.members {
		if _, news := ls.dirty[i]; !full && !news {
			continue
		}
		r := rlmi.Resource{URI: m.uri, Name: m.name}
		bare := len(rlmi.AppendRLMI(nil, &rlmi.List{Resources: []rlmi.Resource{r}})) - emptyRLMI
		if full {
			// Full state names every member first; instances and
			// documents fill the room that is left.
			if size+bare > maxListBody {
				break
			}
			size += bare
		}
		resources, picked = append(resources, r), append(picked, i)
	}
	next := map[int]struct{}{}
	for j, i := range picked {
		r := &resources[j]
		in, part := s.memberInstance(sub, ls.members[i], ls.version)
		extra := len(in.ID) + len(in.State) + len(in.Reason) + len(in.CID) + 64
		if in.CID != "" {
			extra += len(part.Body) + listPartOverhead
		}
		if !full {
			extra += len(rlmi.AppendRLMI(nil, &rlmi.List{Resources: []rlmi.Resource{*r}})) - emptyRLMI
		}
		if size+extra > maxListBody {
			next[i] = struct{}{} // its state follows in the next NOTIFY
			continue
		}
		size += extra
		r.Instances = []rlmi.Instance{in}
		if in.CID != "" {
			r.Parts = []rlmi.Part{part}
		}
		l.Resources = append(l.Resources, *r)
	}
	if full {
		// Members without room for their state are still listed, bare.
		l.Resources = resources
	}
	if full && len(l.Resources) < len(ls.members) {
		s.log.Warn("resource list too long for one NOTIFY; members left out", "list", ls.uri,
			"members", len(ls.members), "listed", len(l.Resources))
	}
	ls.sentFull, ls.dirty = true, next
	if len(next) > 0 {
		sub.dirty = true
	}
	ls.version++
	root := "rlmi." + strconv.FormatUint(uint64(l.Version), 10) + "@" + s.opts.Domain
	return rlmi.Encode(nil, l, ls.boundary, root), rlmi.ContentTypeOf(ls.boundary, root)
}

// memberInstance is member m's instance as sub's subscriber may see it.
func (s *Server) memberInstance(sub *subscription, m listMember, version uint32) (rlmi.Instance, rlmi.Part) {
	in := rlmi.Instance{ID: m.id}
	if m.pres == nil {
		in.State, in.Reason = header.StateTerminated, header.ReasonNoResource
		return in, rlmi.Part{}
	}
	dec := s.policyFor(m.pres.user)(sub.watcher)
	var body []byte
	switch dec {
	case decBlock:
		in.State, in.Reason = header.StateTerminated, header.ReasonRejected
		return in, rlmi.Part{}
	case decPending:
		in.State = header.StatePending
		return in, rlmi.Part{}
	case decPolite:
		body = m.pres.neutral
	default:
		body = *m.pres.doc.Load()
	}
	in.State = header.StateActive
	in.CID = m.id + "." + strconv.FormatUint(uint64(version), 10) + "@" + s.opts.Domain
	return in, rlmi.Part{ContentType: "application/pidf+xml", Body: body}
}
