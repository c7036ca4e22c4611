// Package locate finds the SIP servers and the XCAP root of a domain in DNS:
// RFC 3263 server location (NAPTR, then SRV, then A/AAAA), RFC 2782
// priority and weight order, failover between the targets found, and the
// XCAP root discovery of python-sipsimple (TXT records of xcap.<domain>).
//
// Answers are cached for their TTL (negative answers for the SOA minimum), so
// a registration that re-locates before every attempt costs no packets until
// the records expire.
package locate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Limits and defaults of the resolver.
const (
	// DefaultResolvConf is where the system's name servers are read from.
	DefaultResolvConf = "/etc/resolv.conf"
	// DefaultTimeout bounds one DNS exchange.
	DefaultTimeout = 3 * time.Second
	// MaxCacheEntries bounds the answers kept; the cache is emptied when
	// full (a client looks up a handful of names).
	MaxCacheEntries = 256
	// MaxCacheTTL caps how long any answer is kept, whatever its TTL.
	MaxCacheTTL = time.Hour
	// EDNSBufferSize is the UDP answer size we announce (EDNS0, RFC
	// 6891); a larger answer comes truncated and is asked again over TCP.
	EDNSBufferSize = 1232
	// DefaultNegativeTTL is how long "no such record" is kept when the
	// answer carries no SOA to say.
	DefaultNegativeTTL = 60 * time.Second
)

// ErrNotFound means the name has no record of the type asked for.
var ErrNotFound = errors.New("no such DNS record")

// Resolver asks one set of name servers and caches their answers. It is
// safe for concurrent use.
type Resolver struct {
	servers []string // host:port, tried in order
	client  *dns.Client
	now     func() time.Time

	mu    sync.Mutex
	cache map[cacheKey]cacheEntry
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	rrs     []dns.RR
	err     error // ErrNotFound for a cached negative answer
	expires time.Time
}

// NewResolver returns a resolver asking server ("127.0.0.1:5353"), or the
// name servers of /etc/resolv.conf when server is empty.
func NewResolver(server string) (*Resolver, error) {
	var servers []string
	if server != "" {
		if _, _, err := net.SplitHostPort(server); err != nil {
			server = net.JoinHostPort(server, "53")
		}
		servers = []string{server}
	} else {
		conf, err := dns.ClientConfigFromFile(DefaultResolvConf)
		if err != nil {
			return nil, fmt.Errorf("locate: reading the system's name servers: %w", err)
		}
		for _, s := range conf.Servers {
			servers = append(servers, net.JoinHostPort(s, conf.Port))
		}
		if len(servers) == 0 {
			return nil, fmt.Errorf("locate: %s lists no name server", DefaultResolvConf)
		}
	}
	return &Resolver{
		servers: servers,
		client:  &dns.Client{Timeout: DefaultTimeout},
		now:     time.Now,
		cache:   make(map[cacheKey]cacheEntry),
	}, nil
}

// Servers returns the name servers asked, in order.
func (r *Resolver) Servers() []string { return append([]string(nil), r.servers...) }

// lookup returns the records of type qtype for name, from the cache while
// their TTL lasts. A name without such records gives ErrNotFound.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	name = dns.Fqdn(strings.ToLower(name))
	key := cacheKey{name, qtype}
	r.mu.Lock()
	stale, cached := r.cache[key]
	if cached && r.now().Before(stale.expires) {
		r.mu.Unlock()
		return stale.rrs, stale.err
	}
	r.mu.Unlock()

	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.SetEdns0(EDNSBufferSize, false)
	var res *dns.Msg
	var err error
	for _, srv := range r.servers {
		res, _, err = r.client.ExchangeContext(ctx, m, srv)
		if err == nil && res.Truncated {
			tcp := *r.client
			tcp.Net = "tcp"
			res, _, err = tcp.ExchangeContext(ctx, m, srv)
		}
		if err == nil {
			break
		}
	}
	if err != nil {
		if cached && stale.err == nil {
			// No name server answers: the last answer, though expired,
			// beats none (RFC 8767 serve-stale); it is asked again next time.
			return stale.rrs, nil
		}
		return nil, fmt.Errorf("locate: %s %s: %w", dns.TypeToString[qtype], name, err)
	}
	switch res.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return nil, fmt.Errorf("locate: %s %s: name server answered %s", dns.TypeToString[qtype], name, dns.RcodeToString[res.Rcode])
	}
	var rrs []dns.RR
	ttl := MaxCacheTTL
	for _, rr := range res.Answer {
		if rr.Header().Rrtype != qtype {
			continue // the CNAMEs the server followed
		}
		rrs = append(rrs, rr)
		ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
	}
	var rerr error
	if len(rrs) == 0 {
		rerr = fmt.Errorf("locate: %s %s: %w", dns.TypeToString[qtype], name, ErrNotFound)
		ttl = negativeTTL(res)
	}
	r.mu.Lock()
	if len(r.cache) >= MaxCacheEntries {
		clear(r.cache)
	}
	r.cache[key] = cacheEntry{rrs: rrs, err: rerr, expires: r.now().Add(ttl)}
	r.mu.Unlock()
	return rrs, rerr
}

// negativeTTL is how long a "no such record" answer may be kept (RFC 2308:
// the SOA's minimum, bounded by the SOA's own TTL).
func negativeTTL(res *dns.Msg) time.Duration {
	for _, rr := range res.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(time.Duration(min(soa.Minttl, soa.Hdr.Ttl))*time.Second, MaxCacheTTL)
		}
	}
	return DefaultNegativeTTL
}

// addresses returns the IPv4 then IPv6 addresses of host.
func (r *Resolver) addresses(ctx context.Context, host string) ([]string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []string{ip.String()}, nil
	}
	var ips []string
	var errs []error
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		rrs, err := r.lookup(ctx, host, qt)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, rr := range rrs {
			switch a := rr.(type) {
			case *dns.A:
				ips = append(ips, a.A.String())
			case *dns.AAAA:
				ips = append(ips, a.AAAA.String())
			}
		}
	}
	if len(ips) == 0 {
		return nil, errors.Join(errs...)
	}
	return ips, nil
}
