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

func TestChallengeBoundsNonceTable(t *testing.T) {
	now := time.Unix(1000, 0)
	v := newTestVerifier(&now)
	v.opts.MaxNonces = 3
	for range 10 {
		v.Challenge(false)
	}
	if len(v.nonces) != 3 || len(v.order) != 3 {
		t.Fatalf("nonce table holds %d/%d, want 3", len(v.nonces), len(v.order))
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
