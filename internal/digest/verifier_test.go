package digest

import (
	"errors"
	"strings"
	"testing"
	"time"

	icholy "github.com/icholy/digest"
)

func answer(t *testing.T, challenge, method, uri, user, pw string, nc int) string {
	t.Helper()
	chal, err := icholy.ParseChallenge(challenge)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := icholy.Digest(chal, icholy.Options{Method: method, URI: uri, Username: user, Password: pw, Count: nc})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

func newTestVerifier(now *time.Time) *Verifier {
	return NewVerifier(Options{
		Realm: "example.test",
		Password: func(u string) (string, bool) {
			if u == "alice" {
				return "secret", true
			}
			return "", false
		},
		NonceTTL: time.Minute,
		Now:      func() time.Time { return *now },
	})
}

func TestVerify(t *testing.T) {
	now := time.Unix(1000, 0)
	v := newTestVerifier(&now)
	ch := v.Challenge(false)

	if u, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", 1)); err != nil || u != "alice" {
		t.Fatalf("good credentials: user %q err %v", u, err)
	}
	if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", 1)); !errors.Is(err, ErrReplay) {
		t.Fatalf("replayed nc: %v, want ErrReplay", err)
	}
	if u, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice@example.test", "secret", 2)); err != nil || u != "alice" {
		t.Fatalf("user@domain: user %q err %v", u, err)
	}
	if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "wrong", 3)); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "bob", "secret", 4)); !errors.Is(err, ErrUnknownUser) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := v.Verify("PUT", answer(t, ch, "GET", "/x", "alice", "secret", 5)); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("method mismatch: %v", err)
	}
	if _, err := v.Verify("GET", ""); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("empty header: %v", err)
	}
	if _, err := v.Verify("GET", "Basic YWxpY2U6c2VjcmV0"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("basic: %v", err)
	}
	other := NewVerifier(Options{Realm: "example.test", Password: func(string) (string, bool) { return "secret", true }})
	if _, err := v.Verify("GET", answer(t, other.Challenge(false), "GET", "/x", "alice", "secret", 1)); !errors.Is(err, ErrUnknownNonce) {
		t.Fatalf("foreign nonce: %v", err)
	}

	now = now.Add(2 * time.Minute)
	if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", 9)); err == nil {
		t.Fatal("expired nonce accepted")
	}
}

func TestUsedNonceTableIsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	v := newTestVerifier(&now)
	v.opts.MaxTrackedNonces = 3
	var nonces []string
	for range 5 {
		now = now.Add(time.Second) // each issued after the one before
		ch := v.Challenge(false)
		nonces = append(nonces, ch)
		if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", 1)); err != nil {
			t.Fatal(err)
		}
	}
	if len(v.used) != 3 {
		t.Fatalf("the table holds %d nonces, want 3", len(v.used))
	}
	// The dropped nonces' counts are forgotten: they must not be taken as
	// new, or nc=1 could be replayed.
	for _, ch := range nonces[:2] {
		if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", 1)); !errors.Is(err, ErrStale) {
			t.Fatalf("replay on a dropped nonce: %v, want ErrStale", err)
		}
	}
	if _, err := v.Verify("GET", answer(t, nonces[4], "GET", "/x", "alice", "secret", 2)); err != nil {
		t.Fatalf("the newest nonce: %v", err)
	}
}

// TestUnauthenticatedFloodKeepsClientNonce is the probe: a flood of
// challenges and wrong answers must not cost a logged-in client its nonce.
func TestUnauthenticatedFloodKeepsClientNonce(t *testing.T) {
	v := NewVerifier(Options{Realm: "example.test", Password: func(u string) (string, bool) { return "secret", u == "alice" }})
	ch := v.Challenge(false)
	if _, err := v.Verify("REGISTER", answer(t, ch, "REGISTER", "sip:example.test", "alice", "secret", 1)); err != nil {
		t.Fatal(err)
	}
	const flood = 100_000
	for i := range flood {
		other := v.Challenge(false)
		if i%10 == 0 { // some of them answer, wrongly
			h := answer(t, other, "REGISTER", "sip:example.test", "mallory", "guess", 1)
			if _, err := v.Verify("REGISTER", h); err == nil {
				t.Fatal("mallory got in")
			}
		}
	}
	if _, err := v.Verify("REGISTER", answer(t, ch, "REGISTER", "sip:example.test", "alice", "secret", 2)); err != nil {
		t.Fatalf("alice after %d unauthenticated challenges: %v", flood, err)
	}
	if len(v.used) != 1 {
		t.Errorf("the flood left %d nonces in the table, want alice's only", len(v.used))
	}
}

func TestReplayWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	v := newTestVerifier(&now)
	ch := v.Challenge(false)
	use := func(nc int) error {
		_, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", nc))
		return err
	}
	for _, nc := range []int{5, 3, 4, 1, 100} { // out of order, as parallel requests arrive
		if err := use(nc); err != nil {
			t.Fatalf("nc %d: %v", nc, err)
		}
	}
	for _, nc := range []int{3, 100, 100 - ReplayWindow, 2} {
		if err := use(nc); !errors.Is(err, ErrReplay) {
			t.Errorf("nc %d: %v, want ErrReplay", nc, err)
		}
	}
	if err := use(100 - ReplayWindow + 1); err != nil {
		t.Errorf("the oldest count in the window: %v", err)
	}
}

func TestSharedNonceSecret(t *testing.T) {
	pw := func(string) (string, bool) { return "secret", true }
	secret := []byte("one secret for every XCAP node")
	a := NewVerifier(Options{Realm: "example.test", Password: pw, NonceSecret: secret})
	b := NewVerifier(Options{Realm: "example.test", Password: pw, NonceSecret: secret})
	c := NewVerifier(Options{Realm: "example.test", Password: pw})
	ch := a.Challenge(false)
	if _, err := b.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", 1)); err != nil {
		t.Fatalf("a node with the same secret: %v", err)
	}
	if _, err := c.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", 1)); !errors.Is(err, ErrUnknownNonce) {
		t.Fatalf("a node with its own secret: %v, want ErrUnknownNonce", err)
	}
	other := NewVerifier(Options{Realm: "other.test", Password: pw, NonceSecret: secret})
	chOther := other.Challenge(false)
	forged := strings.Replace(chOther, `realm="other.test"`, `realm="example.test"`, 1)
	if _, err := a.Verify("GET", answer(t, forged, "GET", "/x", "alice", "secret", 1)); !errors.Is(err, ErrUnknownNonce) {
		t.Fatalf("another realm's nonce: %v, want ErrUnknownNonce", err)
	}
	// A nonce with a changed time stamp fails its MAC.
	chal, _ := icholy.ParseChallenge(ch)
	raw := []byte(chal.Nonce)
	raw[3] ^= 1
	chal.Nonce = string(raw)
	if _, err := a.Verify("GET", answer(t, chal.String(), "GET", "/x", "alice", "secret", 1)); !errors.Is(err, ErrUnknownNonce) {
		t.Fatalf("tampered nonce: %v, want ErrUnknownNonce", err)
	}
}

func TestChallengeStoresNothing(t *testing.T) {
	now := time.Unix(1000, 0)
	v := newTestVerifier(&now)
	for range 1000 {
		v.Challenge(false)
	}
	if len(v.used) != 0 {
		t.Fatalf("1000 challenges left %d entries", len(v.used))
	}
}

func TestVerifyURI(t *testing.T) {
	now := time.Unix(1000, 0)
	v := newTestVerifier(&now)
	ch := v.Challenge(false)
	const doc = "/xcap-root/resource-lists/users/sip:alice@example.test/index"
	if _, err := v.VerifyURI("GET", doc, answer(t, ch, "GET", doc, "alice", "secret", 1)); err != nil {
		t.Fatalf("matching URI: %v", err)
	}
	other := "/xcap-root/pres-rules/users/sip:alice@example.test/index"
	if _, err := v.VerifyURI("PUT", other, answer(t, ch, "PUT", doc, "alice", "secret", 2)); !errors.Is(err, ErrURIMismatch) {
		t.Fatalf("credentials for %s used on %s: %v, want ErrURIMismatch", doc, other, err)
	}
}

// TestVerifyHA1 checks a verifier over a store that keeps only HA1 values,
// for both algorithms: the right password passes, a wrong one, another
// algorithm's HA1 and a user name the store has no HA1 of do not.
func TestVerifyHA1(t *testing.T) {
	stored := map[string]string{}
	for _, alg := range Algorithms {
		ha1, err := HA1(alg, "alice", "example.test", "secret")
		if err != nil {
			t.Fatal(err)
		}
		stored[alg] = ha1
	}
	// As computed by Python's hashlib: H("alice:example.test:secret").
	if stored[MD5] != "4842575394a190ef4c973253ba19099c" {
		t.Fatalf("MD5 HA1 %q", stored[MD5])
	}
	if stored[SHA256] != "cc0140d97f2b011fee9f86aa26b63fc472268267b652dcea0675e15d9da92468" {
		t.Fatalf("SHA-256 HA1 %q", stored[SHA256])
	}
	v := NewVerifier(Options{
		Realm: "example.test",
		HA1: func(username, realm, alg string) (string, bool) {
			if username != "alice" || realm != "example.test" {
				return "", false // this store keeps no HA1 of "alice@example.test"
			}
			ha1, ok := stored[alg]
			return ha1, ok
		},
	})
	for i, alg := range Algorithms {
		ch := strings.Replace(v.Challenge(false), "algorithm=MD5", "algorithm="+alg, 1)
		if u, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", 1)); err != nil || u != "alice" {
			t.Errorf("%s: user %q err %v", alg, u, err)
		}
		if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "wrong", 2)); !errors.Is(err, ErrBadResponse) {
			t.Errorf("%s wrong password: %v", alg, err)
		}
		if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice@example.test", "secret", 3)); !errors.Is(err, ErrUnknownUser) {
			t.Errorf("%s decorated user name: %v", alg, err)
		}
		if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "bob", "secret", 4)); !errors.Is(err, ErrUnknownUser) {
			t.Errorf("%s unknown user: %v", alg, err)
		}
		// The other algorithm's HA1 does not verify this one's answer.
		other := Algorithms[1-i]
		saved := stored[alg]
		stored[alg] = stored[other]
		if _, err := v.Verify("GET", answer(t, ch, "GET", "/x", "alice", "secret", 5)); !errors.Is(err, ErrBadResponse) {
			t.Errorf("%s answer against the %s HA1: %v", alg, other, err)
		}
		stored[alg] = saved
	}
	if _, err := HA1("SHA-512", "alice", "example.test", "secret"); !errors.Is(err, ErrUnsupportedAlg) {
		t.Errorf("HA1 SHA-512: %v", err)
	}
}
