package store

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

func openTemp(t *testing.T) (*Bolt, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xcap.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

var alice = Key{AUID: "resource-lists", User: "sip:alice@example.test", Path: "index"}

func TestPutGetConditions(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := s.Get(alice); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of missing doc: %v", err)
	}
	if _, _, err := s.Put(alice, []byte("x"), Condition{IfMatch: "*"}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("If-Match * on missing doc: %v", err)
	}
	e1, created, err := s.Put(alice, []byte("<a/>"), Condition{IfNoneMatch: "*"})
	if err != nil || !created || len(e1) != 32 {
		t.Fatalf("create: etag %q created %v err %v", e1, created, err)
	}
	if _, _, err := s.Put(alice, []byte("x"), Condition{IfNoneMatch: "*"}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("If-None-Match * on existing doc: %v", err)
	}
	if _, _, err := s.Put(alice, []byte("x"), Condition{IfMatch: "nope"}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("If-Match mismatch: %v", err)
	}
	if _, _, err := s.Put(alice, []byte("x"), Condition{IfNoneMatch: "a, " + e1}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("If-None-Match list containing current etag: %v", err)
	}
	e2, created, err := s.Put(alice, []byte("<b/>"), Condition{IfMatch: "zzz, " + e1})
	if err != nil || created || e2 == e1 {
		t.Fatalf("replace: etag %q (old %q) created %v err %v", e2, e1, created, err)
	}
	d, err := s.Get(alice)
	if err != nil || string(d.Body) != "<b/>" || d.ETag != e2 || d.Modified.IsZero() {
		t.Fatalf("Get after replace: %+v %v", d, err)
	}
	if et, err := s.ETag(alice); err != nil || et != e2 {
		t.Fatalf("ETag: %q %v", et, err)
	}
	if err := s.Delete(alice, Condition{IfMatch: e1}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("Delete with stale etag: %v", err)
	}
	if err := s.Delete(alice, Condition{IfMatch: e2}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(alice, Condition{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete of missing doc: %v", err)
	}
	if err := s.Delete(alice, Condition{IfMatch: "*"}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("Delete If-Match * of missing doc: %v", err)
	}
}

func TestInvalidKeys(t *testing.T) {
	s, _ := openTemp(t)
	for _, k := range []Key{
		{AUID: "", User: "u", Path: "index"},
		{AUID: "a", User: "", Path: "index"},
		{AUID: "a", User: "u", Path: ""},
		{AUID: "a", Global: true, User: "u", Path: "index"},
		{AUID: "a", User: "u\x00v", Path: "index"},
	} {
		if _, _, err := s.Put(k, []byte("x"), Condition{}); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put %+v: %v", k, err)
		}
	}
	if err := s.SetPassword("a@b", "x"); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("SetPassword a@b: %v", err)
	}
}

func TestListAndGlobal(t *testing.T) {
	s, _ := openTemp(t)
	bobIcon := Key{AUID: "org.openmobilealliance.pres-content", User: "sip:bob@example.test", Path: "oma_status-icon/index"}
	aliceIcon := Key{AUID: "org.openmobilealliance.pres-content", User: "sip:alice@example.test", Path: "oma_status-icon/index"}
	// A user whose name is a prefix of another must not see the other's docs.
	aliceX := Key{AUID: "resource-lists", User: "sip:alice@example.test.evil", Path: "index"}
	global := Key{AUID: "rls-services", Global: true, Path: "index"}
	for _, k := range []Key{alice, bobIcon, aliceIcon, aliceX, global} {
		if _, _, err := s.Put(k, []byte(k.String()), Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List("sip:alice@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Key != aliceIcon || list[1].Key != alice || list[1].Size != len(alice.String()) {
		t.Fatalf("List = %+v", list)
	}
	d, err := s.Get(global)
	if err != nil || string(d.Body) != global.String() {
		t.Fatalf("global Get: %v", err)
	}
}

func TestRestartKeepsDocumentsETagsAndUsers(t *testing.T) {
	s, path := openTemp(t)
	etag, _, err := s.Put(alice, []byte("<resource-lists/>"), Condition{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword("alice", "secret"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword("bob", "pw"); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get(alice)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	d, err := s2.Get(alice)
	if err != nil || d.ETag != etag || string(d.Body) != "<resource-lists/>" || !d.Modified.Equal(before.Modified) {
		t.Fatalf("after reopen: %+v %v (want etag %s)", d, err, etag)
	}
	if pw, ok := s2.Password("alice"); !ok || pw != "secret" {
		t.Fatalf("password after reopen: %q %v", pw, ok)
	}
	if _, ok := s2.Password("carol"); ok {
		t.Fatal("unknown user has a password")
	}
	users, err := s2.Users()
	if err != nil || len(users) != 2 || users[0] != "alice" || users[1] != "bob" {
		t.Fatalf("Users = %v %v", users, err)
	}
}

// Many writers race to create the same document with If-None-Match: * and
// then to replace it with If-Match: exactly one must win each round.
func TestConcurrentCheckAndSet(t *testing.T) {
	s, _ := openTemp(t)
	const writers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, fails := 0, 0
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Put(alice, []byte("x"), Condition{IfNoneMatch: "*"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrPreconditionFailed):
				fails++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || fails != writers-1 {
		t.Fatalf("create race: %d wins, %d precondition failures", wins, fails)
	}

	d, _ := s.Get(alice)
	wins, fails = 0, 0
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Put(alice, []byte("y"), Condition{IfMatch: d.ETag})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else if errors.Is(err, ErrPreconditionFailed) {
				fails++
			}
		}()
	}
	wg.Wait()
	if wins != 1 || fails != writers-1 {
		t.Fatalf("replace race: %d wins, %d precondition failures", wins, fails)
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the lock timeout")
	}
	_, path := openTemp(t)
	// bbolt's flock is per open file description, so a second Open in the
	// same process also waits for the lock.
	if s2, err := Open(path); err == nil {
		s2.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
}
