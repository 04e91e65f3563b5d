package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/digitale-verwaltung/termin/booking"
)

// releasedHolds remembers for a while which holds were given back, so a
// booking attempt on one is told that it was released rather than that it
// expired: the hold store forgets a released hold as it forgets an
// expired one.
type releasedHolds struct {
	*booking.Engine
	rdb redis.UniversalClient
	// keep is how long a release is remembered.
	keep time.Duration
	log  *slog.Logger
}

func releasedKey(holdID string) string { return "termin:released-hold:" + holdID }

// ReleaseHold gives the hold's units back and notes the release.
func (r releasedHolds) ReleaseHold(ctx context.Context, id string) error {
	if err := r.Engine.ReleaseHold(ctx, id); err != nil {
		return err
	}
	if err := r.rdb.Set(ctx, releasedKey(id), 1, r.keep).Err(); err != nil {
		// Only the answer to a later booking attempt is less precise.
		r.log.WarnContext(ctx, "note released hold", "err", err)
	}
	return nil
}

// explain turns the expiry of a hold that was released into
// booking.ErrHoldReleased.
func (r releasedHolds) explain(ctx context.Context, holdID string, err error) error {
	if r.rdb == nil || !errors.Is(err, booking.ErrHoldExpired) {
		return err
	}
	if n, rerr := r.rdb.Exists(ctx, releasedKey(holdID)).Result(); rerr == nil && n > 0 {
		return booking.ErrHoldReleased
	}
	return err
}
