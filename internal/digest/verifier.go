// Package digest verifies HTTP and SIP Digest credentials (RFC 2617 / RFC 7616
// with MD5 or SHA-256 and qop=auth, RFC 3261 §22) on the server side, from
// users' passwords or from their stored HA1 values.
//
// Both embedded servers use it: the XCAP server for HTTP and the SIP registrar
// and presence agent for REGISTER, PUBLISH and SUBSCRIBE.
//
// Nonces are stateless: a nonce carries its issue time and an HMAC of it
// under a secret, so issuing one stores nothing and a flood of
// unauthenticated requests cannot push a real client's nonce out of a
// table. A nonce expires after a TTL. Only a request that proved its
// password is remembered, in a bounded table of nonces with a small window
// of nonce-counts each, so a captured Authorization header cannot be
// replayed.
package digest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
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

// Defaults and bounds of a Verifier.
const (
	// DefaultNonceTTL is how long a nonce is accepted.
	DefaultNonceTTL = 5 * time.Minute
	// DefaultMaxTrackedNonces bounds the nonces whose counts are
	// remembered. Only authenticated requests add to it; when it is full,
	// the nonce issued first is dropped and every nonce issued up to then
	// becomes stale (the client gets a fresh one without asking its user).
	DefaultMaxTrackedNonces = 4096
	// ReplayWindow is how many nonce-counts below the highest one seen
	// are still accepted once each: requests sent in parallel may arrive
	// out of order. Older counts are refused as replays.
	ReplayWindow = 64
	// NonceSecretBytes is the size of the random secret a Verifier makes
	// when Options.NonceSecret is empty.
	NonceSecretBytes = 32
)

// Options configure a Verifier.
type Options struct {
	// Realm is sent in every challenge and required in every answer; sipbuddy
	// uses the SIP domain, as OpenXCAP and Kamailio do.
	Realm string
	// Password looks up users' passwords; HA1, when set, is used instead
	// (a store that keeps HA1 values, not passwords).
	Password PasswordFunc
	HA1      HA1Func
	// NonceTTL is how long an issued nonce is accepted. Default
	// DefaultNonceTTL.
	NonceTTL time.Duration
	// NonceSecret keys the HMAC that makes nonces unforgeable. Servers
	// that share it (several XCAP nodes behind one name) accept each
	// other's nonces; each still remembers only the counts it saw, so a
	// replay to another node is stopped by the TTL alone. Empty: a random
	// secret per Verifier, so nonces die with the process.
	NonceSecret []byte
	// MaxTrackedNonces bounds the table of used nonces. Default
	// DefaultMaxTrackedNonces.
	MaxTrackedNonces int
	// Now is the clock; tests may replace it. Default time.Now.
	Now func() time.Time
}

// ncWindow is what is remembered of a nonce that authenticated a request:
// the highest nonce-count and which of the ReplayWindow counts below it
// were used (bit i: maxNC-i).
type ncWindow struct {
	issued time.Time
	maxNC  uint64
	seen   uint64
}

// Verifier issues challenges and checks the answers to them.
// It is safe for concurrent use.
type Verifier struct {
	opts   Options
	secret []byte

	mu   sync.Mutex
	used map[string]*ncWindow // nonce → counts seen
	// floor is the issue time of the newest nonce dropped from used:
	// nonces issued up to then are stale, as their counts are forgotten.
	floor time.Time
}

// NewVerifier returns a Verifier with defaults filled in.
func NewVerifier(opts Options) *Verifier {
	if opts.NonceTTL <= 0 {
		opts.NonceTTL = DefaultNonceTTL
	}
	if opts.MaxTrackedNonces <= 0 {
		opts.MaxTrackedNonces = DefaultMaxTrackedNonces
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	secret := opts.NonceSecret
	if len(secret) == 0 {
		secret = make([]byte, NonceSecretBytes)
		_, _ = rand.Read(secret)
	}
	return &Verifier{opts: opts, secret: bytes.Clone(secret), used: make(map[string]*ncWindow)}
}

// Realm returns the realm the Verifier challenges with.
func (v *Verifier) Realm() string { return v.opts.Realm }

// Challenge issues a new nonce and returns the value for a WWW-Authenticate
// or Proxy-Authenticate header. stale marks a retry after an expired nonce,
// so that clients retry silently instead of asking the user again. It
// stores nothing.
func (v *Verifier) Challenge(stale bool) string {
	c := icholy.Challenge{
		Realm:     v.opts.Realm,
		Nonce:     v.newNonce(v.opts.Now()),
		Algorithm: "MD5",
		QOP:       []string{"auth"},
		Stale:     stale,
	}
	return c.String()
}

// A nonce is base64url(issue time in Unix milliseconds (6 bytes) | random
// (6 bytes) | HMAC-SHA256(secret, realm | the first 12 bytes), cut to 12):
// 32 characters, as long as the random nonces before it, because SIP over
// UDP has no byte to spare.
const (
	nonceStampBytes = 6
	nonceRandBytes  = 6
	nonceMACBytes   = 12
	nonceBytes      = nonceStampBytes + nonceRandBytes + nonceMACBytes
)

func (v *Verifier) newNonce(now time.Time) string {
	var b [nonceBytes]byte
	var stamp [8]byte
	binary.BigEndian.PutUint64(stamp[:], uint64(now.UnixMilli()))
	copy(b[:nonceStampBytes], stamp[8-nonceStampBytes:])
	_, _ = rand.Read(b[nonceStampBytes : nonceStampBytes+nonceRandBytes])
	copy(b[nonceStampBytes+nonceRandBytes:], v.mac(b[:nonceStampBytes+nonceRandBytes]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (v *Verifier) mac(head []byte) []byte {
	m := hmac.New(sha256.New, v.secret)
	m.Write([]byte(v.opts.Realm))
	m.Write([]byte{0})
	m.Write(head)
	return m.Sum(nil)[:nonceMACBytes]
}

// nonceIssued checks that nonce was issued with this Verifier's secret and
// returns when.
func (v *Verifier) nonceIssued(nonce string) (time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != nonceBytes {
		return time.Time{}, false
	}
	head := b[:nonceStampBytes+nonceRandBytes]
	if !hmac.Equal(b[nonceStampBytes+nonceRandBytes:], v.mac(head)) {
		return time.Time{}, false
	}
	var stamp [8]byte
	copy(stamp[8-nonceStampBytes:], head[:nonceStampBytes])
	return time.UnixMilli(int64(binary.BigEndian.Uint64(stamp[:]))), true
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

	// Only now touch the nonce table: a wrong password must not burn
	// counts, and an unauthenticated request must not add anything.
	issued, ok := v.nonceIssued(cred.Nonce)
	if !ok {
		return "", ErrUnknownNonce
	}
	now := v.opts.Now()
	if age := now.Sub(issued); age >= v.opts.NonceTTL || age <= -v.opts.NonceTTL {
		return "", ErrStale
	}
	nc := uint64(cred.Nc)
	if cred.QOP == "" {
		nc = 0 // RFC 2069 style: the nonce is single-use
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	w, ok := v.used[cred.Nonce]
	if !ok {
		if !issued.After(v.floor) {
			return "", ErrStale // its counts were forgotten: it may have been used
		}
		v.makeRoomLocked(now)
		v.used[cred.Nonce] = &ncWindow{issued: issued, maxNC: nc, seen: 1}
		return user, nil
	}
	if err := w.use(nc); err != nil {
		return "", err
	}
	return user, nil
}

// use records nonce-count nc, refusing one seen before or older than the
// window.
func (w *ncWindow) use(nc uint64) error {
	if nc > w.maxNC {
		shift := nc - w.maxNC
		if shift >= ReplayWindow {
			w.seen = 0
		} else {
			w.seen <<= shift
		}
		w.seen |= 1
		w.maxNC = nc
		return nil
	}
	back := w.maxNC - nc
	if back >= ReplayWindow || w.seen&(1<<back) != 0 {
		return ErrReplay
	}
	w.seen |= 1 << back
	return nil
}

// makeRoomLocked keeps the table below MaxTrackedNonces: expired nonces go
// first (they are stale anyway), then the one issued first.
func (v *Verifier) makeRoomLocked(now time.Time) {
	if len(v.used) < v.opts.MaxTrackedNonces {
		return
	}
	for n, w := range v.used {
		if now.Sub(w.issued) >= v.opts.NonceTTL {
			delete(v.used, n)
		}
	}
	for len(v.used) >= v.opts.MaxTrackedNonces {
		var oldest string
		var at time.Time
		for n, w := range v.used {
			if oldest == "" || w.issued.Before(at) {
				oldest, at = n, w.issued
			}
		}
		delete(v.used, oldest)
		if at.After(v.floor) {
			v.floor = at
		}
	}
}

func qopList(q string) []string {
	if q == "" {
		return nil
	}
	return []string{q}
}
