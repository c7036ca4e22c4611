package stack

import (
	"context"
	"fmt"
	"strings"

	"github.com/sipbuddy/sipbuddy/xcap/store"
	"github.com/sipbuddy/sipbuddy/xcap/store/pgstore"
)

// IsPostgres reports whether a store spec is a PostgreSQL connection URL.
func IsPostgres(spec string) bool {
	return strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://")
}

// OpenStore opens the store named by spec: a postgres:// URL (the schema is
// migrated first) or the path of a bbolt file (created when missing).
// realm is the digest realm the store keeps HA1 values for.
func OpenStore(ctx context.Context, spec, realm string) (store.Store, error) {
	if IsPostgres(spec) {
		st, err := pgstore.Open(ctx, spec, pgstore.Options{Realm: realm})
		if err != nil {
			return nil, fmt.Errorf("stack: %w", err)
		}
		return st, nil
	}
	st, err := store.Open(spec)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	return st, nil
}
