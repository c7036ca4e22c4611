package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/sipbuddy/sipbuddy/xcap/store"
)

// Channel is the PostgreSQL notification channel every write notifies.
const Channel = "sipbuddy_xcap"

// ReconnectDelay is how long Watch waits before listening again after
// losing its connection.
const ReconnectDelay = time.Second

// notice is the JSON payload of one notification (well below
// PostgreSQL's 8000-byte limit: keys are bounded by the XCAP server).
type notice struct {
	Node   string `json:"n"`
	AUID   string `json:"a"`
	Global bool   `json:"g,omitempty"`
	User   string `json:"u,omitempty"`
	Path   string `json:"p"`
	ETag   string `json:"e,omitempty"` // empty: deleted
}

func (s *Store) notification(k store.Key, etag string) (string, error) {
	b, err := json.Marshal(notice{Node: s.node, AUID: k.AUID, Global: k.Global, User: k.User, Path: k.Path, ETag: etag})
	if err != nil {
		return "", fmt.Errorf("pgstore: notification: %w", err)
	}
	return string(b), nil
}

// Watch reports every document that another process wrote or deleted in
// the shared database, as it commits, until ctx ends. After its
// connection was lost (and on the first connection) it reports a
// store.Change with All set: changes may have been missed, so a cache
// must forget everything. Writes of this Store are not reported: its
// caller learns of them directly.
func (s *Store) Watch(ctx context.Context, log *slog.Logger, fn func(store.Change)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.Connect(ctx, s.dsn)
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil { // not the end of Watch
				log.Warn("pgstore: change notifications", "err", err)
			}
		},
		ReconnectDelay: ReconnectDelay,
	}
	l.Handle(Channel, handler{s: s, log: log, fn: fn})
	err := l.Listen(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("pgstore: change notifications: %w", err)
}

type handler struct {
	s   *Store
	log *slog.Logger
	fn  func(store.Change)
}

// HandleBacklog runs on every (re)connection, before notifications flow.
func (h handler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.fn(store.Change{All: true})
	return nil
}

func (h handler) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	var m notice
	if err := json.Unmarshal([]byte(n.Payload), &m); err != nil {
		h.log.Warn("pgstore: notification is not sipbuddy's", "payload", n.Payload, "err", err)
		return nil
	}
	if m.Node == h.s.node {
		return nil
	}
	h.fn(store.Change{
		Key:     store.Key{AUID: m.AUID, Global: m.Global, User: m.User, Path: m.Path},
		ETag:    m.ETag,
		Deleted: m.ETag == "",
	})
	return nil
}
