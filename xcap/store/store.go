// Package store keeps XCAP documents with their ETags, and the users allowed
// to write them, for the embedded XCAP server and the SIP presence server.
//
// The bbolt implementation (Open) keeps everything in one file: documents and
// ETags survive a restart, every write is committed with fsync before it
// returns, and Put/Delete check their ETag conditions in the same transaction
// as the write, so two concurrent conditional writers cannot both win.
package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors callers branch on.
var (
	// ErrNotFound: no document under that key.
	ErrNotFound = errors.New("store: document not found")
	// ErrPreconditionFailed: an If-Match / If-None-Match condition did not hold.
	ErrPreconditionFailed = errors.New("store: precondition failed")
	// ErrInvalidKey: the key cannot name a document (empty parts, NUL bytes).
	ErrInvalidKey = errors.New("store: invalid key")
	// ErrInvalidUser: a user name that cannot be stored.
	ErrInvalidUser = errors.New("store: invalid user name")
)

// Key names one document.
type Key struct {
	AUID   string // "resource-lists", "org.openmobilealliance.pres-content", ...
	Global bool   // global tree (then User is empty)
	User   string // XUI in canonical form "sip:alice@example.test"
	Path   string // document path below the user's folder: "index", "oma_status-icon/index"
}

// String returns the key as the document selector it stands for.
func (k Key) String() string {
	if k.Global {
		return k.AUID + "/global/" + k.Path
	}
	return k.AUID + "/users/" + k.User + "/" + k.Path
}

// Validate reports whether k can name a stored document.
func (k Key) Validate() error {
	bad := func(s string) bool { return strings.IndexByte(s, 0) >= 0 }
	switch {
	case k.AUID == "" || bad(k.AUID) || strings.Contains(k.AUID, "/"):
		return fmt.Errorf("%w: AUID %q", ErrInvalidKey, k.AUID)
	case k.Path == "" || bad(k.Path):
		return fmt.Errorf("%w: path %q", ErrInvalidKey, k.Path)
	case k.Global && k.User != "":
		return fmt.Errorf("%w: global key with user %q", ErrInvalidKey, k.User)
	case !k.Global && (k.User == "" || bad(k.User)):
		return fmt.Errorf("%w: user %q", ErrInvalidKey, k.User)
	}
	return nil
}

// Document is a stored document.
type Document struct {
	Body     []byte
	ETag     string // unquoted
	Modified time.Time
}

// Entry describes one stored document without its body (for directories).
type Entry struct {
	Key      Key
	ETag     string
	Size     int
	Modified time.Time
}

// Condition is an HTTP precondition on a write. Each field is empty (no
// condition), "*", or one or more unquoted ETags separated by commas.
type Condition struct {
	IfMatch, IfNoneMatch string
}

// Check reports whether the condition holds for a document that exists with
// the given ETag (exists=false: no document).
func (c Condition) Check(exists bool, etag string) bool {
	if c.IfMatch != "" {
		if !exists {
			return false
		}
		if c.IfMatch != "*" && !listHas(c.IfMatch, etag) {
			return false
		}
	}
	if c.IfNoneMatch != "" && exists {
		if c.IfNoneMatch == "*" || listHas(c.IfNoneMatch, etag) {
			return false
		}
	}
	return true
}

func listHas(list, etag string) bool {
	for item := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(item) == etag {
			return true
		}
	}
	return false
}

// Store is the document and user store.
type Store interface {
	Get(k Key) (Document, error)
	// Put stores body under k if c holds, atomically, and returns the new
	// ETag and whether the document was created. Durable on return.
	Put(k Key, body []byte, c Condition) (etag string, created bool, err error)
	// Delete removes the document if c holds. ErrNotFound if absent.
	Delete(k Key, c Condition) error
	// List returns every document of one XUI, ordered by AUID then path.
	List(user string) ([]Entry, error)
	// SetPassword creates or updates a user (user part, "alice").
	SetPassword(user, password string) error
	Password(user string) (string, bool)
	Users() ([]string, error)
	// DeleteUser removes a user's credentials (their documents stay);
	// ErrNotFound if there is no such user.
	DeleteUser(user string) error
	Close() error
}
