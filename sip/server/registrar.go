package server

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// binding is one registered contact of an address-of-record.
type binding struct {
	contact sip.ContactHeader // as registered, without the expires parameter
	key     string            // contact URI, the binding's identity
	callID  string
	cseq    uint32
	expires time.Time
	timer   timerEntry
}

// aorBindings holds the bindings of one address-of-record.
type aorBindings struct {
	mu       sync.Mutex
	bindings []*binding
}

// Binding is a registered contact, as reported by Bindings.
type Binding struct {
	Contact string        // the Contact URI
	Expires time.Duration // remaining
}

// Bindings returns the live registrations of a user ("alice").
func (s *Server) Bindings(user string) []Binding {
	ab, ok := s.regs.get(user)
	if !ok {
		return nil
	}
	now := time.Now()
	ab.mu.Lock()
	defer ab.mu.Unlock()
	out := make([]Binding, 0, len(ab.bindings))
	for _, b := range ab.bindings {
		out = append(out, Binding{Contact: b.contact.Address.String(), Expires: b.expires.Sub(now)})
	}
	return out
}

func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil || req.CallID() == nil || req.CSeq() == nil {
		s.respond(req, tx, 400, "Missing To, Call-ID or CSeq", nil)
		return
	}
	user, ok := s.localUser(to.Address)
	if !ok {
		s.respond(req, tx, 404, "Not Found", nil)
		return
	}
	if !s.checkAuth(req, tx, user, false) {
		return
	}

	var contacts []*sip.ContactHeader
	wildcard := false
	for _, h := range req.GetHeaders("Contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			s.respond(req, tx, 400, "Bad Contact", nil)
			return
		}
		if c.Address.Wildcard {
			wildcard = true
			continue
		}
		contacts = append(contacts, c)
	}
	callID := string(*req.CallID())
	cseq := req.CSeq().SeqNo

	type change struct {
		c   *sip.ContactHeader
		exp time.Duration
	}
	var changes []change
	if wildcard {
		// RFC 3261 §10.3 step 6: "*" only alone and with Expires: 0.
		h := req.GetHeader("Expires")
		if len(contacts) > 0 || h == nil || h.Value() != "0" {
			s.respond(req, tx, 400, "Wildcard Contact needs Expires: 0", nil)
			return
		}
	}
	for _, c := range contacts {
		param, _ := c.Params.Get("expires")
		exp, ok := s.requestedExpiry(req, tx, s.opts.DefaultExpires, param)
		if !ok {
			return
		}
		changes = append(changes, change{c, exp})
	}

	ab := s.regs.getOrCreate(user, func() *aorBindings { return &aorBindings{} })
	now := time.Now()
	ab.mu.Lock()
	if wildcard {
		for _, b := range ab.bindings {
			if b.callID == callID && cseq <= b.cseq {
				ab.mu.Unlock()
				s.respond(req, tx, 500, "Out of order request", nil)
				return
			}
		}
		for _, b := range ab.bindings {
			s.timers.cancel(&b.timer)
		}
		ab.bindings = nil
	}
	for _, ch := range changes {
		key := ch.c.Address.String()
		i := slices.IndexFunc(ab.bindings, func(b *binding) bool { return b.key == key })
		if i >= 0 && ab.bindings[i].callID == callID && cseq <= ab.bindings[i].cseq {
			ab.mu.Unlock()
			s.respond(req, tx, 500, "Out of order request", nil)
			return
		}
		if ch.exp == 0 {
			if i >= 0 {
				s.timers.cancel(&ab.bindings[i].timer)
				ab.bindings = slices.Delete(ab.bindings, i, i+1)
			}
			continue
		}
		var b *binding
		if i >= 0 {
			b = ab.bindings[i]
		} else {
			if len(ab.bindings) >= MaxContactsPerAOR {
				ab.mu.Unlock()
				s.respond(req, tx, 403, "Too many contacts", nil)
				return
			}
			b = &binding{key: key}
			ab.bindings = append(ab.bindings, b)
		}
		b.contact = sip.ContactHeader{DisplayName: ch.c.DisplayName, Address: *ch.c.Address.Clone()}
		if ch.c.Params != nil {
			b.contact.Params = ch.c.Params.Clone()
			b.contact.Params.Remove("expires")
		}
		b.callID, b.cseq = callID, cseq
		b.expires = now.Add(ch.exp)
		s.timers.schedule(&b.timer, b.expires, func() { s.expireBinding(user, ab, b) })
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if wantsOutbound(req, contacts) {
		// RFC 5626 §6: we are the edge proxy too, so outbound is ours to
		// promise; sipgo answers the client's CRLF CRLF pings.
		res.AppendHeader(sip.NewHeader("Require", "outbound"))
		res.AppendHeader(sip.NewHeader("Flow-Timer", strconv.Itoa(seconds(s.flowTimer()))))
	}
	for _, b := range ab.bindings {
		c := b.contact.Clone()
		if c.Params == nil {
			c.Params = sip.NewParams()
		}
		c.Params.Add("expires", strconv.Itoa(seconds(b.expires.Sub(now))))
		res.AppendHeader(c)
	}
	n := len(ab.bindings)
	// An empty aorBindings stays in the map: only authenticated users get
	// one, and keeping it avoids racing a concurrent REGISTER of the same
	// user that already holds the pointer.
	ab.mu.Unlock()
	s.log.Debug("REGISTER", "user", user, "bindings", n)
	s.send(tx, res)
}

func (s *Server) expireBinding(user string, ab *aorBindings, b *binding) {
	ab.mu.Lock()
	if time.Now().Before(b.expires) {
		ab.mu.Unlock()
		return // refreshed meanwhile
	}
	ab.bindings = slices.DeleteFunc(ab.bindings, func(x *binding) bool { return x == b })
	ab.mu.Unlock()
	s.log.Debug("registration expired", "user", user, "contact", b.key)
}

// DefaultFlowTimer is the Flow-Timer sent to outbound clients: their
// keep-alive interval (RFC 5626 §4.4.1 suggests 95-120 s on streams).
const DefaultFlowTimer = 120 * time.Second

func (s *Server) flowTimer() time.Duration {
	if s.opts.FlowTimer > 0 {
		return s.opts.FlowTimer
	}
	return DefaultFlowTimer
}

// wantsOutbound reports a REGISTER of an RFC 5626 client: Supported:
// outbound and a Contact with reg-id and +sip.instance.
func wantsOutbound(req *sip.Request, contacts []*sip.ContactHeader) bool {
	supported := false
	for _, h := range req.GetHeaders("Supported") {
		for _, opt := range strings.Split(h.Value(), ",") {
			supported = supported || strings.EqualFold(strings.TrimSpace(opt), "outbound")
		}
	}
	if !supported {
		return false
	}
	for _, c := range contacts {
		_, reg := c.Params.Get("reg-id")
		_, inst := c.Params.Get("+sip.instance")
		if reg && inst {
			return true
		}
	}
	return false
}
