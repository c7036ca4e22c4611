package header

import (
	"strconv"
	"strings"
)

// Subscription states (RFC 6665 §8.2.3). Extension values are kept as
// written (lower-cased); RFC 6665 says to treat an unknown one like active,
// which is the caller's decision.
const (
	StateActive     = "active"
	StatePending    = "pending"
	StateTerminated = "terminated"
)

// Termination reasons (RFC 6665 §4.2.2 and §8.2.3).
const (
	ReasonDeactivated = "deactivated"
	ReasonProbation   = "probation"
	ReasonRejected    = "rejected"
	ReasonTimeout     = "timeout"
	ReasonGiveUp      = "giveup"
	ReasonNoResource  = "noresource"
	ReasonInvariant   = "invariant"
)

// MaxDeltaSeconds is the largest delta-seconds value kept; RFC 3261 §20.19
// lets larger values be treated as this one (2**32-1).
const MaxDeltaSeconds = 1<<32 - 1

// SubscriptionState is the value of a Subscription-State header.
type SubscriptionState struct {
	// State is "active", "pending", "terminated" or an extension token,
	// lower-cased.
	State string
	// Reason is the lower-cased "reason" parameter, "" when absent.
	Reason string
	// Expires and RetryAfter are in seconds, -1 when absent.
	Expires, RetryAfter int
	// Params holds any other parameters by lower-cased name (flags have the
	// value ""). Nil when there are none.
	Params map[string]string
}

// ParseSubscriptionState parses a value such as
// "terminated;reason=probation;retry-after=30".
func ParseSubscriptionState(s string) (SubscriptionState, error) {
	if err := checkLen(s); err != nil {
		return SubscriptionState{}, err
	}
	sc := &scanner{s: s}
	sc.skipLWS()
	state := sc.token()
	if state == "" {
		return SubscriptionState{}, syntaxErr("missing subscription state in %q", s)
	}
	ps, err := sc.params()
	if err != nil {
		return SubscriptionState{}, err
	}
	ss := SubscriptionState{State: strings.ToLower(state), Expires: -1, RetryAfter: -1}
	for _, p := range ps {
		switch p.name {
		case "reason":
			if !isToken(p.value) {
				return SubscriptionState{}, syntaxErr("reason must be a token, got %q", p.value)
			}
			ss.Reason = strings.ToLower(p.value)
		case "expires":
			if ss.Expires, err = parseDelta(p); err != nil {
				return SubscriptionState{}, err
			}
		case "retry-after":
			if ss.RetryAfter, err = parseDelta(p); err != nil {
				return SubscriptionState{}, err
			}
		default:
			if ss.Params == nil {
				ss.Params = make(map[string]string, len(ps))
			}
			ss.Params[p.name] = p.value
		}
	}
	return ss, nil
}

// parseDelta reads delta-seconds (1*DIGIT). Signs, spaces inside, hex or
// fractions are errors: a guessed expiry is worse than a rejected NOTIFY.
func parseDelta(p param) (int, error) {
	v := p.value
	if v == "" || p.quoted {
		return 0, syntaxErr("%s: missing value", p.name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, syntaxErr("%s: %q is not delta-seconds", p.name, v)
		}
	}
	trimmed := strings.TrimLeft(v, "0")
	if trimmed == "" {
		return 0, nil
	}
	if len(trimmed) > 10 { // more than 2**32-1 whatever the digits
		return MaxDeltaSeconds, nil
	}
	n, err := strconv.ParseUint(trimmed, 10, 64)
	if err != nil || n > MaxDeltaSeconds {
		return MaxDeltaSeconds, nil
	}
	return int(n), nil
}

// String formats the value canonically: state, reason, expires,
// retry-after, then other parameters sorted by name.
func (s SubscriptionState) String() string {
	var b strings.Builder
	b.WriteString(s.State)
	if s.Reason != "" {
		writeParam(&b, "reason", s.Reason)
	}
	if s.Expires >= 0 {
		b.WriteString(";expires=")
		b.WriteString(strconv.Itoa(s.Expires))
	}
	if s.RetryAfter >= 0 {
		b.WriteString(";retry-after=")
		b.WriteString(strconv.Itoa(s.RetryAfter))
	}
	writeParams(&b, s.Params)
	return b.String()
}

// IsActive reports whether the subscription is active.
func (s SubscriptionState) IsActive() bool { return s.State == StateActive }

// IsPending reports whether the subscription awaits authorization.
func (s SubscriptionState) IsPending() bool { return s.State == StatePending }

// IsTerminated reports whether the subscription has ended.
func (s SubscriptionState) IsTerminated() bool { return s.State == StateTerminated }
