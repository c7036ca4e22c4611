package stack

import (
	"context"
	"fmt"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// OpenStore opens the store named by spec: the path of a bbolt file
// (created when missing).
func OpenStore(_ context.Context, spec string) (store.Store, error) {
	st, err := store.Open(spec)
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	return st, nil
}
