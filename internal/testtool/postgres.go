package testtool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the environment variable with the connection URL of a
// PostgreSQL server the tests may create databases on (.ci/run sets it to
// the throw-away cluster it starts; `.ci/postgres.sh start DIR PORT` starts
// one by hand).
const PostgresEnv = "SIPBUDDY_POSTGRES"

// postgresTimeout bounds creating or dropping a test database.
const postgresTimeout = 30 * time.Second

// HavePostgres reports whether PostgresEnv is set.
func HavePostgres() bool { return os.Getenv(PostgresEnv) != "" }

// Postgres creates an empty database for the test on the server named by
// PostgresEnv, drops it when the test ends, and returns its connection
// URL. Without PostgresEnv the test is skipped with a message, or fails
// when RequireEnv is set.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		msg := PostgresEnv + " is not set: no PostgreSQL to test against (start one with .ci/postgres.sh start DIR 55432 and export " + PostgresEnv + "=the URL it prints)"
		if os.Getenv(RequireEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "sipbuddy_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), postgresTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", PostgresEnv, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), postgresTimeout)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
