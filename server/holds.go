package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/digitale-verwaltung/termin/booking"
)

// releasedHolds remembers for a while which holds were given back, so a
// booking attempt on one is told that it was released rather than that it
// expired: the hold store forgets a released hold as it forgets an
// expired one.
type releasedHolds struct {
	*booking.Engine
	releases interface {
		Note(ctx context.Context, holdID string, keep time.Duration) error
		Released(ctx context.Context, holdID string) (bool, error)
	}
	// keep is how long a release is remembered.
	keep time.Duration
	log  *slog.Logger
}

// ReleaseHold gives the hold's units back and notes the release.
func (r releasedHolds) ReleaseHold(ctx context.Context, id string) error {
	if err := r.Engine.ReleaseHold(ctx, id); err != nil {
		return err
	}
	if r.releases == nil {
		return nil
	}
	if err := r.releases.Note(ctx, id, r.keep); err != nil {
		// Only the answer to a later booking attempt is less precise.
		r.log.WarnContext(ctx, "note released hold", "err", err)
	}
	return nil
}

// explain turns the expiry of a hold that was released into
// booking.ErrHoldReleased.
func (r releasedHolds) explain(ctx context.Context, holdID string, err error) error {
	if r.releases == nil || !errors.Is(err, booking.ErrHoldExpired) {
		return err
	}
	if released, rerr := r.releases.Released(ctx, holdID); rerr == nil && released {
		return booking.ErrHoldReleased
	}
	return err
}
