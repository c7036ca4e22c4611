package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sipbuddy/sipbuddy/internal/app/stack"
	"github.com/sipbuddy/sipbuddy/xcap/store/pgstore"
)

// migrateTimeout bounds `sipbuddy serve migrate`.
const migrateTimeout = 2 * time.Minute

// serveMigrate runs `sipbuddy serve migrate --store postgres://...`: it
// applies the schema migrations the database lacks, as serve does at
// start, for a deployment that migrates before it rolls out the nodes.
func serveMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sipbuddy serve migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	storeSpec := fs.String("store", "", "the postgres://user@host:port/db `URL` to migrate (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sipbuddy serve migrate: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if !stack.IsPostgres(*storeSpec) {
		fmt.Fprintln(stderr, "sipbuddy serve migrate: --store must be a postgres:// URL (the bbolt store needs no migration)")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, migrateTimeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, *storeSpec)
	if err != nil {
		fmt.Fprintf(stderr, "sipbuddy serve migrate: %s: %v\n", describeStore(*storeSpec), err)
		return 1
	}
	defer pool.Close()
	applied, err := pgstore.Migrate(ctx, pool)
	if err != nil {
		fmt.Fprintf(stderr, "sipbuddy serve migrate: %s: %v\n", describeStore(*storeSpec), err)
		return 1
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "%s: up to date\n", describeStore(*storeSpec))
		return 0
	}
	fmt.Fprintf(stdout, "%s: applied %s\n", describeStore(*storeSpec), strings.Join(applied, ", "))
	return 0
}

// describeStore names a store for the terminal: a bbolt path as it is, a
// PostgreSQL URL without its password.
func describeStore(spec string) string {
	if !stack.IsPostgres(spec) {
		return spec
	}
	u, err := url.Parse(spec)
	if err != nil {
		return "PostgreSQL"
	}
	u.User = url.User(u.User.Username())
	u.RawQuery = ""
	return "PostgreSQL " + u.String()
}
