package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
)

// Releases remembers for a while which holds were given back, so that a
// booking attempt on one can be told it was released rather than that it
// expired: the hold scripts forget a released hold as they forget an
// expired one. Each release is one key of its own, so it works on a Redis
// Cluster like the day keys.
type Releases struct {
	rdb goredis.UniversalClient
}

// NewReleases uses rdb.
func NewReleases(rdb goredis.UniversalClient) *Releases { return &Releases{rdb: rdb} }

func releasedKey(holdID string) string { return "termin:released-hold:" + holdID }

// Note records that a hold was released, for keep.
func (r *Releases) Note(ctx context.Context, holdID string, keep time.Duration) error {
	if err := r.rdb.Set(ctx, releasedKey(holdID), 1, keep).Err(); err != nil {
		return fmt.Errorf("%w: note released hold: %w", booking.ErrUnavailable, err)
	}
	return nil
}

// Released reports whether a hold was released within the time it is
// remembered.
func (r *Releases) Released(ctx context.Context, holdID string) (bool, error) {
	n, err := r.rdb.Exists(ctx, releasedKey(holdID)).Result()
	if err != nil {
		return false, fmt.Errorf("%w: read released hold: %w", booking.ErrUnavailable, err)
	}
	return n > 0, nil
}
