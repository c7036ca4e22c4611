// Package storetest opens fresh document stores of every kind for tests,
// so that one test suite runs against bbolt and PostgreSQL alike.
package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sipbuddy/sipbuddy/internal/testtool"
	"github.com/sipbuddy/sipbuddy/xcap/store"
	"github.com/sipbuddy/sipbuddy/xcap/store/pgstore"
)

// Kinds of store.
const (
	Bolt     = "bbolt"
	Postgres = "postgres"
)

// openTimeout bounds opening a store (connecting and migrating).
const openTimeout = 30 * time.Second

// Kinds returns the kinds of store this machine can test: bbolt always,
// PostgreSQL when testtool.PostgresEnv is set, or when testtool.RequireEnv
// is (then its tests fail, saying why).
func Kinds() []string {
	if testtool.HavePostgres() || os.Getenv(testtool.RequireEnv) != "" {
		return []string{Bolt, Postgres}
	}
	return []string{Bolt}
}

// Fresh returns a function that opens one empty store of the given kind
// for the test, for the realm (digest realm, SIP domain); every call opens
// the same store again (a restart). The caller closes what it opens.
func Fresh(t testing.TB, kind, realm string) func() store.Store {
	t.Helper()
	switch kind {
	case Bolt:
		path := filepath.Join(t.TempDir(), "xcap.db")
		return func() store.Store {
			t.Helper()
			st, err := store.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	case Postgres:
		dsn := testtool.Postgres(t)
		return func() store.Store {
			t.Helper()
			return OpenPostgres(t, dsn, realm)
		}
	}
	t.Fatalf("storetest: unknown store kind %q", kind)
	return nil
}

// OpenPostgres opens the PostgreSQL store at dsn.
func OpenPostgres(t testing.TB, dsn, realm string) *pgstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	st, err := pgstore.Open(ctx, dsn, pgstore.Options{Realm: realm})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
