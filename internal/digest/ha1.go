package digest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	icholy "github.com/icholy/digest"
)

// Digest algorithms the Verifier accepts in credentials (RFC 7616 §3.3):
// the HA1 a store keeps is computed with one of them.
const (
	MD5    = "MD5"
	SHA256 = "SHA-256"
)

// Algorithms lists the accepted algorithms; a store that keeps HA1 values
// keeps one for each.
var Algorithms = []string{MD5, SHA256}

// HA1Func returns the hex H(username:realm:password) for one of
// Algorithms, where username is the exact name the client hashed: the
// user part ("alice") or the user at the realm ("alice@example.test", what
// Kamailio's ha1b column keeps); false when there is no such user. It lets
// a store keep HA1 values instead of passwords.
type HA1Func func(username, realm, algorithm string) (ha1 string, ok bool)

// UserPart returns the user part of a digest username: "alice" for
// "alice", "sip:alice" and "alice@realm"; false for a user at another
// domain.
func UserPart(username, realm string) (string, bool) {
	user := username
	if at := strings.LastIndexByte(user, '@'); at >= 0 {
		if !strings.EqualFold(user[at+1:], realm) {
			return "", false
		}
		user = user[:at]
	}
	return strings.TrimPrefix(user, "sip:"), true
}

// HA1 computes the hex H(username:realm:password) for algorithm (MD5 or
// SHA-256).
func HA1(algorithm, username, realm, password string) (string, error) {
	h, err := newHash(algorithm)
	if err != nil {
		return "", err
	}
	h.Write([]byte(username + ":" + realm + ":" + password))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func newHash(algorithm string) (hash.Hash, error) {
	switch strings.ToUpper(algorithm) {
	case "", MD5:
		return md5.New(), nil
	case SHA256:
		return sha256.New(), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlg, algorithm)
}

func hexHash(h hash.Hash, s string) string {
	h.Reset()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// expectedResponse computes the response the credentials must carry for
// user (RFC 7616 §3.4.1, qop=auth or none), from the user's HA1: looked up
// with Options.HA1, or computed from Options.Password with the exact
// username string the client hashed. ok is false for an unknown user.
func (v *Verifier) expectedResponse(cred *icholy.Credentials, method, user string) (response string, ok bool, err error) {
	alg := strings.ToUpper(cred.Algorithm)
	if alg == "" {
		alg = MD5
	}
	h, err := newHash(alg)
	if err != nil {
		return "", false, err
	}
	var ha1 string
	switch {
	case v.opts.HA1 != nil:
		if ha1, ok = v.opts.HA1(cred.Username, cred.Realm, alg); !ok {
			return "", false, nil
		}
	case v.opts.Password != nil:
		var pw string
		if pw, ok = v.opts.Password(user); !ok {
			return "", false, nil
		}
		ha1 = hexHash(h, cred.Username+":"+cred.Realm+":"+pw)
	default:
		return "", false, nil
	}
	ha2 := hexHash(h, method+":"+cred.URI)
	switch cred.QOP {
	case "":
		return hexHash(h, ha1+":"+cred.Nonce+":"+ha2), true, nil
	case "auth":
		return hexHash(h, fmt.Sprintf("%s:%s:%08x:%s:%s:%s", ha1, cred.Nonce, cred.Nc, cred.Cnonce, cred.QOP, ha2)), true, nil
	}
	return "", true, fmt.Errorf("%w: qop %q", ErrMalformed, cred.QOP)
}
