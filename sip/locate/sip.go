package locate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// MaxTargets bounds the addresses one location returns (a domain with many
// SRV records, each with many addresses, is tried only this far).
const MaxTargets = 32

// Transports, as sipgo names them.
const (
	UDP = "UDP"
	TCP = "TCP"
	TLS = "TLS"
)

// Target is one place a SIP request can go.
type Target struct {
	// Transport is UDP, TCP or TLS.
	Transport string
	// Host is the name the address came from (the SRV target, or the
	// domain itself).
	Host string
	// Addr is "ip:port".
	Addr string
}

func (t Target) String() string { return t.Transport + " " + t.Addr + " (" + t.Host + ")" }

// Query narrows a location.
type Query struct {
	// Transport, when set (UDP, TCP or TLS), is the only one accepted.
	Transport string
	// Secure (a sips: URI) accepts TLS only.
	Secure bool
	// Port, when set (the URI named one), skips NAPTR and SRV
	// (RFC 3263 §4.2): A/AAAA of the domain on that port.
	Port int
}

func (q Query) accepts(transport string) bool {
	if q.Secure && transport != TLS {
		return false
	}
	return q.Transport == "" || strings.EqualFold(q.Transport, transport)
}

// srvServices are the RFC 3263 §4.1 services, in the order tried when a
// domain has no NAPTR records: TLS first, then TCP (sipbuddy's PIDF bodies
// outgrow UDP), then UDP.
var srvServices = []struct {
	naptr, prefix, transport string
	port                     int
}{
	{"SIPS+D2T", "_sips._tcp.", TLS, 5061},
	{"SIP+D2T", "_sip._tcp.", TCP, 5060},
	{"SIP+D2U", "_sip._udp.", UDP, 5060},
}

// SIP locates the servers of domain (RFC 3263 §4): NAPTR records choose the
// transports and SRV names in their order; without NAPTR the SRV names
// _sips._tcp, _sip._tcp and _sip._udp are tried; without SRV the domain's
// own A/AAAA records (TCP on 5060, or TLS on 5061 for sips:). SRV targets
// are ordered by priority, then by weighted random choice (RFC 2782). The
// targets come best first, at most MaxTargets.
func (r *Resolver) SIP(ctx context.Context, domain string, q Query) ([]Target, error) {
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" {
		return nil, errors.New("locate: no domain")
	}
	if ip := net.ParseIP(strings.Trim(domain, "[]")); ip != nil || q.Port != 0 {
		return r.direct(ctx, domain, q)
	}
	var errs []error
	naptrs, err := r.lookup(ctx, domain, dns.TypeNAPTR)
	if err != nil && !errors.Is(err, ErrNotFound) {
		errs = append(errs, err)
	}
	var out []Target
	if usable := usableNAPTR(naptrs, q); len(usable) > 0 {
		for _, n := range usable {
			ts, err := r.srv(ctx, n.name, n.transport)
			if err != nil {
				errs = append(errs, err)
			}
			out = appendTargets(out, ts)
		}
	} else {
		for _, s := range srvServices {
			if !q.accepts(s.transport) {
				continue
			}
			ts, err := r.srv(ctx, s.prefix+domain, s.transport)
			if err != nil && !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
			out = appendTargets(out, ts)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	// No NAPTR, no SRV: the domain itself (RFC 3263 §4.2).
	ts, err := r.direct(ctx, domain, q)
	if err != nil {
		return nil, fmt.Errorf("locate: no SIP server found for %s in DNS (NAPTR, SRV, A/AAAA): %w", domain, errors.Join(append(errs, err)...))
	}
	return ts, nil
}

// direct is a domain or IP without NAPTR/SRV: its addresses on the given
// or default port.
func (r *Resolver) direct(ctx context.Context, host string, q Query) ([]Target, error) {
	transport := TCP
	switch {
	case q.Secure:
		transport = TLS
	case q.Transport != "":
		transport = strings.ToUpper(q.Transport)
	}
	port := q.Port
	if port == 0 {
		port = 5060
		if transport == TLS {
			port = 5061
		}
	}
	host = strings.Trim(host, "[]")
	ips, err := r.addresses(ctx, host)
	if err != nil {
		return nil, err
	}
	var out []Target
	for _, ip := range ips {
		out = appendTargets(out, []Target{{Transport: transport, Host: host, Addr: net.JoinHostPort(ip, strconv.Itoa(port))}})
	}
	return out, nil
}

type naptrChoice struct {
	name, transport string
}

// usableNAPTR keeps the NAPTR records that point at a SIP SRV name of an
// accepted transport, in order then preference.
func usableNAPTR(rrs []dns.RR, q Query) []naptrChoice {
	var ns []*dns.NAPTR
	for _, rr := range rrs {
		if n, ok := rr.(*dns.NAPTR); ok && strings.EqualFold(n.Flags, "s") && n.Replacement != "." {
			ns = append(ns, n)
		}
	}
	slices.SortStableFunc(ns, func(a, b *dns.NAPTR) int {
		if a.Order != b.Order {
			return int(a.Order) - int(b.Order)
		}
		return int(a.Preference) - int(b.Preference)
	})
	var out []naptrChoice
	for _, n := range ns {
		for _, s := range srvServices {
			if strings.EqualFold(n.Service, s.naptr) && q.accepts(s.transport) {
				out = append(out, naptrChoice{name: n.Replacement, transport: s.transport})
			}
		}
	}
	return out
}

// srv resolves one SRV name to addresses, best first.
func (r *Resolver) srv(ctx context.Context, name, transport string) ([]Target, error) {
	rrs, err := r.lookup(ctx, name, dns.TypeSRV)
	if err != nil {
		return nil, err
	}
	var srvs []*dns.SRV
	for _, rr := range rrs {
		if s, ok := rr.(*dns.SRV); ok && s.Target != "." {
			srvs = append(srvs, s)
		}
	}
	var out []Target
	var errs []error
	for _, s := range OrderSRV(srvs, nil) {
		host := strings.TrimSuffix(s.Target, ".")
		ips, err := r.addresses(ctx, host)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ip := range ips {
			out = appendTargets(out, []Target{{Transport: transport, Host: host, Addr: net.JoinHostPort(ip, strconv.Itoa(int(s.Port)))}})
		}
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// OrderSRV returns records in the order RFC 2782 says to try them: lowest
// priority first; within a priority, repeatedly a random pick weighted by
// Weight (zero weights first in the running sum, so they are rarely
// chosen while others remain). rnd picks in [0, n); nil is math/rand.
func OrderSRV(srvs []*dns.SRV, rnd func(n uint32) uint32) []*dns.SRV {
	if rnd == nil {
		rnd = rand.N[uint32]
	}
	left := slices.Clone(srvs)
	slices.SortStableFunc(left, func(a, b *dns.SRV) int {
		if a.Priority != b.Priority {
			return int(a.Priority) - int(b.Priority)
		}
		// Zero weights first (RFC 2782 "arrange ... with all those of
		// weight 0 placed at the beginning").
		return min(int(a.Weight), 1) - min(int(b.Weight), 1)
	})
	out := make([]*dns.SRV, 0, len(left))
	for len(left) > 0 {
		end := 1
		for end < len(left) && left[end].Priority == left[0].Priority {
			end++
		}
		group := left[:end]
		for len(group) > 0 {
			var sum uint32
			for _, s := range group {
				sum += uint32(s.Weight)
			}
			pick := rnd(sum + 1) // in [0, sum]
			i, run := 0, uint32(0)
			for ; i < len(group); i++ {
				run += uint32(group[i].Weight)
				if run >= pick {
					break
				}
			}
			i = min(i, len(group)-1)
			out = append(out, group[i])
			group = slices.Delete(group, i, i+1)
		}
		left = left[end:]
	}
	return out
}

// appendTargets adds ts to out, skipping addresses already there, up to
// MaxTargets.
func appendTargets(out, ts []Target) []Target {
	for _, t := range ts {
		if len(out) >= MaxTargets {
			break
		}
		if !slices.ContainsFunc(out, func(o Target) bool { return o.Addr == t.Addr && o.Transport == t.Transport }) {
			out = append(out, t)
		}
	}
	return out
}
