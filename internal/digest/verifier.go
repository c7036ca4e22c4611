// Package digest verifies HTTP and SIP Digest credentials (RFC 2617 / RFC 7616
// with MD5 or SHA-256 and qop=auth, RFC 3261 §22) on the server side, from
// users' passwords or from their stored HA1 values.
//
// Both embedded servers use it: the XCAP server for HTTP and the SIP registrar
// and presence agent for REGISTER, PUBLISH and SUBSCRIBE. Nonces are issued by
// the Verifier, expire after a TTL, and each nonce-count may be used once, so a
// captured Authorization header cannot be replayed.
package digest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	icholy "github.com/icholy/digest"
)

// Errors returned by Verify. A caller answers all of them with a fresh
// challenge (401 or 407); ErrStale asks for stale=true in it.
var (
	ErrNoCredentials  = errors.New("digest: no credentials")
	ErrMalformed      = errors.New("digest: malformed credentials")
	ErrRealm          = errors.New("digest: wrong realm")
	ErrUnknownUser    = errors.New("digest: unknown user")
	ErrBadResponse    = errors.New("digest: wrong password")
	ErrStale          = errors.New("digest: stale nonce")
	ErrReplay         = errors.New("digest: nonce count replayed")
	ErrUnknownNonce   = errors.New("digest: nonce was not issued by this server")
	ErrUnsupportedAlg = errors.New("digest: unsupported algorithm")
	ErrURIMismatch    = errors.New("digest: credentials are for another URI")
)

// PasswordFunc returns the password of a user (the user part only, "alice"),
// and false when there is no such user.
type PasswordFunc func(user string) (password string, ok bool)

// Options configure a Verifier.
type Options struct {
	// Realm is sent in every challenge and required in every answer; sipbuddy
	// uses the SIP domain, as OpenXCAP and Kamailio do.
	Realm string
	// Password looks up users' passwords; HA1, when set, is used instead
	// (a store that keeps HA1 values, not passwords).
	Password PasswordFunc
	HA1      HA1Func
	// NonceTTL is how long an issued nonce is accepted. Default 5 minutes.
	NonceTTL time.Duration
	// MaxNonces bounds the nonce table; the oldest nonces are dropped first.
	// Default 10000.
	MaxNonces int
	// Now is the clock; tests may replace it. Default time.Now.
	Now func() time.Time
}

type nonceState struct {
	issued time.Time
	seen   map[int]struct{} // nonce counts already used
	maxNC  int
}

// Verifier issues challenges and checks the answers to them.
// It is safe for concurrent use.
type Verifier struct {
	opts   Options
	mu     sync.Mutex
	nonces map[string]*nonceState
	order  []string // issue order, for eviction
}

// NewVerifier returns a Verifier with defaults filled in.
func NewVerifier(opts Options) *Verifier {
	if opts.NonceTTL <= 0 {
		opts.NonceTTL = 5 * time.Minute
	}
	if opts.MaxNonces <= 0 {
		opts.MaxNonces = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{opts: opts, nonces: make(map[string]*nonceState)}
}

// Realm returns the realm the Verifier challenges with.
func (v *Verifier) Realm() string { return v.opts.Realm }

// Challenge issues a new nonce and returns the value for a WWW-Authenticate
// or Proxy-Authenticate header. stale marks a retry after an expired nonce,
// so that clients retry silently instead of asking the user again.
func (v *Verifier) Challenge(stale bool) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	now := v.opts.Now()

	v.mu.Lock()
	v.expireLocked(now)
	for len(v.order) >= v.opts.MaxNonces {
		delete(v.nonces, v.order[0])
		v.order = v.order[1:]
	}
	v.nonces[nonce] = &nonceState{issued: now, seen: make(map[int]struct{})}
	v.order = append(v.order, nonce)
	v.mu.Unlock()

	c := icholy.Challenge{
		Realm:     v.opts.Realm,
		Nonce:     nonce,
		Algorithm: "MD5",
		QOP:       []string{"auth"},
		Stale:     stale,
	}
	return c.String()
}

func (v *Verifier) expireLocked(now time.Time) {
	i := 0
	for ; i < len(v.order); i++ {
		st, ok := v.nonces[v.order[i]]
		if ok && now.Sub(st.issued) < v.opts.NonceTTL {
			break
		}
		delete(v.nonces, v.order[i])
	}
	v.order = v.order[i:]
}

// VerifyURI is Verify for HTTP, where the credentials must also name the
// request-target the request was sent to (RFC 7616 §3.4.6): an answer
// computed for one document cannot be used on another. requestURI is the
// target as it came on the request line (net/http's Request.RequestURI).
func (v *Verifier) VerifyURI(method, requestURI, header string) (string, error) {
	user, err := v.Verify(method, header)
	if err != nil {
		return "", err
	}
	cred, err := icholy.ParseCredentials(header)
	if err != nil || cred.URI != requestURI {
		return "", ErrURIMismatch
	}
	return user, nil
}

// Verify checks the value of an Authorization or Proxy-Authorization header
// for a request with the given method. It does not compare the digest URI
// with the request: SIP proxies and clients disagree on its form (Kamailio
// does not check it either), and the nonce count already stops replays. It returns the authenticated user
// part: a username given as "alice@example.test" is accepted when its domain
// is the realm, and is returned as "alice".
func (v *Verifier) Verify(method, header string) (string, error) {
	if header == "" {
		return "", ErrNoCredentials
	}
	if !icholy.IsDigest(header) {
		return "", ErrMalformed
	}
	cred, err := icholy.ParseCredentials(header)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if cred.Realm != v.opts.Realm {
		return "", ErrRealm
	}
	user, ok := UserPart(cred.Username, v.opts.Realm)
	if !ok {
		return "", ErrUnknownUser
	}
	want, ok, err := v.expectedResponse(cred, method, user)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrUnknownUser
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(cred.Response))) != 1 {
		return "", ErrBadResponse
	}

	// Only now touch the nonce table: a wrong password must not burn counts.
	now := v.opts.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	st, ok := v.nonces[cred.Nonce]
	if !ok {
		return "", ErrUnknownNonce
	}
	if now.Sub(st.issued) >= v.opts.NonceTTL {
		return "", ErrStale
	}
	nc := cred.Nc
	if cred.QOP == "" {
		nc = 0 // RFC 2069 style: the nonce is single-use
	}
	if _, dup := st.seen[nc]; dup {
		return "", ErrReplay
	}
	if len(st.seen) >= 1024 {
		return "", ErrStale // ask for a new nonce rather than grow without bound
	}
	st.seen[nc] = struct{}{}
	if nc > st.maxNC {
		st.maxNC = nc
	}
	return user, nil
}

func qopList(q string) []string {
	if q == "" {
		return nil
	}
	return []string{q}
}
